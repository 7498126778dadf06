"""user_remove's request and result types, and the payload parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from shared import names
from shared.config import ssm_base_path
from shared.names import NamespaceRole, RoleBody
from shared.xc.lists import DeletedBody, DeletedObject

Mode = Literal["delete", "revoke"]
RemovalState = Literal["removed", "absent", "revoked", "unchanged"]


@dataclass(frozen=True, slots=True)
class Revocation:
    """The roles and groups to take away from a user that is otherwise kept."""

    namespace_roles: tuple[NamespaceRole, ...] = ()
    group_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UserRemovalRequest:
    """`{ssm_base_path, email, namespace_roles?, group_names?}`, validated.

    With neither optional key the account is deleted. With either (even an empty list) only those
    roles and groups are revoked and the account stays: this is how a caller undoes what user_create
    added to a user that existed before it.
    """

    ssm_base_path: str
    email: str
    revoke: Revocation | None = None

    @property
    def mode(self) -> Mode:
        return "delete" if self.revoke is None else "revoke"


class UserRemovalBody(TypedDict):
    email: str
    mode: Mode
    state: RemovalState
    removed: bool
    deleted: list[DeletedBody]
    updated: bool
    removed_roles: list[RoleBody]
    removed_groups: list[str]


@dataclass(frozen=True, slots=True)
class UserRemovalResult:
    """What this call changed. Delete mode: `removed` (the account) and `deleted` (what went with it).
    Revoke mode: `updated`, and the roles and groups actually taken away (those the user had)."""

    email: str
    mode: Mode
    removed: bool = False
    deleted: tuple[DeletedObject, ...] = ()
    updated: bool = False
    removed_roles: tuple[NamespaceRole, ...] = ()
    removed_groups: tuple[str, ...] = ()
    found: bool = True

    @property
    def state(self) -> RemovalState:
        if not self.found:
            return "absent"
        if self.mode == "delete":
            return "removed"
        return "revoked" if self.updated else "unchanged"

    def to_body(self) -> UserRemovalBody:
        return {
            "email": self.email,
            "mode": self.mode,
            "state": self.state,
            "removed": self.removed,
            "deleted": [obj.to_body() for obj in self.deleted],
            "updated": self.updated,
            "removed_roles": [role.to_body() for role in self.removed_roles],
            "removed_groups": list(self.removed_groups),
        }


def parse_event(event: Any) -> UserRemovalRequest:
    """Validate the payload before any call. Raises InputError naming the first bad field."""
    payload = names.mapping("event", event)
    base_path = ssm_base_path("ssm_base_path", payload.get("ssm_base_path"))
    email = names.email("email", payload.get("email"))
    revoke = None
    if payload.get("namespace_roles") is not None or payload.get("group_names") is not None:
        revoke = Revocation(
            namespace_roles=names.namespace_roles("namespace_roles", payload.get("namespace_roles")),
            group_names=names.sorted_unique(names.string_list("group_names", payload.get("group_names"))),
        )
    return UserRemovalRequest(ssm_base_path=base_path, email=email, revoke=revoke)
