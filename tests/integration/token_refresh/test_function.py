"""token_refresh end to end: the handler, SSM in moto, and the XC emulator over real sockets."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from devstack.xc import XCServer
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from token_refresh.errors import CredentialExpiredError, CredentialInactiveError, TokenRejectedError
from token_refresh.function import lambda_handler

pytestmark = pytest.mark.integration

DAY = 86400.0
NAME = "tenant-operations-abcdefgh"
KINDS = {"svccred": "service_credentials", "apicred": "api_credentials"}
# The credential's own token, as in SSM token-value: the worker authenticates with what it renews.
CANARY = "canary-token-int-9b3e71f0a2c4d8e6"


class Tenant:
    def __init__(self, server: XCServer, token_type: str) -> None:
        self.server = server
        self.kind = KINDS[token_type]
        self.token_type = token_type

    def seed(self, days_left: float, *, active: bool = True, token: str | None = CANARY) -> None:
        self.server.state.seed_credential(self.kind, NAME, token, time.time() + days_left * DAY, active)

    def days_left(self) -> float:
        return (self.server.state.credential(self.kind, NAME).expires_at - time.time()) / DAY

    def renew_calls(self) -> list[Any]:
        return [r for r in self.server.requests() if r.method == "POST" and "/renew/" in r.path]


@pytest.fixture(params=["svccred", "apicred"])
def tenant(request, aws_mock, xc_server, monkeypatch) -> Tenant:
    """The emulator holding credential NAME, and SSM naming it with its own token, for either kind."""
    seed_tenant(
        boto3.client("ssm", region_name="us-east-1"),
        xc_server.url,
        CANARY,
        token_name=NAME,
        token_type=request.param,
    )
    monkeypatch.setenv("SSM_BASE_PATH", TEST_BASE_PATH)
    return Tenant(xc_server, request.param)


def test_lambda_handler_due_credential_renewed_to_seven_days(tenant, lambda_context):
    # GIVEN a credential with 2 days left
    tenant.seed(2)
    # WHEN the schedule fires
    result = lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    # THEN the tenant now shows 7 days, and the result says so
    body = result["body"]
    assert result["statusCode"] == 200 and body["renewed"] is True
    assert body["days_left_before"] == pytest.approx(2, abs=0.01)
    assert body["days_left_after"] == pytest.approx(7, abs=0.01)
    assert tenant.days_left() == pytest.approx(7, abs=0.01)
    assert [r.body["expiration_days"] for r in tenant.renew_calls()] == [7]


def test_lambda_handler_far_from_expiry_skipped(tenant, lambda_context):
    # GIVEN 6.5 days left
    tenant.seed(6.5)
    # WHEN
    result = lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    # THEN no renew call was made
    assert result["body"]["renewed"] is False
    assert tenant.renew_calls() == []
    assert tenant.days_left() == pytest.approx(6.5, abs=0.01)


def test_lambda_handler_force_renews_and_twice_is_harmless(tenant, lambda_context):
    # GIVEN 6.5 days left and a forced run, delivered twice
    tenant.seed(6.5)
    # WHEN
    first = lambda_handler(load_event("token_refresh_force"), lambda_context)
    second = lambda_handler(load_event("token_refresh_force"), lambda_context)
    # THEN both renewed, and the credential ends at 7 days
    assert first["body"]["renewed"] is True and second["body"]["renewed"] is True
    assert len(tenant.renew_calls()) == 2
    assert tenant.days_left() == pytest.approx(7, abs=0.01)


def test_lambda_handler_expired_own_token_fails_loudly(tenant, lambda_context):
    # GIVEN the credential expired an hour ago: its token no longer authenticates
    tenant.seed(-1 / 24)
    # WHEN / THEN the failure says the credential cannot renew itself and what to replace
    with pytest.raises(TokenRejectedError) as caught:
        lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    assert "401" in str(caught.value) and "cannot renew itself" in str(caught.value)
    assert f"{TEST_BASE_PATH}/token-value" in str(caught.value)
    assert tenant.renew_calls() == []


def test_lambda_handler_expired_seen_by_other_token_fails_loudly(tenant, lambda_context, xc_server):
    # GIVEN the credential expired, and SSM holds a token that still authenticates (the emulator's own)
    tenant.seed(-1, token=None)
    seed_tenant(boto3.client("ssm", region_name="us-east-1"), xc_server.url, xc_server.token)
    # WHEN / THEN the expiry is reported, without any renew attempt
    with pytest.raises(CredentialExpiredError, match="expired at"):
        lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    assert tenant.renew_calls() == []


def test_lambda_handler_inactive_fails_loudly(tenant, lambda_context, xc_server):
    # GIVEN a revoked credential, seen with another valid token
    tenant.seed(3, active=False, token=None)
    seed_tenant(boto3.client("ssm", region_name="us-east-1"), xc_server.url, xc_server.token)
    # WHEN / THEN
    with pytest.raises(CredentialInactiveError):
        lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    assert tenant.renew_calls() == []


def test_lambda_handler_throttling_and_unavailable_absorbed(tenant, lambda_context, xc_server):
    # GIVEN bursts of 503 on the reads and 429 on the renew
    tenant.seed(1)
    xc_server.faults.add("GET", r"/(api|service)_credentials", [503, 503])
    xc_server.faults.add("POST", r"/renew/", [429, 429], retry_after=0)
    # WHEN
    result = lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    # THEN the retry policy absorbed them
    assert result["body"]["renewed"] is True
    assert tenant.days_left() == pytest.approx(7, abs=0.01)
    assert [r.status for r in tenant.renew_calls()] == [429, 429, 200]


def test_lambda_handler_debug_output_never_holds_token(tenant, lambda_context, worker_output, monkeypatch):
    # GIVEN DEBUG logging, a due credential and a failing first read
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    output = worker_output("token_refresh")
    tenant.seed(1)
    tenant.server.faults.add("GET", r"_credentials", [503])
    # WHEN it renews, then fails on a second run whose token was revoked
    lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    tenant.server.state.revoke_credential(tenant.kind, {"name": NAME})
    with pytest.raises(TokenRejectedError):
        lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    # THEN debug lines were written, and the token is in none of them
    text = output()
    assert '"level":"DEBUG"' in text and "xc call" in text and "credential renewed" in text
    assert CANARY not in text
