"""The handler: config errors name the variable, the EMF metric is printed, and keys never reach a log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest

import acme_client.core
import acme_client.dns01
from acme_client import function
from devstack.pki import TinyPKI, key_pem
from shared.errors import ConfigError
from shared.secret import Secret
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import StubContext
from tests.fixtures.pki import PINNED_NOW as NOW
from tests.unit.acme_client.test_core import FakeCa

BUCKET = "tops-cert-bucket"
CERT = "lab-mcn-wildcard"
RECORD = "lab-mcn.challenge.f5demos.com"


@pytest.fixture
def env(aws_mock: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    route53 = boto3.client("route53", region_name="us-east-1")
    zone_id = route53.create_hosted_zone(Name="challenge.f5demos.com", CallerReference="c")["HostedZone"][
        "Id"
    ]
    values = {
        "CERT_NAME": CERT,
        "DOMAIN": "lab-mcn.f5demos.com",
        "S3_BUCKET": BUCKET,
        "EMAIL": "ops@example.com",
        "CHALLENGE_RECORD": RECORD,
        "CHALLENGE_ZONE_ID": zone_id.split("/")[-1],
        "ACME_DIRECTORY_URL": "https://ca.test/dir",
        "ACME_DNS_CHECK": "insync",
        "ACME_START_JITTER": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(acme_client.dns01, "system_cname", lambda name, timeout: RECORD)
    return {"s3": s3, "route53": route53, "zone_id": zone_id.split("/")[-1]}


def test_lambda_handler_missing_variable_raises_config_error_naming_it(monkeypatch):
    monkeypatch.setenv("CERT_NAME", CERT)
    monkeypatch.setenv("S3_BUCKET", BUCKET)
    monkeypatch.delenv("DOMAIN", raising=False)
    with pytest.raises(ConfigError, match="DOMAIN"):
        function.lambda_handler(load_event("acme_client_schedule"), StubContext(timeout_s=180))


def test_lambda_handler_bad_force_names_the_field(env):
    from shared.errors import InputError

    with pytest.raises(InputError, match="force"):
        function.lambda_handler({"force": "please"}, StubContext(timeout_s=180))


def test_lambda_handler_issues_and_prints_the_days_metric(env, monkeypatch, capsys):
    pki = TinyPKI(now=NOW)
    ca = FakeCa(pki, env["route53"], env["zone_id"], issued_at=dt.datetime.now(dt.UTC))
    monkeypatch.setattr(acme_client.core, "connect_ca", lambda *args, **kwargs: ca)
    monkeypatch.setattr(acme_client.core, "ca_reader_for", lambda config: ca)
    response = function.lambda_handler(load_event("acme_client_schedule"), StubContext(timeout_s=180))
    assert response["statusCode"] == 200
    assert response["body"]["action"] == "issued"
    assert response["body"]["names"] == ["*.lab-mcn.f5demos.com"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1]["DaysToExpiry"] == [response["body"]["days_left"]]
    assert emf[-1]["CertName"] == CERT
    assert emf[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "TenantOps"


def _body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_lambda_handler_logs_never_contain_private_or_account_keys(env, monkeypatch, worker_output):
    # GIVEN a stored pair with a canary key, and a CA that fails the first (forced) renewal
    captured = worker_output("acme_client")
    pki = TinyPKI(now=NOW)
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert, key = pki.issue(["*.lab-mcn.f5demos.com"], not_before=yesterday).pair
    canary = key_pem(key).decode()
    env["s3"].put_object(Bucket=BUCKET, Key=f"{CERT}/privkey.pem", Body=canary.encode())
    env["s3"].put_object(Bucket=BUCKET, Key=f"{CERT}/fullchain.pem", Body=pki.fullchain(cert))
    ca = FakeCa(pki, env["route53"], env["zone_id"], tamper=True, issued_at=dt.datetime.now(dt.UTC))
    monkeypatch.setattr(acme_client.core, "connect_ca", lambda *args, **kwargs: ca)
    monkeypatch.setattr(acme_client.core, "ca_reader_for", lambda config: ca)
    context = StubContext(timeout_s=180)
    # WHEN a failing and then a succeeding forced run log at DEBUG
    failed = function.lambda_handler(load_event("acme_client_force"), context)
    ca.tamper = False
    renewed = function.lambda_handler(load_event("acme_client_force"), context)
    # THEN no line of the old key, the new key or the account key appears in the output
    assert (failed["body"]["action"], renewed["body"]["action"]) == ("failed", "renewed")
    output = captured()
    assert "renewal failed" in output and "certificate renewed" in output
    new_key = env["s3"].get_object(Bucket=BUCKET, Key=f"{CERT}/privkey.pem")["Body"].read().decode()
    account_doc = json.loads(
        env["s3"]
        .get_object(
            Bucket=BUCKET,
            Key=next(
                o["Key"]
                for o in env["s3"].list_objects_v2(Bucket=BUCKET)["Contents"]
                if o["Key"].startswith("_acme/accounts/")
            ),
        )["Body"]
        .read()
    )
    for secret in (canary, new_key, account_doc["private_key_pem"]):
        for line in _body_lines(secret):
            assert line not in output


def test_logger_masks_key_fields_pem_blocks_and_secrets(worker_output):
    captured = worker_output("acme_client")
    pem = key_pem(TinyPKI(now=NOW).root.key).decode()
    hmac = Secret("c2VjcmV0LWhtYWMta2V5LWNhbmFyeS0xMjM0NQ")
    function.logger.info(
        "canary",
        extra={
            "private_key_pem": "x" * 20,
            "nested": {"account_key": "y" * 20},
            "text": f"look: {pem}",
            "eab": f"{hmac}",
        },
    )
    function.logger.info(f"raw {hmac.reveal()}")
    output = captured()
    assert "x" * 20 not in output and "y" * 20 not in output
    assert all(line not in output for line in _body_lines(pem))
    assert hmac.reveal() not in output
