"""cert_mgmt end to end: the handler, S3 and SSM in moto, and the XC emulator over real sockets."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest

from cert_mgmt.errors import ChainOrderError, KeyMismatchError
from cert_mgmt.function import lambda_handler
from devstack.pki import TinyPKI
from shared.errors import InputError
from shared.xc.errors import XCAuthError, XCServerError
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH
from tests.fixtures.pki import CERT_NAME, NAMES
from tests.fixtures.xc import use_token

pytestmark = pytest.mark.integration

BUCKET = "tops-cert-bucket"
CERTS = "/api/config/namespaces/shared/certificates"


@pytest.fixture(scope="module")
def pki() -> TinyPKI:
    return TinyPKI(names=NAMES)


class Stack:
    def __init__(self, xc_server: Any) -> None:
        self.xc = xc_server
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)

    def upload(self, issued: Any, *, key: bool = True, chain: bool = True) -> None:
        # acme_client's order: the key first, the chain last.
        if key:
            self.s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/privkey.pem", Body=issued.key_pem)
        if chain:
            self.s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/fullchain.pem", Body=issued.chain_pem)

    def material(self) -> tuple[bytes, bytes | None]:
        return self.xc.state.certificate_material("shared", CERT_NAME)

    def calls(self, *methods: str) -> list[Any]:
        return [
            r for r in self.xc.requests() if r.path.startswith(CERTS) and (not methods or r.method in methods)
        ]


@pytest.fixture
def stack(xc_tenant, monkeypatch) -> Stack:
    monkeypatch.setenv("SSM_BASE_PATH", TEST_BASE_PATH)
    monkeypatch.setenv("S3_BUCKET", BUCKET)
    monkeypatch.setenv("CERT_NAME", CERT_NAME)
    return Stack(xc_tenant)


def test_lambda_handler_first_push_into_empty_shared_creates(stack, pki, lambda_context):
    # GIVEN an empty `shared` namespace and a fresh pair in S3
    assert stack.xc.state.object_names("shared", "certificates") == []
    issued = pki.issue()
    stack.upload(issued)
    # WHEN the fullchain event arrives
    result = lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    # THEN the certificate is created with exactly the uploaded bytes
    assert result["statusCode"] == 200
    assert result["body"]["action"] == "created"
    assert result["body"]["not_after"] == issued.leaf.not_valid_after_utc.isoformat()
    assert stack.material() == (issued.chain_pem, issued.key_pem)
    # AND the body was encoded as docs/xc-api.md §7.4 says, without OCSP fields
    post = stack.calls("POST")[0].body
    assert set(post["spec"]) == {"certificate_url", "private_key"}
    assert post["spec"]["certificate_url"] == "string:///" + base64.b64encode(issued.chain_pem).decode()


def test_lambda_handler_pair_events_in_any_order_push_once(stack, pki, lambda_context):
    # GIVEN a first certificate in the tenant, then a renewal: privkey.pem written before fullchain.pem
    first, renewed = pki.issue(days=90), pki.issue(days=89)
    stack.upload(first)
    assert lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)["body"]["action"] == "created"
    stack.upload(renewed, chain=False)
    # WHEN the privkey event runs between the two writes
    with pytest.raises(KeyMismatchError):
        lambda_handler(load_event("cert_mgmt_privkey"), lambda_context)
    stack.upload(renewed, key=False)
    # AND the fullchain event and the retried privkey event run, in either order
    actions = [
        lambda_handler(load_event(name), lambda_context)["body"]["action"]
        for name in ("cert_mgmt_fullchain", "cert_mgmt_privkey", "cert_mgmt_fullchain")
    ]
    # THEN the renewed pair was pushed exactly once
    assert actions == ["replaced", "unchanged", "unchanged"]
    assert [r.method for r in stack.calls("POST", "PUT")] == ["POST", "PUT"]
    assert stack.material() == (renewed.chain_pem, renewed.key_pem)


def test_lambda_handler_mismatched_pair_retryable_without_touching_tenant(stack, pki, lambda_context):
    # GIVEN a chain and a key from different issuances
    stack.upload(pki.issue())
    stack.s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/privkey.pem", Body=pki.issue().key_pem)
    # WHEN / THEN retryable, and no request reached the tenant
    with pytest.raises(KeyMismatchError) as caught:
        lambda_handler(load_event("cert_mgmt_privkey"), lambda_context)
    assert caught.value.retryable is True
    assert stack.xc.requests() == []


def test_lambda_handler_unrelated_object_skipped(stack, lambda_context):
    # GIVEN an event for an object outside the pair / WHEN
    result = lambda_handler(load_event("cert_mgmt_encoded_key"), lambda_context)
    # THEN success, skipped, no XC call
    assert result["body"]["certificates"] == []
    assert result["body"]["skipped"] == ["lab-sec-wildcard/archive/2025-03-01T06:00:12Z fullchain.pem"]
    assert stack.xc.requests() == []


def test_lambda_handler_throttling_and_unavailable_absorbed(stack, pki, lambda_context):
    # GIVEN 503s on the read, 429s and a 503 on the create (safe to repeat: a duplicate is a 409)
    issued = pki.issue()
    stack.upload(issued)
    stack.xc.faults.add("GET", CERTS, [503, 503])
    stack.xc.faults.add("POST", CERTS, [429, 503, 429], retry_after=0)
    # WHEN
    result = lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    # THEN the retry policy absorbed them and the certificate exists once
    assert result["body"]["action"] == "created"
    assert [r.status for r in stack.calls("POST")] == [429, 503, 429, 200]
    assert stack.material()[0] == issued.chain_pem


def test_lambda_handler_401_fails_clearly(stack, pki, lambda_context, ssm, xc_server):
    # GIVEN SSM holding a token the tenant does not know
    use_token(ssm, xc_server, "not-a-known-token-123", known=False)
    stack.upload(pki.issue())
    # WHEN / THEN a typed 401 (SSM re-read, same token: no second call); nothing written
    with pytest.raises(XCAuthError) as caught:
        lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    assert caught.value.status == 401 and "401" in str(caught.value)
    assert [r.method for r in stack.calls()] == ["GET"]


def test_lambda_handler_debug_output_never_holds_token_or_key(
    stack, pki, lambda_context, worker_output, monkeypatch, ssm, xc_server
):
    # GIVEN DEBUG logging, a canary token known to the tenant, and a canary key
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    output = worker_output("cert_mgmt")
    canary = "canary-token-cm-int-40f1b6e2d9"
    use_token(ssm, xc_server, canary)
    issued = pki.issue(key_type="rsa")
    stack.upload(issued)
    stack.xc.faults.add("POST", CERTS, [500], body={"code": 13, "message": "internal"})
    # WHEN a create fails (500: not retried, raised), then succeeds, then a mismatch fails
    with pytest.raises(XCServerError):
        lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    stack.s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/privkey.pem", Body=pki.issue().key_pem)
    with pytest.raises(KeyMismatchError):
        lambda_handler(load_event("cert_mgmt_privkey"), lambda_context)
    # THEN debug lines were written, and neither secret in any form is in them
    text = output()
    assert '"level":"DEBUG"' in text and "certificate created" in text
    key_text = issued.key_pem.decode()
    key_b64 = base64.b64encode(issued.key_pem).decode()
    assert canary not in text
    assert all(line not in text for line in key_text.splitlines()[1:-1])
    assert key_b64[:32] not in text and key_b64[-32:] not in text


def test_lambda_handler_event_for_another_certificate_publishes_nothing(stack, pki, lambda_context):
    # GIVEN another certificate's pair in the same bucket, and a well-formed event naming it
    issued = pki.issue()
    stack.s3.put_object(Bucket=BUCKET, Key="other-cert/privkey.pem", Body=issued.key_pem)
    stack.s3.put_object(Bucket=BUCKET, Key="other-cert/fullchain.pem", Body=issued.chain_pem)
    event = load_event("cert_mgmt_fullchain")
    event["Records"][0]["s3"]["object"]["key"] = "other-cert/fullchain.pem"
    # WHEN this tenant's cert_mgmt receives it
    with pytest.raises(InputError) as caught:
        lambda_handler(event, lambda_context)
    # THEN it is refused naming the key, and no certificate was created in `shared`
    assert "other-cert/fullchain.pem" in str(caught.value) and caught.value.retryable is False
    assert stack.xc.state.object_names("shared", "certificates") == []
    assert stack.calls() == []


def test_lambda_handler_chain_without_the_issuer_is_refused(stack, pki, lambda_context):
    # GIVEN a fullchain.pem that holds the leaf alone
    from cryptography.hazmat.primitives import serialization

    issued = pki.issue()
    stack.s3.put_object(Bucket=BUCKET, Key=f"{CERT_NAME}/privkey.pem", Body=issued.key_pem)
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"{CERT_NAME}/fullchain.pem",
        Body=issued.leaf.public_bytes(serialization.Encoding.PEM),
    )
    # WHEN its event arrives
    with pytest.raises(ChainOrderError, match="holds only the leaf certificate"):
        lambda_handler(load_event("cert_mgmt_fullchain"), lambda_context)
    # THEN nothing was pushed
    assert stack.calls() == []
