"""The heartbeat message and the outcome of recording it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from shared import names
from shared.errors import InputError

ID_MAX: Final = 128
REQUIRED: Final = ("dep_id", "lab_id", "email", "petname")
# Lab ids are 8 hex digits; allow a little more, but no spaces or slashes. Deployment ids (UUIDs) are
# checked by shared.names.deployment_id: they become namespace label values.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """`{dep_id, lab_id, email, petname}` from the lab VM, validated. Unknown keys are ignored."""

    dep_id: str
    lab_id: str
    email: str
    petname: str


class Outcome(StrEnum):
    INSERTED = "inserted"  # first heartbeat: the state item was created (the worker provisions)
    EXTENDED = "extended"  # later heartbeat: only ttl, expiration and updated_at moved
    REJECTED = "rejected"  # invalid message: logged and dropped, it can never succeed


def _identifier(field: str, value: Any) -> str:
    text = names.text(field, value, max_len=ID_MAX)
    if not _ID.match(text):
        raise InputError(field, f"must be letters, digits, '_', '.', ':' or '-', got {text[:80]!r}")
    return text


def parse_heartbeat(body: str | None) -> Heartbeat:
    """Parse and validate an SQS message body. Raises InputError naming the field at fault; a petname
    that names a reserved namespace (`system`, `shared`, `default`, `ves-*`) is refused here, before
    anything is written."""
    if body is None or not body.strip():
        raise InputError("body", "is empty")
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError("body", f"is not JSON ({exc.msg} at position {exc.pos})") from exc
    data = names.mapping("body", payload)
    for field in REQUIRED:
        if data.get(field) is None:
            raise InputError(field, "is required")
    return Heartbeat(
        dep_id=names.deployment_id("dep_id", data["dep_id"]),
        lab_id=_identifier("lab_id", data["lab_id"]),
        email=names.email("email", data["email"]),
        petname=names.lab_namespace("petname", data["petname"]),
    )
