"""ns_create's request and result types, and the payload parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict

from shared import names
from shared.config import ssm_base_path

DESCRIPTION_MAX: Final = 1024

NamespaceState = Literal["created", "existed"]


@dataclass(frozen=True, slots=True)
class NamespaceRequest:
    """`{ssm_base_path, namespace_name, description?, owner?}`, validated.

    `owner` (a deployment id) is written into the namespace's owner label on create, and an existing
    namespace counts as done only when it carries that label.
    """

    ssm_base_path: str
    namespace_name: str
    description: str = ""
    owner: str | None = None


class NamespaceBody(TypedDict):
    namespace: str
    owner: str | None
    created: bool
    state: NamespaceState
    waited_s: float
    create_attempts: int


@dataclass(frozen=True, slots=True)
class NamespaceResult:
    """What happened: `created` is true only when this call's create was accepted."""

    namespace: str
    created: bool
    waited_s: float
    create_attempts: int
    owner: str | None = None

    @property
    def state(self) -> NamespaceState:
        return "created" if self.created else "existed"

    def to_body(self) -> NamespaceBody:
        return {
            "namespace": self.namespace,
            "owner": self.owner,
            "created": self.created,
            "state": self.state,
            "waited_s": round(self.waited_s, 3),
            "create_attempts": self.create_attempts,
        }


def parse_event(event: Any) -> NamespaceRequest:
    """Validate the payload before any call. Raises InputError naming the first bad field.

    Unknown keys are ignored, so that callers may send more than this worker reads. Reserved names
    (`system`, `shared`, `default`, `ves-*`) are refused.
    """
    payload = names.mapping("event", event)
    owner = payload.get("owner")
    return NamespaceRequest(
        ssm_base_path=ssm_base_path("ssm_base_path", payload.get("ssm_base_path")),
        namespace_name=names.lab_namespace("namespace_name", payload.get("namespace_name")),
        description=names.text(
            "description", payload.get("description"), max_len=DESCRIPTION_MAX, required=False
        ),
        owner=None if owner is None else names.deployment_id("owner", owner),
    )
