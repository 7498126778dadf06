"""user_create's request and result types, and the payload parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict

from shared import names
from shared.config import PARAM_IDM_TYPE, ssm_base_path
from shared.errors import ConfigError, InputError
from shared.names import NamespaceRole, RoleBody

NAME_MAX: Final = 128
IDM_TYPES: Final = ("SSO", "VOLTERRA_MANAGED", "UNDEFINED")

UserState = Literal["created", "existed"]


@dataclass(frozen=True, slots=True)
class UserRequest:
    """`{ssm_base_path, first_name, last_name, email, group_names?, namespace_roles?}`, validated.

    Roles and groups are de-duplicated and sorted.
    """

    ssm_base_path: str
    email: str
    first_name: str
    last_name: str
    group_names: tuple[str, ...] = ()
    namespace_roles: tuple[NamespaceRole, ...] = ()


class NamesBody(TypedDict):
    first_name: str
    last_name: str


class UserBody(TypedDict):
    email: str
    created: bool
    state: UserState
    updated: bool
    added_roles: list[RoleBody]
    added_groups: list[str]
    renamed_from: NamesBody | None
    namespace_roles: list[RoleBody]
    group_names: list[str]


@dataclass(frozen=True, slots=True)
class UserResult:
    """What this call changed. `added_roles`/`added_groups` are exactly what was not there before, so
    a caller can undo its own change (user_remove's revoke mode) and nothing else; with `created`,
    the account itself is the caller's to delete. `renamed_from` holds the names a PUT replaced."""

    email: str
    created: bool
    updated: bool
    added_roles: tuple[NamespaceRole, ...]
    added_groups: tuple[str, ...]
    namespace_roles: tuple[NamespaceRole, ...]
    group_names: tuple[str, ...]
    renamed_from: tuple[str, str] | None = None

    @property
    def state(self) -> UserState:
        return "created" if self.created else "existed"

    def to_body(self) -> UserBody:
        renamed: NamesBody | None = None
        if self.renamed_from is not None:
            renamed = {"first_name": self.renamed_from[0], "last_name": self.renamed_from[1]}
        return {
            "email": self.email,
            "created": self.created,
            "state": self.state,
            "updated": self.updated,
            "added_roles": [role.to_body() for role in self.added_roles],
            "added_groups": list(self.added_groups),
            "renamed_from": renamed,
            "namespace_roles": [role.to_body() for role in self.namespace_roles],
            "group_names": list(self.group_names),
        }


@dataclass(frozen=True, slots=True)
class UserLookup:
    """`{ssm_base_path, email, lookup: true}`: report the account and change nothing. A caller that
    must know whether it is about to create the account (and so own it) asks this first."""

    ssm_base_path: str
    email: str


class LookupBody(TypedDict):
    email: str
    exists: bool
    namespace_roles: list[RoleBody]
    group_names: list[str]


@dataclass(frozen=True, slots=True)
class LookupResult:
    email: str
    exists: bool
    namespace_roles: tuple[NamespaceRole, ...] = ()
    group_names: tuple[str, ...] = ()

    def to_body(self) -> LookupBody:
        return {
            "email": self.email,
            "exists": self.exists,
            "namespace_roles": [role.to_body() for role in self.namespace_roles],
            "group_names": list(self.group_names),
        }


def parse_event(event: Any) -> UserRequest | UserLookup:
    """Validate the payload before any call. Raises InputError naming the first bad field."""
    payload = names.mapping("event", event)
    lookup = payload.get("lookup", False)
    if not isinstance(lookup, bool):
        raise InputError("lookup", f"must be true or false, got {lookup!r:.80}")
    if lookup:
        return UserLookup(
            ssm_base_path=ssm_base_path("ssm_base_path", payload.get("ssm_base_path")),
            email=names.email("email", payload.get("email")),
        )
    return UserRequest(
        ssm_base_path=ssm_base_path("ssm_base_path", payload.get("ssm_base_path")),
        email=names.email("email", payload.get("email")),
        first_name=names.text("first_name", payload.get("first_name"), max_len=NAME_MAX),
        last_name=names.text("last_name", payload.get("last_name"), max_len=NAME_MAX),
        group_names=names.sorted_unique(names.string_list("group_names", payload.get("group_names"))),
        namespace_roles=names.namespace_roles("namespace_roles", payload.get("namespace_roles")),
    )


def parse_idm_type(base_path: str, value: str | None) -> str:
    """The `idm-type` SSM parameter, which the deployment always sets (`SSO` today); the original
    failed without it, and so does this worker, with a ConfigError naming the parameter."""
    path = f"{base_path}/{PARAM_IDM_TYPE}"
    if value is None:
        raise ConfigError([f"SSM parameter {path} not found"])
    idm_type = value.strip()
    if idm_type not in IDM_TYPES:
        raise ConfigError([f"SSM parameter {path} must be one of {', '.join(IDM_TYPES)}, got {idm_type!r}"])
    return idm_type
