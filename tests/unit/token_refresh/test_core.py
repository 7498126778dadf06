from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.xc import InProcessXC
from shared.deadline import Deadline
from shared.xc.errors import XCServerError
from shared.xc.retry import RetryPolicy
from tests.fixtures.clock import FakeClock
from tests.fixtures.xc import RecordingXC
from token_refresh.config import Credential
from token_refresh.core import (
    METRIC_DAYS_AFTER,
    METRIC_DAYS_BEFORE,
    METRIC_RENEWED,
    needs_renewal,
    read_state,
    refresh_token,
)
from token_refresh.errors import (
    CredentialExpiredError,
    CredentialInactiveError,
    CredentialNotFoundError,
    CredentialStateError,
    ExpiryNotExtendedError,
    RenewRejectedError,
    TokenRejectedError,
)
from token_refresh.models import RefreshRequest, RenewalPolicy

BASE = "/tenantOps-test/sec-lab"
NAME = "tenant-operations-abcdefgh"
POLICY = RenewalPolicy(threshold_days=6.0, expiration_days=7)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SYSTEM = "/api/web/namespaces/system"


class RecordingMetrics:
    """What core needs of Powertools `Metrics`, keeping the last value of each metric."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.values[name] = value


@pytest.fixture
def clock() -> FakeClock:
    """The fake clock of the emulator and of core, whose wall clock starts at NOW."""
    return FakeClock(wall=NOW.timestamp())


@pytest.fixture
def xc(xc_client) -> RecordingXC:
    """The real client for the in-process XC emulator (`xc_emulator`), recording how core calls it."""
    return RecordingXC(xc_client)


def _credential(kind: str = "service_credentials") -> Credential:
    token_type = "svccred" if kind == "service_credentials" else "apicred"
    return Credential(base_path=BASE, name=NAME, token_type=token_type, kind=kind)  # type: ignore[arg-type]


def _seed(
    tenant: InProcessXC, expires_at: datetime, *, kind: str = "service_credentials", active: bool = True
) -> None:
    """The tenant's credential NAME (the worker calls with a token the tenant always accepts)."""
    tenant.state.seed_credential(
        kind, NAME, None, expires_at.timestamp(), active, created_at=(NOW - timedelta(days=30)).timestamp()
    )


def _now(clock: FakeClock):
    return lambda: datetime.fromtimestamp(clock.time(), UTC)


def _refresh(
    xc,
    clock: FakeClock,
    *,
    force: bool = False,
    kind: str = "service_credentials",
    metrics: RecordingMetrics | None = None,
):
    return refresh_token(
        RefreshRequest(force=force),
        _credential(kind),
        POLICY,
        xc=xc,
        metrics=metrics,
        now=_now(clock),
        sleep=clock.sleep,
        deadline=Deadline.after(50, clock),
    )


def _renews(tenant: InProcessXC) -> list[dict]:
    """The bodies of the renew calls the tenant received."""
    return [r.body for r in tenant.requests() if r.method == "POST" and "/renew/" in r.path]


@pytest.mark.parametrize(
    ("days_left", "force", "expected"),
    [
        (5.99, False, True),
        (6.0, False, False),
        (6.5, False, False),
        (6.5, True, True),
        (0.01, False, True),
    ],
)
def test_needs_renewal_threshold_and_force(days_left, force, expected):
    # GIVEN the default policy / WHEN / THEN renew strictly below the threshold, or when forced
    assert needs_renewal(days_left, POLICY, force=force) is expected


@pytest.mark.parametrize("kind", ["service_credentials", "api_credentials"])
def test_refresh_token_below_threshold_renews_to_seven_days(kind, xc, xc_emulator, clock):
    # GIVEN a credential with 2 days left (either kind, each with its own get shape)
    _seed(xc_emulator, NOW + timedelta(days=2), kind=kind)
    metrics = RecordingMetrics()
    # WHEN
    result = _refresh(xc, clock, kind=kind, metrics=metrics)
    # THEN it was renewed once, with expiration_days 7, and the new expiry read back
    assert result.renewed is True
    assert _renews(xc_emulator) == [{"name": NAME, "namespace": "system", "expiration_days": 7}]
    assert result.days_left_before == pytest.approx(2.0)
    assert result.days_left_after == pytest.approx(7.0)
    assert result.expires_at == NOW + timedelta(days=7)
    assert xc_emulator.state.credential(kind, NAME).expires_at == (NOW + timedelta(days=7)).timestamp()
    assert metrics.values == {METRIC_DAYS_BEFORE: 2.0, METRIC_DAYS_AFTER: 7.0, METRIC_RENEWED: 1}
    # AND the read-back used GET by name, the endpoint whose shape differs per kind
    one = f"{SYSTEM}/{kind}/{NAME}"
    assert [(r.method, r.path) for r in xc_emulator.requests()] == [
        ("GET", one),
        ("POST", f"{SYSTEM}/renew/{kind}"),
        ("GET", one),
    ]


def test_refresh_token_far_from_expiry_skips_renewal(xc, xc_emulator, clock):
    # GIVEN 6.5 days left
    _seed(xc_emulator, NOW + timedelta(days=6.5))
    metrics = RecordingMetrics()
    # WHEN
    result = _refresh(xc, clock, metrics=metrics)
    # THEN nothing is renewed and the days are reported unchanged
    assert result.renewed is False
    assert _renews(xc_emulator) == []
    assert result.days_left_before == result.days_left_after == pytest.approx(6.5)
    assert metrics.values[METRIC_RENEWED] == 0


