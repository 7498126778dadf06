"""Users, always in namespace `system`, through `user_roles` and `users/cascade_delete`."""

from __future__ import annotations

from typing import Any, Final

from shared.deadline import Deadline
from shared.names import NamespaceRole
from shared.xc import lists
from shared.xc.client import XCRequester
from shared.xc.errors import XCConflictError, XCHTTPError

USER_ROLES: Final = "/api/web/custom/namespaces/system/user_roles"
CASCADE_DELETE: Final = "/api/web/custom/namespaces/system/users/cascade_delete"


def create(xc: XCRequester, request: dict[str, Any], *, deadline: Deadline | None = None) -> Any:
    """POST a UserRoleRequest. A duplicate is recognised by `is_duplicate`."""
    return xc.request("POST", USER_ROLES, json=request, deadline=deadline)


def list_(xc: XCRequester, *, deadline: Deadline | None = None) -> list[dict[str, Any]]:
    return lists.items(xc.request("GET", USER_ROLES, deadline=deadline), "users")


def find(xc: XCRequester, email: str, *, deadline: Deadline | None = None) -> dict[str, Any] | None:
    """The user with this email (case-insensitive), or None. XC has no get-by-email."""
    wanted = email.lower()
    for user in list_(xc, deadline=deadline):
        if str(user.get("email", "")).lower() == wanted:
            return user
    return None


def roles_of(user: dict[str, Any]) -> set[NamespaceRole]:
    """The well-formed `{namespace, role}` entries of a user list item (others are skipped)."""
    found = set()
    for entry in user.get("namespace_roles") or []:
        if isinstance(entry, dict) and entry.get("namespace") and entry.get("role"):
            found.add(NamespaceRole(namespace=str(entry["namespace"]), role=str(entry["role"])))
    return found


def groups_of(user: dict[str, Any]) -> set[str]:
    """The non-empty group names of a user list item."""
    return {str(group) for group in user.get("group_names") or [] if group}


def update(xc: XCRequester, request: dict[str, Any], *, deadline: Deadline | None = None) -> Any:
    """PUT replaces the user's whole role and group sets: merge before calling."""
    return xc.request("PUT", USER_ROLES, json=request, deadline=deadline)


def cascade_delete(xc: XCRequester, email: str, *, deadline: Deadline | None = None) -> Any:
    return xc.request(
        "POST",
        CASCADE_DELETE,
        json={"email": email, "namespace": "system"},
        idempotent=True,
        deadline=deadline,
    )


def is_duplicate(error: XCHTTPError) -> bool:
    """Whether a create failed because the user exists.

    The one place that reads error text: XC's duplicate-user answer is only known by its wording
    ("already exist", docs/deployment.md §10), so a 409 counts, and so does that wording on any 4xx.
    """
    if isinstance(error, XCConflictError):
        return True
    return 400 <= error.status < 500 and "already exist" in error.message.lower()
