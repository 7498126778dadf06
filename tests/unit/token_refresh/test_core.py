from __future__ import annotations

from datetime import timedelta

import pytest

from shared.deadline import Deadline
from shared.xc.errors import XCServerError
from tests.fixtures.clock import FakeClock
from tests.unit.token_refresh.fakes import NOW, FakeCredentialXC, RecordingMetrics
from token_refresh.config import Credential
from token_refresh.core import (
    METRIC_DAYS_AFTER,
    METRIC_DAYS_BEFORE,
    METRIC_RENEWED,
    needs_renewal,
    read_state,
    refresh_token,
)
from token_refresh.models import (
    CredentialExpiredError,
    CredentialInactiveError,
    CredentialNotFoundError,
    CredentialStateError,
    ExpiryNotExtendedError,
    RefreshRequest,
    RenewalPolicy,
    RenewRejectedError,
    TokenRejectedError,
)

BASE = "/tenantOps-test/sec-lab"
NAME = "tenant-operations-abcdefgh"
POLICY = RenewalPolicy(threshold_days=6.0, expiration_days=7)


def _credential(kind: str = "service_credentials") -> Credential:
    token_type = "svccred" if kind == "service_credentials" else "apicred"
    return Credential(base_path=BASE, name=NAME, token_type=token_type, kind=kind)  # type: ignore[arg-type]


def _refresh(xc: FakeCredentialXC, *, force: bool = False, kind: str = "service_credentials",
             metrics: RecordingMetrics | None = None, clock: FakeClock | None = None):
    clock = clock or FakeClock()
    return refresh_token(RefreshRequest(force=force), _credential(kind), POLICY, xc=xc, metrics=metrics,
                         now=lambda: NOW, sleep=clock.sleep, deadline=Deadline.after(50, clock))


@pytest.mark.parametrize(("days_left", "force", "expected"), [
    (5.99, False, True), (6.0, False, False), (6.5, False, False), (6.5, True, True), (0.01, False, True),
])
def test_needs_renewal_threshold_and_force(days_left, force, expected):
    # GIVEN the default policy / WHEN / THEN renew strictly below the threshold, or when forced
    assert needs_renewal(days_left, POLICY, force=force) is expected


@pytest.mark.parametrize("kind", ["service_credentials", "api_credentials"])
def test_refresh_token_below_threshold_renews_to_seven_days(kind):
    # GIVEN a credential with 2 days left (either kind, each with its own get shape)
    xc = FakeCredentialXC(kind=kind, name=NAME, expires_at=NOW + timedelta(days=2))
    metrics = RecordingMetrics()
    # WHEN
    result = _refresh(xc, kind=kind, metrics=metrics)
    # THEN it was renewed once, with expiration_days 7, and the new expiry read back
    assert result.renewed is True
    assert xc.renew_calls() == 1
    renew = next(body for method, path, body in xc.calls if method == "POST")
    assert renew == {"name": NAME, "namespace": "system", "expiration_days": 7}
    assert result.days_left_before == pytest.approx(2.0)
    assert result.days_left_after == pytest.approx(7.0)
    assert result.expires_at == NOW + timedelta(days=7)
    assert metrics.values == {METRIC_DAYS_BEFORE: 2.0, METRIC_DAYS_AFTER: 7.0, METRIC_RENEWED: 1}


def test_refresh_token_far_from_expiry_skips_renewal():
    # GIVEN 6.5 days left
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW + timedelta(days=6.5))
    metrics = RecordingMetrics()
    # WHEN
    result = _refresh(xc, metrics=metrics)
    # THEN nothing is renewed and the days are reported unchanged
    assert result.renewed is False
    assert xc.renew_calls() == 0
    assert result.days_left_before == result.days_left_after == pytest.approx(6.5)
    assert metrics.values[METRIC_RENEWED] == 0


def test_refresh_token_force_renews_far_from_expiry():
    # GIVEN 6.5 days left, and a forced run
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW + timedelta(days=6.5))
    # WHEN
    result = _refresh(xc, force=True)
    # THEN it renewed anyway
    assert result.renewed is True and result.forced is True
    assert xc.renew_calls() == 1


