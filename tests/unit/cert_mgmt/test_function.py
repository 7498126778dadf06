"""cert_mgmt.function: the handler with SSM and S3 in moto and XC faked by `responses`."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest

from cert_mgmt.errors import CertificateObjectMissingError, KeyMismatchError
from cert_mgmt.function import lambda_handler
from shared.errors import ConfigError, InputError
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.pki import CERT_NAME, xc_info

URL = "https://f5-xc-lab-sec.console.ves.volterra.io"
CERTS = f"{URL}/api/config/namespaces/shared/certificates"
ONE = f"{CERTS}/{CERT_NAME}"
BUCKET = "tops-cert-bucket"
CANARY = "canary-token-cm-7d41e0b2c9aa53"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSM_BASE_PATH", TEST_BASE_PATH)
    monkeypatch.setenv("S3_BUCKET", BUCKET)
    monkeypatch.setenv("CERT_NAME", CERT_NAME)


@pytest.fixture
def s3(aws_mock: None, env: None) -> Any:
    seed_tenant(boto3.client("ssm", region_name="us-east-1"), URL, CANARY)
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def _upload(s3: Any, issued: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/privkey.pem", Body=issued.key_pem)
    s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/fullchain.pem", Body=issued.chain_pem)


def test_lambda_handler_first_push_creates(s3, http, issued, lambda_context, worker_output):
    # GIVEN the pair in S3 and no certificate in the tenant, and the worker's output captured
    output = worker_output("cert_mgmt")
    _upload(s3, issued)
    http.add("GET", ONE, status=404, json={"code": 5, "message": "not found"})
    http.add("POST", CERTS, json={"metadata": {"name": CERT_NAME}})
    # WHEN the fullchain event arrives
    result = lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    # THEN the certificate is created from the exact bytes
    assert result["statusCode"] == 200
    assert result["body"]["action"] == "created" and result["body"]["certificate"] == CERT_NAME
    sent = json.loads(http.calls[1].request.body)
    assert sent["spec"]["certificate_url"] == "string:///" + base64.b64encode(issued.chain_pem).decode()
    assert http.calls[0].request.headers["Authorization"] == f"APIToken {CANARY}"
    # AND neither the token nor the key reached any output
    text = output()
    assert "certificate created" in text
    assert CANARY not in text
    assert issued.key_pem.decode().splitlines()[1] not in text
    assert base64.b64encode(issued.key_pem).decode()[:40] not in text


def test_lambda_handler_tenant_has_it_unchanged(s3, http, issued, lambda_context):
    # GIVEN the tenant already shows this leaf
    _upload(s3, issued)
    http.add(
        "GET",
        ONE,
        json={"metadata": {"name": CERT_NAME}, "spec": {"infos": [xc_info(c) for c in issued.chain]}},
    )
    # WHEN
    result = lambda_handler(load_event("cert_mgmt_privkey"), lambda_context)
    # THEN nothing is written
    assert result["body"]["action"] == "unchanged" and result["body"]["changed"] is False
    assert [c.request.method for c in http.calls] == ["GET"]


def test_lambda_handler_unrelated_object_skipped_without_ssm_or_xc(aws_mock, env, http, lambda_context):
    # GIVEN no SSM at all, and an event for a file outside the pair
    # WHEN
    result = lambda_handler(load_event("cert_mgmt_unrelated"), lambda_context)
    # THEN success with the key skipped, and no call anywhere
    assert result == {
        "statusCode": 200,
        "body": {"certificates": [], "skipped": ["lab-sec-wildcard/cert.pem"]},
    }
    assert len(http.calls) == 0


def test_lambda_handler_mismatch_raises_retryable_before_xc(s3, http, pki, issued, lambda_context):
    # GIVEN a new key next to the old chain
    _upload(s3, issued)
    s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/privkey.pem", Body=pki.issue().key_pem)
    # WHEN / THEN
    with pytest.raises(KeyMismatchError):
        lambda_handler(load_event("cert_mgmt_privkey"), lambda_context)
    assert len(http.calls) == 0


def test_lambda_handler_missing_half_raises_retryable(s3, http, issued, lambda_context):
    # GIVEN only the key uploaded so far
    s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/privkey.pem", Body=issued.key_pem)
    # WHEN / THEN
    with pytest.raises(CertificateObjectMissingError):
        lambda_handler(load_event("cert_mgmt_privkey"), lambda_context)


def test_lambda_handler_missing_env_names_each(aws_mock, monkeypatch, lambda_context):
    # GIVEN no environment
    for name in ("SSM_BASE_PATH", "S3_BUCKET", "CERT_NAME"):
        monkeypatch.delenv(name, raising=False)
    # WHEN / THEN
    with pytest.raises(ConfigError) as caught:
        lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    assert len(caught.value.problems) == 3


def test_lambda_handler_401_rereads_token_once_then_fails(s3, http, issued, lambda_context):
    # GIVEN a tenant that refuses the token, and no newer token in SSM
    from shared.xc.errors import XCAuthError

    _upload(s3, issued)
    http.add("GET", ONE, status=401, json={"code": 16, "message": "invalid API token"})
    # WHEN / THEN SSM is read again, the token is the same, so a clear failure after one call
    with pytest.raises(XCAuthError) as caught:
        lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    assert caught.value.status == 401
    assert [c.request.method for c in http.calls] == ["GET"]


def test_lambda_handler_401_then_accepted_succeeds(s3, http, issued, lambda_context):
    # GIVEN a cached token that the tenant refuses, and a new token put in SSM meanwhile
    from shared import config

    _upload(s3, issued)
    config.load_tenant(TEST_BASE_PATH)
    seed_tenant(boto3.client("ssm", region_name="us-east-1"), URL, "rotated-token-5551234")
    http.add("GET", ONE, status=401, json={"code": 16, "message": "invalid API token"})
    http.add("GET", ONE, status=404, json={"code": 5, "message": "not found"})
    http.add("POST", CERTS, json={})
    # WHEN
    result = lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    # THEN the second call used the new token and the certificate was created
    assert result["body"]["action"] == "created"
    assert http.calls[1].request.headers["Authorization"] == "APIToken rotated-token-5551234"


def test_lambda_handler_empty_event_is_an_error_and_pushes_nothing(s3, http, issued, lambda_context):
    # GIVEN the pair in S3 and a manual invoke with an empty payload
    _upload(s3, issued)
    # WHEN
    with pytest.raises(InputError) as caught:
        lambda_handler({}, lambda_context)
    # THEN it is refused naming Records, and the tenant was not called
    assert caught.value.field == "Records"
    assert len(http.calls) == 0


def test_lambda_handler_event_for_another_certificate_pushes_nothing(s3, http, issued, lambda_context):
    # GIVEN a well-formed notification for another certificate's prefix
    _upload(s3, issued)
    event = load_event("cert_mgmt_fullchain")
    event["Records"][0]["s3"]["object"]["key"] = "other-cert/fullchain.pem"
    # WHEN
    with pytest.raises(InputError) as caught:
        lambda_handler(event, lambda_context)
    # THEN it is refused, and nothing reached the tenant
    assert "other-cert/fullchain.pem" in str(caught.value) and caught.value.retryable is False
    assert len(http.calls) == 0
