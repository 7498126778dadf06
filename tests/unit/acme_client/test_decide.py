"""The renewal decision: hard reasons, the lifetime rule, ARI (RFC 9773) and backoff."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from acme_client import certs
from acme_client.decide import (
    Wanted,
    ari_advice,
    backing_off,
    backoff_delay,
    choose_renewal_time,
    clamp_retry_after,
    decide,
    inspect_pair,
    parse_renewal_info,
    parse_retry_after,
    record_failure,
    record_success,
)
from acme_client.models import AriState, RunState
from devstack.pki import TinyPKI, key_pem, new_key
from tests.fixtures.pki import PINNED_NOW as NOW

NAMES = ["*.lab-mcn.f5demos.com"]
WANTED = Wanted(tuple(NAMES), "ec256", "production")
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def pki() -> TinyPKI:
    return TinyPKI(now=NOW)


def _stored(
    pki: TinyPKI,
    *,
    names=NAMES,
    days: float = 90,
    age_days: float = 1,
    key=None,
    pair_key=None,
    staging: bool = False,
):
    ca = TinyPKI("(STAGING) Pretend Pear", now=NOW) if staging else pki
    cert, cert_key = ca.issue(names, key=key, not_before=NOW - dt.timedelta(days=age_days), days=days).pair
    return inspect_pair(ca.fullchain(cert), key_pem(pair_key or cert_key))


def _decide(inspection, *, wanted=WANTED, force=False, fraction=1 / 3, ari=None, kind=None):
    return decide(
        inspection,
        wanted,
        NOW,
        force=force,
        fraction=fraction,
        schedule=DAY,
        ari=ari,
        stored_directory_kind=kind,
    )


@pytest.mark.parametrize(
    ("lifetime", "age_at_renewal"),
    [(90, 60), (64, 42.67), (45, 30), (6, 3)],
)
def test_decide_lifetime_fraction_renews_at_one_third_left_or_half_under_ten_days(
    pki, lifetime, age_at_renewal
):
    # GIVEN certificates of 90, 64, 45 and 6 days, just before and just after their renewal point
    before = _stored(pki, days=lifetime, age_days=age_at_renewal - 0.05)
    after = _stored(pki, days=lifetime, age_days=age_at_renewal + 0.05)
    # WHEN deciding
    early, due = _decide(before), _decide(after)
    # THEN the 1/3-left rule holds (1/2 for the 6-day certificate) and nothing else triggers
    assert early.action == "valid"
    assert due.action == "renew"
    assert "under the renewal threshold" in due.reason


def test_decide_six_day_certificate_is_not_renewed_on_every_daily_run(pki):
    # GIVEN a fresh 6-day certificate (the deployed "under 30 days" rule would re-issue it every run)
    inspection = _stored(pki, days=6, age_days=0.5)
    # WHEN deciding THEN it is kept
    assert _decide(inspection).action == "valid"


def test_decide_no_certificate_issues(pki):
    decision = _decide(inspect_pair(None, None))
    assert decision.action == "issue"
    assert decision.reason == "no certificate stored"


def test_decide_unreadable_certificate_issues(pki):
    decision = _decide(inspect_pair(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", None))
    assert decision.action == "issue"
    assert "unreadable" in decision.reason


def test_decide_mismatched_key_renews(pki):
    # GIVEN a stored pair whose key belongs to another certificate
    inspection = _stored(pki, pair_key=ec.generate_private_key(ec.SECP256R1()))
    # WHEN deciding THEN it is renewed regardless of date, and the pair is not usable
    decision = _decide(inspection)
    assert decision.action == "renew"
    assert "does not match" in decision.reason
    assert inspection.cert is not None and not inspection.cert.usable(NOW)


def test_decide_missing_key_renews(pki):
    cert, _ = pki.issue(NAMES).pair
    decision = _decide(inspect_pair(pki.fullchain(cert), None))
    assert decision.action == "renew"
    assert decision.reason == "no private key stored"


def test_decide_name_set_change_renews(pki):
    # GIVEN a wildcard-only certificate while wildcard plus apex is configured
    wanted = Wanted(("*.lab-mcn.f5demos.com", "lab-mcn.f5demos.com"), "ec256", "production")
    decision = _decide(_stored(pki), wanted=wanted)
    assert decision.action == "renew"
    assert decision.reason.startswith("names changed")


def test_decide_same_names_in_another_order_is_valid(pki):
    inspection = _stored(pki, names=["lab-mcn.f5demos.com", "*.lab-mcn.f5demos.com"])
    wanted = Wanted(("*.lab-mcn.f5demos.com", "lab-mcn.f5demos.com"), "ec256", "production")
    assert _decide(inspection, wanted=wanted).action == "valid"


def test_decide_key_type_change_renews(pki):
    # GIVEN an RSA certificate while ECDSA P-256 is configured
    decision = _decide(_stored(pki, key=new_key("rsa")))
    assert decision.action == "renew"
    assert decision.reason == "key type changed: stored rsa2048, configured ec256"


def test_decide_staging_issuer_with_production_configured_renews(pki):
    decision = _decide(_stored(pki, staging=True))
    assert decision.action == "renew"
    assert "staging" in decision.reason


def test_decide_staging_directory_in_metadata_with_production_configured_renews(pki):
    decision = _decide(_stored(pki), kind="staging")
    assert decision.action == "renew"


def test_decide_staging_issuer_with_staging_configured_is_valid(pki):
    wanted = Wanted(tuple(NAMES), "ec256", "staging")
    assert _decide(_stored(pki, staging=True), wanted=wanted).action == "valid"


def test_decide_expired_renews(pki):
    decision = _decide(_stored(pki, days=90, age_days=91))
    assert decision.action == "renew"
    assert decision.reason.startswith("certificate expired")


def test_decide_forced_renews_and_names_predecessor(pki):
    inspection = _stored(pki)
    decision = _decide(inspection, force=True)
    assert decision.action == "renew"
    assert decision.replaces == certs.ari_cert_id(inspection.cert.leaf)


# --- ARI ---


def test_parse_renewal_info_valid_window_returns_it():
    doc = {
        "suggestedWindow": {"start": "2026-06-10T00:00:00Z", "end": "2026-06-12T00:00:00Z"},
        "explanationURL": "https://ca.example/why",
    }
    window = parse_renewal_info(doc)
    assert window is not None
    assert window.start == dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
    assert window.end == dt.datetime(2026, 6, 12, tzinfo=dt.UTC)
    assert window.explanation_url == "https://ca.example/why"


@pytest.mark.parametrize(
    "window",
    [
        {"start": "2026-06-12T00:00:00Z", "end": "2026-06-12T00:00:00Z"},
        {"start": "2026-06-12T00:00:00Z", "end": "2026-06-10T00:00:00Z"},
        {"start": "2026-06-12T00:00:00Z"},
        {"start": "yesterday", "end": "2026-06-10T00:00:00Z"},
    ],
)
def test_parse_renewal_info_end_not_after_start_or_broken_is_no_answer(window):
    assert parse_renewal_info({"suggestedWindow": window}) is None


def test_parse_renewal_info_not_a_mapping_is_no_answer():
    assert parse_renewal_info(["nope"]) is None
    assert parse_renewal_info({"suggestedWindow": "soon"}) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", dt.timedelta(seconds=120)),
        ("Mon, 01 Jun 2026 13:00:00 GMT", dt.timedelta(hours=1)),
        (None, None),
        ("soon", None),
    ],
)
def test_parse_retry_after_seconds_or_http_date(header, expected):
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    ("given", "error", "expected"),
    [
        (dt.timedelta(seconds=5), False, dt.timedelta(minutes=1)),
        (dt.timedelta(days=3), False, dt.timedelta(days=1)),
        (dt.timedelta(hours=2), False, dt.timedelta(hours=2)),
        (None, False, dt.timedelta(hours=6)),
        (dt.timedelta(seconds=30), True, dt.timedelta(hours=6)),
    ],
)
def test_clamp_retry_after_between_one_minute_and_one_day(given, error, expected):
    assert clamp_retry_after(given, error=error) == expected


def test_choose_renewal_time_stays_inside_the_window():
    window = parse_renewal_info(
        {"suggestedWindow": {"start": "2026-06-10T00:00:00Z", "end": "2026-06-11T00:00:00Z"}}
    )
    rng = random.Random(7)
    times = [choose_renewal_time(window, rng) for _ in range(200)]
    assert all(window.start <= t <= window.end for t in times)
    assert len(set(times)) > 100


def _fetch(doc, retry_after="3600"):
    calls = []

    def fetch(url):
        calls.append(url)
        return doc, retry_after

    return fetch, calls


def test_ari_advice_window_in_the_past_renews_now_with_replaces(pki):
    # GIVEN a CA window that has already started (e.g. ahead of a mass revocation) on a young certificate
    inspection = _stored(pki, days=90, age_days=5)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)
    fetch, calls = _fetch(
        {"suggestedWindow": {"start": "2026-05-30T00:00:00Z", "end": "2026-05-31T00:00:00Z"}}
    )
    # WHEN asking ARI and deciding
    ari = ari_advice(fetch, "https://ca.example/renewal-info/", cert_id, NOW, random.Random(1), None)
    decision = _decide(inspection, ari=ari)
    # THEN the URL is <renewalInfo>/<certID>, the run renews and names the predecessor
    assert calls == [f"https://ca.example/renewal-info/{cert_id}"]
    assert ari.next_check == NOW + dt.timedelta(hours=1)
    assert decision.action == "renew"
    assert decision.reason.startswith("ARI window")
    assert decision.replaces == cert_id


def test_ari_advice_window_later_than_next_run_keeps_even_past_lifetime_threshold(pki):
    # GIVEN a certificate past its 1/3 point but a window starting in 5 days
    inspection = _stored(pki, days=90, age_days=70)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)
    fetch, _ = _fetch({"suggestedWindow": {"start": "2026-06-06T00:00:00Z", "end": "2026-06-07T00:00:00Z"}})
    ari = ari_advice(fetch, "https://ca.example/ri", cert_id, NOW, random.Random(1), None)
    # WHEN deciding THEN ARI wins over the lifetime rule
    decision = _decide(inspection, ari=ari)
    assert decision.action == "valid"
    assert "ARI window" in decision.reason


def test_ari_advice_chosen_time_before_next_run_renews(pki):
    inspection = _stored(pki)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)
    fetch, _ = _fetch({"suggestedWindow": {"start": "2026-06-01T18:00:00Z", "end": "2026-06-02T06:00:00Z"}})
    ari = ari_advice(fetch, "https://ca.example/ri", cert_id, NOW, random.Random(3), None)
    assert _decide(inspection, ari=ari).action == "renew"


def test_ari_advice_cached_answer_is_reused_until_next_check(pki):
    inspection = _stored(pki)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)
    cached = AriState(
        cert_id=cert_id, next_check=NOW + dt.timedelta(hours=2), renew_at=NOW + dt.timedelta(days=20)
    )
    fetch, calls = _fetch({})
    assert ari_advice(fetch, "https://ca.example/ri", cert_id, NOW, random.Random(), cached) is cached
    assert calls == []


def test_ari_advice_cache_for_another_certificate_is_ignored(pki):
    inspection = _stored(pki)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)
    cached = AriState(cert_id="other.cert", next_check=NOW + dt.timedelta(hours=2))
    fetch, calls = _fetch(
        {"suggestedWindow": {"start": "2026-07-01T00:00:00Z", "end": "2026-07-02T00:00:00Z"}}
    )
    ari = ari_advice(fetch, "https://ca.example/ri", cert_id, NOW, random.Random(), cached)
    assert len(calls) == 1
    assert ari.cert_id == cert_id


def test_ari_advice_fetch_error_falls_back_to_lifetime_and_asks_again_in_six_hours(pki):
    inspection = _stored(pki, days=90, age_days=70)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)

    def failing(url):
        raise ConnectionError("boom")

    ari = ari_advice(failing, "https://ca.example/ri", cert_id, NOW, random.Random(), None)
    assert ari.renew_at is None
    assert ari.error is not None
    assert ari.next_check == NOW + dt.timedelta(hours=6)
    decision = _decide(inspection, ari=ari)
    assert decision.action == "renew"
    assert "under the renewal threshold" in decision.reason


def test_ari_advice_bad_window_is_no_answer_and_lifetime_decides(pki):
    inspection = _stored(pki, days=90, age_days=10)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)
    fetch, _ = _fetch(
        {"suggestedWindow": {"start": "2026-06-02T00:00:00Z", "end": "2026-06-01T00:00:00Z"}},
        retry_after="30",
    )
    ari = ari_advice(fetch, "https://ca.example/ri", cert_id, NOW, random.Random(), None)
    assert ari.renew_at is None
    assert ari.next_check == NOW + dt.timedelta(minutes=1)  # 30 s clamped up to a minute
    assert _decide(inspection, ari=ari).action == "valid"


def test_decide_expired_certificate_ignores_ari(pki):
    inspection = _stored(pki, days=90, age_days=91)
    cert_id = certs.ari_cert_id(inspection.cert.leaf)
    ari = AriState(cert_id=cert_id, next_check=NOW + DAY, renew_at=NOW + dt.timedelta(days=30))
    assert _decide(inspection, ari=ari).action == "renew"


# --- failures and backoff ---


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (1, dt.timedelta(minutes=1)),
        (2, dt.timedelta(minutes=10)),
        (3, dt.timedelta(minutes=100)),
        (4, dt.timedelta(hours=23)),
        (9, dt.timedelta(hours=23)),
    ],
)
def test_backoff_delay_follows_one_ten_hundred_minutes_then_daily(failures, expected):
    assert backoff_delay(failures) == expected


def test_record_failure_counts_and_takes_the_later_of_backoff_and_retry_after():
    state = RunState(names=tuple(NAMES))
    first = record_failure(state, NOW, "boom")
    assert first.failures == 1
    assert first.retry_not_before == NOW + dt.timedelta(minutes=1)
    limited = record_failure(first, NOW, "rate limited", retry_after=NOW + dt.timedelta(hours=5))
    assert limited.failures == 2
    assert limited.retry_not_before == NOW + dt.timedelta(hours=5)
    assert backing_off(limited, NOW + dt.timedelta(hours=4))
    assert not backing_off(limited, NOW + dt.timedelta(hours=5, seconds=1))
    assert record_success(limited, NOW).failures == 0


def test_run_state_for_other_names_starts_clean():
    state = record_failure(RunState(names=tuple(NAMES)), NOW, "boom")
    assert state.for_names(tuple(NAMES)) is state
    assert state.for_names(("*.x.example", "x.example")).failures == 0


def test_inspect_pair_key_problem_never_contains_key_text(pki):
    cert, _ = pki.issue(NAMES).pair
    garbage = b"-----BEGIN PRIVATE KEY-----\nTUlJQ0FOQVJZ\n-----END PRIVATE KEY-----\n"
    inspection = inspect_pair(pki.fullchain(cert), garbage)
    assert inspection.problem is not None
    assert "TUlJQ0FOQVJZ" not in inspection.problem
