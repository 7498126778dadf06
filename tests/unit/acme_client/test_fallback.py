"""Which failures send a run to the next CA, and which CAs a run may try."""

from __future__ import annotations

import datetime as dt

import pytest

from acme_client.config import CaConfig
from acme_client.errors import (
    AcmeProblemError,
    CaUnavailableError,
    DeadlineError,
    DelegationError,
    PropagationError,
    PublishError,
    RateLimitedError,
    ValidationFailedError,
)
from acme_client.fallback import candidates, every_ca_waiting_until, fallback_reason, rate_limit_until
from shared.errors import ConfigError

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
A, B, C = (CaConfig(f"https://{name}.test/dir") for name in "abc")


@pytest.mark.parametrize(
    "error",
    [
        RateLimitedError("too many", NOW),
        CaUnavailableError("cannot reach the CA: ConnectionError"),
        AcmeProblemError("serverInternal", "maintenance"),
        AcmeProblemError(None, "HTTP 502 from the CA", status=502),
        AcmeProblemError("rejectedIdentifier", "forbidden by policy", status=400),
        AcmeProblemError("unsupportedIdentifier", "no wildcards here", status=400),
        ValidationFailedError({"*.a.test": "caa: CAA forbids"}, frozenset({"caa"})),
    ],
)
def test_fallback_reason_ca_down_limited_or_refusing_the_names(error):
    assert fallback_reason(error) is not None


@pytest.mark.parametrize(
    "error",
    [
        ValidationFailedError({"a.test": "unauthorized: Incorrect TXT record"}, frozenset({"unauthorized"})),
        ValidationFailedError({"a.test": "dns: SERVFAIL"}, frozenset({"dns"})),
        AcmeProblemError("badCSR", "bad key", status=400),
        AcmeProblemError("unauthorized", "account deactivated", status=403),
        ConfigError(["the CA requires external account binding"]),
        DelegationError("_acme-challenge.a.test", "a.challenge.test", None),
        PropagationError("a.challenge.test", {"ns1": "missing"}),
        DeadlineError("authorization polling"),
        PublishError("issued certificate rejected"),
    ],
)
def test_fallback_reason_none_for_what_another_ca_would_meet_too(error):
    assert fallback_reason(error) is None


def test_candidates_skip_only_cas_still_waiting_and_keep_the_order():
    limits = {A.directory_url: NOW + dt.timedelta(minutes=1), B.directory_url: NOW - dt.timedelta(seconds=1)}
    assert candidates((A, B, C), limits, NOW) == [(1, B), (2, C)]
    assert candidates((A, B, C), limits, NOW + dt.timedelta(minutes=1)) == [(0, A), (1, B), (2, C)]


def test_every_ca_waiting_until_is_the_earliest_only_when_all_wait():
    soon, later = NOW + dt.timedelta(hours=1), NOW + dt.timedelta(hours=3)
    assert every_ca_waiting_until((A, B), {A.directory_url: later, B.directory_url: soon}, NOW) == soon
    assert every_ca_waiting_until((A, B), {A.directory_url: later}, NOW) is None
    assert every_ca_waiting_until((A,), {A.directory_url: NOW}, NOW) is None


def test_rate_limit_until_uses_the_ca_time_or_an_hour():
    told = NOW + dt.timedelta(days=2)
    assert rate_limit_until(RateLimitedError("x", told), NOW) == told
    assert rate_limit_until(RateLimitedError("x", None), NOW) == NOW + dt.timedelta(hours=1)