def test_refresh_token_expired_raises_specific_error_without_renew():
    # GIVEN a credential that expired an hour ago (the token may still pass auth somewhere)
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW - timedelta(hours=1))
    metrics = RecordingMetrics()
    # WHEN
    with pytest.raises(CredentialExpiredError) as caught:
        _refresh(xc, metrics=metrics)
    # THEN no renew is attempted, the operator is told what to do, and the negative days are emitted
    assert xc.renew_calls() == 0
    text = str(caught.value)
    assert "cannot renew itself" in text and f"{BASE}/token-value" in text and f"{BASE}/token-name" in text
    assert metrics.values[METRIC_DAYS_BEFORE] < 0


def test_refresh_token_inactive_raises_specific_error_without_renew():
    # GIVEN a revoked credential
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW + timedelta(days=1),
                          active=False)
    # WHEN
    with pytest.raises(CredentialInactiveError, match="inactive"):
        _refresh(xc)
    # THEN
    assert xc.renew_calls() == 0


@pytest.mark.parametrize("answer", [{"status": False}, {}, [], "ok"])
def test_refresh_token_renew_not_status_true_fails(answer):
    # GIVEN a tenant that refuses the renewal in its body
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW + timedelta(days=1),
                          renew_answer=answer)
    # WHEN / THEN
    with pytest.raises(RenewRejectedError, match="refused"):
        _refresh(xc)


def test_refresh_token_expiry_not_moved_fails_after_readback():
    # GIVEN a tenant that says status true but keeps the old expiry
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW + timedelta(days=1),
                          renew_moves=False)
    clock = FakeClock()
    # WHEN
    with pytest.raises(ExpiryNotExtendedError, match="did not move forward"):
        _refresh(xc, clock=clock)
    # THEN it read back for a bounded time, sleeping between reads
    assert clock.slept and sum(clock.slept) == pytest.approx(10.0)


def test_refresh_token_401_is_token_rejected_with_instructions():
    # GIVEN a token the tenant no longer accepts
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW, fail_status=401)
    # WHEN
    with pytest.raises(TokenRejectedError) as caught:
        _refresh(xc)
    # THEN the message says why and which SSM parameters to fix
    assert "401" in str(caught.value) and f"{BASE}/token-value" in str(caught.value)


def test_refresh_token_403_is_token_rejected_lacking_role():
    # GIVEN a token without the role to read credentials
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW, fail_status=403)
    # WHEN / THEN
    with pytest.raises(TokenRejectedError, match="lacks the role"):
        _refresh(xc)


def test_refresh_token_server_error_propagates_retryable():
    # GIVEN a failing tenant
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW, fail_status=503)
    # WHEN / THEN the client's retryable error reaches the handler
    with pytest.raises(XCServerError) as caught:
        _refresh(xc)
    assert caught.value.retryable is True


def test_read_state_get_404_falls_back_to_list():
    # GIVEN GET by name answers 404 but the list has the credential
    xc = FakeCredentialXC(kind="api_credentials", name=NAME, expires_at=NOW + timedelta(days=3),
                          get_status=404)
    # WHEN
    state = read_state(xc, _credential("api_credentials"))
    # THEN
    assert state.expires_at == NOW + timedelta(days=3)
    assert [method for method, _, _ in xc.calls] == ["GET", "GET"]


def test_read_state_unknown_credential_names_ssm_parameter():
    # GIVEN a name the tenant does not know
    xc = FakeCredentialXC(kind="service_credentials", name=NAME, expires_at=NOW, get_status=404,
                          in_list=False)
    # WHEN / THEN
    with pytest.raises(CredentialNotFoundError, match=f"{BASE}/token-name"):
        read_state(xc, _credential())


def test_read_state_get_without_expiry_and_not_listed_fails():
    # GIVEN a GET body without an expiry and no list entry
    class NoExpiry(FakeCredentialXC):
        def _get_body(self):
            return {"name": NAME, "active": True}

    xc = NoExpiry(kind="service_credentials", name=NAME, expires_at=NOW, in_list=False)
    # WHEN / THEN
    with pytest.raises(CredentialStateError, match="readable expiry"):
        read_state(xc, _credential())
