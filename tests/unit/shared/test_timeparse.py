"""shared.timeparse: the one reader of RFC 3339 timestamps and of Retry-After."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest

from shared.timeparse import parse_retry_after, parse_timestamp

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", dt.datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01t00:00:00z", dt.datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00.123456789Z", dt.datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2026-01-01T02:00:00.5+02:00", dt.datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_rfc3339_variants(text: str, expected: dt.datetime) -> None:
    assert parse_timestamp(text) == expected


def test_parse_timestamp_naive_only_when_asked() -> None:
    assert parse_timestamp("2026-01-01T00:00:00") is None
    assert parse_timestamp("2026-01-01T00:00:00", naive_is_utc=True) == dt.datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "  ", "yesterday", 12])
def test_parse_timestamp_unreadable_is_none(value: object) -> None:
    assert parse_timestamp(value, naive_is_utc=True) is None


def test_parse_retry_after_seconds_and_http_dates_never_negative() -> None:
    assert parse_retry_after("7", now=0) == 7.0
    assert parse_retry_after(email.utils.formatdate(1_000_030, usegmt=True), now=1_000_000) == 30.0
    assert parse_retry_after(email.utils.formatdate(999_000, usegmt=True), now=1_000_000) == 0.0
    assert parse_retry_after(None, now=0) is None and parse_retry_after("soon", now=0) is None
