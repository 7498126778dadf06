"""The one reader of timestamps (RFC 3339, from XC and ACME) and of `Retry-After` (XC and ACME)."""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any


def parse_timestamp(value: Any, *, naive_is_utc: bool = False) -> dt.datetime | None:
    """An RFC 3339 timestamp as an aware datetime, or None when absent or unreadable.

    `Z` means UTC; more than six fractional digits (XC sends nanoseconds) are cut to six, which is all
    Python 3.11 reads. A timestamp without an offset is unreadable unless `naive_is_utc`.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]  # the leading run only
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC) if naive_is_utc else None
    return parsed


def parse_retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds to wait from `now` (epoch seconds): delta-seconds or an HTTP date, never
    negative. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)
