"""The lab helpers' request and result types, and the payload parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict, get_args

from shared import names
from shared.config import ssm_base_path
from shared.errors import InputError

Action = Literal["create", "remove"]
Outcome = Literal["created", "unchanged", "replaced", "removed", "absent"]
ACTIONS: Final[tuple[str, ...]] = get_args(Action)
# The lab configuration's pre_lambda / post_lambda vocabulary, accepted for the same two actions.
ACTION_ALIASES: Final[dict[str, Action]] = {"pre": "create", "post": "remove"}
# The petname becomes the namespace the lab writes into (and, on remove, deletes from).
RESERVED_NAMESPACES: Final = frozenset({"system", "shared", "default", "ves-io-shared"})


@dataclass(frozen=True, slots=True)
class LabRequest:
    """`{ssm_base_path, petname, email?, action?}`, validated. The namespace is the petname."""

    ssm_base_path: str
    petname: str
    email: str | None = None
    action: Action = "create"


class ObjectBody(TypedDict):
    type: str
    name: str
    result: Outcome


class LabBody(TypedDict):
    lab: str
    action: Action
    objects: list[ObjectBody]


def parse_event(event: Any) -> LabRequest:
    """Validate the payload before any call. Raises InputError naming the first bad field.

    `email` is not used to build anything, but the worker always sends it, so a present one must
    look like an address. `action` is "create" (default) or "remove" ("pre" and "post" are accepted
    as their synonyms). Unknown keys are ignored.
    """
    payload = names.mapping("event", event)
    base_path = ssm_base_path("ssm_base_path", payload.get("ssm_base_path"))
    petname = names.dns_label("petname", payload.get("petname"))
    if petname in RESERVED_NAMESPACES:
        raise InputError("petname", f"must not name a built-in namespace, got {petname!r}")
    email = payload.get("email")
    if email is not None:
        email = names.email("email", email)
    raw = payload.get("action", "create")
    action: Action
    if raw in ("create", "remove"):
        action = raw
    elif isinstance(raw, str) and raw in ACTION_ALIASES:
        action = ACTION_ALIASES[raw]
    else:
        raise InputError("action", f"must be one of {', '.join(ACTIONS)}, got {raw!r:.80}")
    return LabRequest(ssm_base_path=base_path, petname=petname, email=email, action=action)
