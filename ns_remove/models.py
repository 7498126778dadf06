"""ns_remove's request and result types, and the payload parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from shared import names
from shared.config import ssm_base_path
from shared.xc.lists import DeletedBody, DeletedObject

RemovalState = Literal["removed", "absent", "kept"]


@dataclass(frozen=True, slots=True)
class RemovalRequest:
    """`{ssm_base_path, namespace_name, owner?}`, validated.

    With `owner` (a deployment id) the namespace is deleted only while it carries that owner's label.
    """

    ssm_base_path: str
    namespace_name: str
    owner: str | None = None


class RemovalBody(TypedDict):
    namespace: str
    owner: str | None
    removed: bool
    state: RemovalState
    reason: str
    deleted: list[DeletedBody]
    deleted_count: int


@dataclass(frozen=True, slots=True)
class RemovalResult:
    """`removed` is false when the namespace was already gone (which is success too), or when it was
    kept because it does not carry the requested owner's label (`kept`, with `reason`)."""

    namespace: str
    removed: bool
    deleted: tuple[DeletedObject, ...] = ()
    owner: str | None = None
    kept: bool = False
    reason: str = ""

    @property
    def state(self) -> RemovalState:
        if self.kept:
            return "kept"
        return "removed" if self.removed else "absent"

    def to_body(self) -> RemovalBody:
        return {
            "namespace": self.namespace,
            "owner": self.owner,
            "removed": self.removed,
            "state": self.state,
            "reason": self.reason,
            "deleted": [obj.to_body() for obj in self.deleted],
            "deleted_count": len(self.deleted),
        }


def parse_event(event: Any) -> RemovalRequest:
    """Validate the payload before any call. Raises InputError naming the first bad field; reserved
    names (`system`, `shared`, `default`, `ves-*`) are refused: a cascade delete of one would wipe
    the tenant's own configuration."""
    payload = names.mapping("event", event)
    owner = payload.get("owner")
    return RemovalRequest(
        ssm_base_path=ssm_base_path("ssm_base_path", payload.get("ssm_base_path")),
        namespace_name=names.lab_namespace("namespace_name", payload.get("namespace_name")),
        owner=None if owner is None else names.deployment_id("owner", owner),
    )
