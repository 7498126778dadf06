from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.xc import credentials


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00.000000Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00.123456789Z", datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2026-01-01T02:00:00.5+02:00", datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_time_rfc3339_variants(text, expected):
    assert credentials.parse_time(text) == expected


@pytest.mark.parametrize("text", [None, "", "yesterday", "2026-01-01T00:00:00", 12])
def test_parse_time_unreadable_or_naive_is_none(text):
    assert credentials.parse_time(text) is None


def test_state_of_reads_each_endpoint_shape():
    api_get = {
        "object": {"spec": {"gc_spec": {"expiration_timestamp": "2026-01-01T00:00:00Z", "active": True}}}
    }
    listed = {"expiry_timestamp": "2026-01-02T00:00:00Z", "active": False}
    created = {"expiration_timestamp": "2026-01-03T00:00:00Z"}
    assert credentials.state_of("api_credentials", api_get) == (datetime(2026, 1, 1, tzinfo=UTC), True)
    assert credentials.state_of("service_credentials", listed) == (datetime(2026, 1, 2, tzinfo=UTC), False)
    assert credentials.state_of("api_credentials", created)[0] == datetime(2026, 1, 3, tzinfo=UTC)