def test_refresh_token_force_renews_far_from_expiry(xc, xc_emulator, clock):
    # GIVEN 6.5 days left, and a forced run
    _seed(xc_emulator, NOW + timedelta(days=6.5))
    # WHEN
    result = _refresh(xc, clock, force=True)
    # THEN it renewed anyway
    assert result.renewed is True and result.forced is True
    assert len(_renews(xc_emulator)) == 1


def test_refresh_token_expired_raises_specific_error_without_renew(xc, xc_emulator, clock):
    # GIVEN a credential that expired an hour ago (the token may still pass auth somewhere)
    _seed(xc_emulator, NOW - timedelta(hours=1))
    metrics = RecordingMetrics()
    # WHEN
    with pytest.raises(CredentialExpiredError) as caught:
        _refresh(xc, clock, metrics=metrics)
    # THEN no renew is attempted, the operator is told what to do, and the negative days are emitted
    assert _renews(xc_emulator) == []
    text = str(caught.value)
    assert "cannot renew itself" in text and f"{BASE}/token-value" in text and f"{BASE}/token-name" in text
    assert metrics.values[METRIC_DAYS_BEFORE] < 0


def test_refresh_token_inactive_raises_specific_error_without_renew(xc, xc_emulator, clock):
    # GIVEN a revoked credential
    _seed(xc_emulator, NOW + timedelta(days=1), active=False)
    # WHEN
    with pytest.raises(CredentialInactiveError, match="inactive"):
        _refresh(xc, clock)
    # THEN
    assert _renews(xc_emulator) == []


@pytest.mark.parametrize("answer", [{"status": False}, {}, [], "ok"])
def test_refresh_token_renew_not_status_true_fails(answer, xc, xc_emulator, clock):
    # GIVEN a tenant that refuses the renewal in its body
    _seed(xc_emulator, NOW + timedelta(days=1))
    xc.answer("POST", "/renew/", answer)
    # WHEN / THEN
    with pytest.raises(RenewRejectedError, match="refused"):
        _refresh(xc, clock)
    assert [c.method for c in xc.calls] == ["GET", "POST"]


def test_refresh_token_expiry_not_moved_fails_after_readback(xc, xc_emulator, clock):
    # GIVEN a tenant that says status true but keeps the old expiry
    _seed(xc_emulator, NOW + timedelta(days=1))
    xc.answer("POST", "/renew/", {"status": True})
    # WHEN
    with pytest.raises(ExpiryNotExtendedError, match="did not move forward"):
        _refresh(xc, clock)
    # THEN it read back for a bounded time, sleeping between reads
    assert clock.slept and sum(clock.slept) == pytest.approx(10.0)
    assert (
        xc_emulator.state.credential("service_credentials", NAME).expires_at
        == (NOW + timedelta(days=1)).timestamp()
    )


def test_refresh_token_401_is_token_rejected_with_instructions(xc_emulator, clock):
    # GIVEN a token the tenant no longer accepts
    _seed(xc_emulator, NOW)
    xc = xc_emulator.client("a-token-the-tenant-does-not-know")
    # WHEN
    with pytest.raises(TokenRejectedError) as caught:
        _refresh(xc, clock)
    # THEN the message says why and which SSM parameters to fix
    assert "401" in str(caught.value) and f"{BASE}/token-value" in str(caught.value)
    assert [r.status for r in xc_emulator.requests()] == [401]


def test_refresh_token_403_is_token_rejected_lacking_role(xc, xc_emulator, clock):
    # GIVEN a token without the role to read credentials
    _seed(xc_emulator, NOW)
    xc_emulator.faults.add("*", ".*", 403)
    # WHEN / THEN
    with pytest.raises(TokenRejectedError, match="lacks the role"):
        _refresh(xc, clock)


def test_refresh_token_server_error_propagates_retryable(xc, xc_emulator, clock):
    # GIVEN a failing tenant
    _seed(xc_emulator, NOW)
    attempts = RetryPolicy().max_attempts
    xc_emulator.faults.add("*", ".*", 503, count=attempts)
    # WHEN / THEN the client's retryable error reaches the handler, after the client's own retries
    with pytest.raises(XCServerError) as caught:
        _refresh(xc, clock)
    assert caught.value.retryable is True
    assert len(xc_emulator.requests()) == attempts


def test_read_state_get_404_falls_back_to_list(xc, xc_emulator):
    # GIVEN GET by name answers 404 but the list has the credential
    _seed(xc_emulator, NOW + timedelta(days=3), kind="api_credentials")
    xc_emulator.faults.add("GET", f"/api_credentials/{NAME}$", 404)
    # WHEN
    state = read_state(xc, _credential("api_credentials"))
    # THEN
    assert state.expires_at == NOW + timedelta(days=3)
    assert [(r.method, r.path) for r in xc_emulator.requests()] == [
        ("GET", f"{SYSTEM}/api_credentials/{NAME}"),
        ("GET", f"{SYSTEM}/api_credentials"),
    ]


def test_read_state_unknown_credential_names_ssm_parameter(xc, xc_emulator):
    # GIVEN a name the tenant does not know
    # WHEN / THEN
    with pytest.raises(CredentialNotFoundError, match=f"{BASE}/token-name"):
        read_state(xc, _credential())
    assert [r.status for r in xc_emulator.requests()] == [404, 200]


def test_read_state_get_without_expiry_and_not_listed_fails(xc, xc_emulator):
    # GIVEN a GET body without an expiry and no list entry
    xc.answer("GET", f"/service_credentials/{NAME}$", {"name": NAME, "active": True})
    # WHEN / THEN
    with pytest.raises(CredentialStateError, match="readable expiry"):
        read_state(xc, _credential())
    assert [r.path for r in xc_emulator.requests()] == [f"{SYSTEM}/service_credentials"]
