"""ns_remove's request and result types, and the payload parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict

from shared import names
from shared.config import ssm_base_path
from shared.errors import InputError
from shared.xc.lists import DeletedBody, DeletedObject

# The tenant's own namespaces: a cascade delete of one would wipe shared configuration.
BUILTIN_NAMESPACES: Final = frozenset({"system", "shared", "default"})

RemovalState = Literal["removed", "absent"]


@dataclass(frozen=True, slots=True)
class RemovalRequest:
    """`{ssm_base_path, namespace_name}`, validated."""

    ssm_base_path: str
    namespace_name: str


class RemovalBody(TypedDict):
    namespace: str
    removed: bool
    state: RemovalState
    deleted: list[DeletedBody]
    deleted_count: int


@dataclass(frozen=True, slots=True)
class RemovalResult:
    """`removed` is false when the namespace was already gone (which is success too)."""

    namespace: str
    removed: bool
    deleted: tuple[DeletedObject, ...] = ()

    @property
    def state(self) -> RemovalState:
        return "removed" if self.removed else "absent"

    def to_body(self) -> RemovalBody:
        return {
            "namespace": self.namespace,
            "removed": self.removed,
            "state": self.state,
            "deleted": [obj.to_body() for obj in self.deleted],
            "deleted_count": len(self.deleted),
        }


def parse_event(event: Any) -> RemovalRequest:
    """Validate the payload before any call. Raises InputError naming the first bad field."""
    payload = names.mapping("event", event)
    base_path = ssm_base_path("ssm_base_path", payload.get("ssm_base_path"))
    name = names.dns_label("namespace_name", payload.get("namespace_name"))
    if name in BUILTIN_NAMESPACES:
        raise InputError("namespace_name", f"{name!r} is a built-in namespace and is never removed")
    return RemovalRequest(ssm_base_path=base_path, namespace_name=name)
