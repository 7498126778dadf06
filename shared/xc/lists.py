"""Reading XC list bodies: `items` (absent means empty) and a non-empty `errors` surfaced, not dropped."""

from __future__ import annotations

from typing import Any

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
