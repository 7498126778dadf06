"""Reading XC list bodies: `items` (absent means empty) and a non-empty `errors` surfaced, not dropped.

A cascade delete answers a list too: one item per object it deleted, with `error_message` set on
each one it could not delete (`cascade_result` keeps both halves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from shared.secret import mask_text
from shared.xc.errors import XCError, XCPartialListError


def items(body: Any, what: str) -> list[dict[str, Any]]:
    """The `items` of a list answer. Raises XCPartialListError when `errors` is non-empty."""
    if not isinstance(body, dict):
        raise XCError(f"listing {what} returned {type(body).__name__}, not an object")
    found = body.get("items") or []
    if not isinstance(found, list):
        raise XCError(f"listing {what} returned items of type {type(found).__name__}")
    errors = body.get("errors") or []
    if errors:
        raise XCPartialListError(what, found, errors)
    return found


class DeletedBody(TypedDict):
    name: str
    type: str
    uid: str


@dataclass(frozen=True, slots=True)
class DeletedObject:
    """One entry of a cascade_delete answer that reported no error."""

    name: str
    type: str
    uid: str

    def to_body(self) -> DeletedBody:
        return {"name": self.name, "type": self.type, "uid": self.uid}


Failure = tuple[DeletedObject, str]
"""An object a cascade delete could not delete, and its `error_message`."""


def cascade_result(body: Any, what: str) -> tuple[tuple[DeletedObject, ...], tuple[Failure, ...]]:
    """Split a cascade_delete answer's `items` into deleted objects and (object, error_message) failures.

    `what` names the target in errors ("namespace ample-gull"). Raises XCError for an answer that is
    not a cascade_delete result.
    """
    if not isinstance(body, dict):
        raise XCError(f"cascade delete of {what} returned {type(body).__name__}, not an object")
    found = body.get("items") or []
    if not isinstance(found, list):
        raise XCError(f"cascade delete of {what} returned items of type {type(found).__name__}")
    deleted: list[DeletedObject] = []
    failed: list[Failure] = []
    for item in found:
        if not isinstance(item, dict):
            raise XCError(f"cascade delete of {what} returned an item that is not an object")
        obj = DeletedObject(
            name=str(item.get("object_name") or ""),
            type=str(item.get("object_type") or ""),
            uid=str(item.get("object_uid") or ""),
        )
        message = item.get("error_message")
        if message:
            failed.append((obj, str(message)))
        else:
            deleted.append(obj)
    return tuple(deleted), tuple(failed)


def describe_failures(failed: Sequence[Failure], limit: int = 10) -> str:
    """The first `limit` failures as "type name: message; ...", masked and cut to 1000 characters."""
    detail = "; ".join(f"{obj.type} {obj.name}: {message}" for obj, message in failed[:limit])
    return mask_text(detail)[:1000]
