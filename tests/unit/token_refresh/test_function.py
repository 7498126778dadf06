"""token_refresh.function: the handler with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.errors import ConfigError
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from token_refresh.errors import CredentialExpiredError
from token_refresh.function import lambda_handler

URL = "https://f5-xc-lab-sec.console.ves.volterra.io"
NAME = "tenant-operations-abcdefgh"
ONE = f"{URL}/api/web/namespaces/system/service_credentials/{NAME}"
RENEW = f"{URL}/api/web/namespaces/system/renew/service_credentials"
CANARY = "canary-token-tr-5f2a9c1e77d04b"


def _stamp(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSM_BASE_PATH", TEST_BASE_PATH)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")


@pytest.fixture
def ssm(aws_mock: None, env: None) -> Any:
    client = boto3.client("ssm", region_name="us-east-1")
    seed_tenant(client, URL, CANARY, token_name=NAME, token_type="svccred")
    return client


def _credential(days: float) -> dict[str, Any]:
    return {"name": NAME, "namespace": "system", "active": True, "expiry_timestamp": _stamp(days)}


def test_lambda_handler_due_renews_and_emits_metrics(ssm, http, lambda_context, worker_output):
    # GIVEN a service credential with one day left, then seven after the renew
    output = worker_output("token_refresh")
    http.add("GET", ONE, json=_credential(1))
    http.add("POST", RENEW, json={"status": True})
    http.add("GET", ONE, json=_credential(7))
    # WHEN the scheduled event arrives
    result = lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    # THEN it renewed, sent the SSM token, and printed an EMF document with both day counts
    assert result["statusCode"] == 200
    body = result["body"]
    assert body["renewed"] is True and body["credential"] == NAME
    assert body["days_left_before"] == pytest.approx(1, abs=0.01)
    assert body["days_left_after"] == pytest.approx(7, abs=0.01)
    renew = json.loads(http.calls[1].request.body)
    assert renew == {"name": NAME, "namespace": "system", "expiration_days": 7}
    assert http.calls[0].request.headers["Authorization"] == f"APIToken {CANARY}"
    out = output()
    emf = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    assert len(emf) == 1
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "TenantOps"
    assert emf[0]["credential"] == NAME and emf[0]["tenant"] == "f5-xc-lab-sec"
    assert emf[0]["CredentialRenewed"] == [1.0]
    assert emf[0]["CredentialDaysLeftBefore"][0] == pytest.approx(1, abs=0.01)
    assert emf[0]["CredentialDaysLeftAfter"][0] == pytest.approx(7, abs=0.01)
    # AND the token never reached any output
    assert CANARY not in out


def test_lambda_handler_not_due_skips(ssm, http, lambda_context):
    # GIVEN 6.5 days left
    http.add("GET", ONE, json=_credential(6.5))
    # WHEN
    result = lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    # THEN no renew call
    assert result["body"]["renewed"] is False
    assert [c.request.method for c in http.calls] == ["GET"]


def test_lambda_handler_expired_raises(ssm, http, lambda_context, worker_output):
    # GIVEN an expired credential whose token the tenant still answers for
    output = worker_output("token_refresh")
    http.add("GET", ONE, json=_credential(-1))
    # WHEN / THEN the scheduled invoke fails loudly (and is retried by Lambda)
    with pytest.raises(CredentialExpiredError):
        lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    out = output()
    assert "CredentialExpiredError" in out and CANARY not in out


def test_lambda_handler_missing_ssm_parameter_names_path(aws_mock, env, http, lambda_context):
    # GIVEN SSM without token-name and token-type
    client = boto3.client("ssm", region_name="us-east-1")
    seed_tenant(client, URL, CANARY)
    # WHEN / THEN
    with pytest.raises(ConfigError) as caught:
        lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    assert f"{TEST_BASE_PATH}/token-name" in str(caught.value)
    assert f"{TEST_BASE_PATH}/token-type" in str(caught.value)
    assert len(http.calls) == 0


def test_lambda_handler_bad_event_raises_before_any_call(ssm, http, lambda_context):
    # GIVEN a bad force value
    from shared.errors import InputError

    # WHEN / THEN
    with pytest.raises(InputError) as caught:
        lambda_handler(load_event("token_refresh_bad_force"), lambda_context)
    assert caught.value.field == "force"
    assert len(http.calls) == 0


def test_lambda_handler_metrics_namespace_is_read_at_each_invocation(
    ssm, http, lambda_context, monkeypatch, worker_output
):
    # GIVEN a namespace set after the module was imported, as a test or a changed function would
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenantOpsDev")
    output = worker_output("token_refresh")
    http.add("GET", ONE, json=_credential(6.5))
    # WHEN the schedule fires twice, the second time without the setting
    lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
    http.add("GET", ONE, json=_credential(6.5))
    lambda_handler(load_event("token_refresh_scheduled"), lambda_context)
    # THEN each flushed document names the namespace of its own invocation (TenantOps by default)
    emf = [json.loads(line) for line in output().splitlines() if '"_aws"' in line]
    assert [doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] for doc in emf] == ["TenantOpsDev", "TenantOps"]
    assert [doc["CredentialRenewed"] for doc in emf] == [[0.0], [0.0]]
