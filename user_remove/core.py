"""Delete a user (cascade), or revoke only some of its roles and groups."""

from __future__ import annotations

import logging
from typing import Any

from shared.deadline import Deadline
from shared.names import sorted_unique
from shared.xc import users
from shared.xc.client import XCRequester
from shared.xc.errors import XCNotFoundError
from shared.xc.lists import cascade_result
from user_remove.errors import UserDeleteError
from user_remove.models import Revocation, UserRemovalRequest, UserRemovalResult

log = logging.getLogger(__name__)


def remove_user(request: UserRemovalRequest, xc: XCRequester, *, deadline: Deadline) -> UserRemovalResult:
    """Delete the account, or (when `request.revoke` is set) only take away those roles and groups.

    A user that does not exist counts as done in both modes. Raises UserDeleteError (retryable) when
    the cascade delete reports a failure, and lets XC errors propagate.
    """
    if request.revoke is None:
        return _delete(request.email, xc, deadline)
    return _revoke(request.email, request.revoke, xc, deadline)


def _delete(email: str, xc: XCRequester, deadline: Deadline) -> UserRemovalResult:
    try:
        body = users.cascade_delete(xc, email, deadline=deadline)
    except XCNotFoundError:
        log.info("user absent")
        return UserRemovalResult(email=email, mode="delete", found=False)
    deleted, failed = cascade_result(body, f"user {email}")
    if failed:
        raise UserDeleteError(email, deleted, failed)
    if body.get("delete_ok") is False:
        # Some tenants may answer an unknown email this way instead of 404: only the list can tell.
        if not deleted and users.find(xc, email, deadline=deadline) is None:
            log.info("user absent")
            return UserRemovalResult(email=email, mode="delete", found=False)
        raise UserDeleteError(email, deleted, ())
    log.info("user removed", extra={"deleted_count": len(deleted)})
    return UserRemovalResult(email=email, mode="delete", removed=True, deleted=deleted)


def _revoke(email: str, revoke: Revocation, xc: XCRequester, deadline: Deadline) -> UserRemovalResult:
    """Subtract the roles and groups; PUT the rest (it replaces the sets) only when something goes.

    The PUT keeps the user's own names, `idm_type` and `type`.
    """
    user = users.find(xc, email, deadline=deadline)
    if user is None:
        log.info("user absent, nothing to revoke")
        return UserRemovalResult(email=email, mode="revoke", found=False)
    have_roles, have_groups = users.roles_of(user), users.groups_of(user)
    removed_roles = tuple(sorted(have_roles & set(revoke.namespace_roles)))
    removed_groups = sorted_unique(have_groups & set(revoke.group_names))
    if not removed_roles and not removed_groups:
        log.info("user unchanged, nothing to revoke")
        return UserRemovalResult(email=email, mode="revoke")
    body: dict[str, Any] = {
        "name": user.get("name") or email,
        "email": user.get("email") or email,
        "first_name": user.get("first_name") or "",
        "last_name": user.get("last_name") or "",
        "namespace": "system",
        "type": user.get("type") or "USER",
        "namespace_roles": [role.to_body() for role in sorted(have_roles - set(removed_roles))],
        "group_names": list(sorted_unique(have_groups - set(removed_groups))),
    }
    if user.get("idm_type"):
        body["idm_type"] = user["idm_type"]
    users.update(xc, body, deadline=deadline)
    log.info(
        "user roles and groups revoked",
        extra={"removed_roles": len(removed_roles), "removed_groups": len(removed_groups)},
    )
    return UserRemovalResult(
        email=email, mode="revoke", updated=True, removed_roles=removed_roles, removed_groups=removed_groups
    )
