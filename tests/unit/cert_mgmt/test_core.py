from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cert_mgmt.core import (
    certificate_body,
    push_certificate,
    push_certificates,
    read_object,
    same_certificate,
)
from cert_mgmt.errors import (
    CertificateObjectMissingError,
    CertificateSourceError,
    InvalidCertificateError,
    KeyMismatchError,
)
from cert_mgmt.models import CertRequest, CertTarget
from cert_mgmt.pem import describe, validate_pair
from devstack.xc import InProcessXC
from shared.errors import RetryableError
from shared.xc.errors import XCAuthError
from tests.fixtures.pki import CERT_NAME, xc_info
from tests.fixtures.xc import RecordingXC

TARGET = CertTarget(bucket="tops-cert-bucket", name=CERT_NAME)
NOW = dt.datetime.now(dt.UTC)
CERTS = "/api/config/namespaces/shared/certificates"


class FakeS3:
    """The one call core makes to S3 (`get_object`), over a dict; `error_code` makes it fail."""

    def __init__(self, bucket: str = "tops-cert-bucket") -> None:
        self.bucket = bucket
        self.objects: dict[tuple[str, str], bytes] = {}
        self.error_code: str | None = None

    def put(self, key: str, data: bytes) -> None:
        self.objects[(self.bucket, key)] = data

    def get_object(self, *, Bucket: str, Key: str) -> Any:
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "x"}}, "GetObject")
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no such key"}}, "GetObject")
        data = self.objects[(Bucket, Key)]
        return {"Body": io.BytesIO(data), "ContentLength": len(data)}


@pytest.fixture
def xc(xc_client) -> RecordingXC:
    """The real client for the in-process XC emulator (`xc_emulator`), recording how core calls it."""
    return RecordingXC(xc_client)


def _writes(tenant: InProcessXC) -> list[str]:
    """The methods of the writes the tenant received, in order."""
    return [r.method for r in tenant.requests() if r.method in ("POST", "PUT")]


def _key(tenant: InProcessXC) -> bytes | None:
    """The private key the tenant holds for the certificate."""
    return tenant.state.certificate_material("shared", CERT_NAME)[1]


def _other_writer(tenant: InProcessXC, pair_of) -> None:
    """Another run's create of the certificate, straight into the tenant."""
    body = certificate_body(validate_pair(CERT_NAME, pair_of.chain_pem, pair_of.key_pem, now=NOW))
    tenant.state.create_object("shared", "certificates", body)


@pytest.fixture(scope="module")
def first(pki):
    return pki.issue(days=90)


@pytest.fixture(scope="module")
def renewed(pki):
    return pki.issue(days=89)


def _upload(s3: FakeS3, issued, *, key: bool = True, chain: bool = True) -> None:
    if key:
        s3.put(f"{CERT_NAME}/privkey.pem", issued.key_pem)
    if chain:
        s3.put(f"{CERT_NAME}/fullchain.pem", issued.chain_pem)


def _push(s3, xc):
    return push_certificate(TARGET, s3=s3, xc=xc, now=lambda: NOW)


def test_push_certificate_empty_namespace_creates(first, xc, xc_emulator):
    # GIVEN a valid pair and no certificate in `shared`
    s3 = FakeS3()
    _upload(s3, first)
    # WHEN
    result = _push(s3, xc)
    # THEN it was created with exactly the uploaded bytes
    assert result.action == "created" and result.changed is True
    assert result.not_after == first.leaf.not_valid_after_utc
    assert _writes(xc_emulator) == ["POST"]
    assert _key(xc_emulator) == first.key_pem
    create = next(r for r in xc_emulator.requests() if r.method == "POST")
    assert create.body["metadata"] == {"name": CERT_NAME, "namespace": "shared", "disable": False}


def test_push_certificate_second_event_unchanged(first, xc, xc_emulator):
    # GIVEN the tenant already holds this pair (the other event of the renewal ran first)
    s3 = FakeS3()
    _upload(s3, first)
    _push(s3, xc)
    # WHEN the same pair is pushed again
    result = _push(s3, xc)
    # THEN nothing is written
    assert result.action == "unchanged" and result.changed is False
    assert _writes(xc_emulator) == ["POST"]


def test_push_certificate_renewal_replaces(first, renewed, xc, xc_emulator):
    # GIVEN the tenant holds the old certificate and S3 the renewed pair
    s3 = FakeS3()
    _upload(s3, first)
    _push(s3, xc)
    _upload(s3, renewed)
    # WHEN
    result = _push(s3, xc)
    # THEN it is replaced in place
    assert result.action == "replaced"
    assert _writes(xc_emulator) == ["POST", "PUT"]
    assert _key(xc_emulator) == renewed.key_pem


def test_push_certificate_mid_renewal_mismatch_raises_without_xc_call(first, renewed, xc, xc_emulator):
    # GIVEN the new key next to the old chain (privkey.pem written first)
    s3 = FakeS3()
    _upload(s3, first)
    s3.put(f"{CERT_NAME}/privkey.pem", renewed.key_pem)
    # WHEN / THEN retryable, and the tenant is not touched
    with pytest.raises(KeyMismatchError) as caught:
        _push(s3, xc)
    assert isinstance(caught.value, RetryableError)
    assert xc.calls == [] and xc_emulator.requests() == []


def test_push_certificate_both_orders_one_push(first, renewed, xc, xc_emulator):
    # GIVEN the tenant holds the old pair; the renewal writes privkey then fullchain, and the two
    # events are delivered in any order, the privkey one also retried after the fullchain one
    s3 = FakeS3()
    _upload(s3, first)
    _push(s3, xc)
    s3.put(f"{CERT_NAME}/privkey.pem", renewed.key_pem)
    with pytest.raises(KeyMismatchError):
        _push(s3, xc)  # privkey event before fullchain is written
    s3.put(f"{CERT_NAME}/fullchain.pem", renewed.chain_pem)
    # WHEN the fullchain event and the retried privkey event run
    actions = [_push(s3, xc).action, _push(s3, xc).action]
    # THEN exactly one push of the new pair
    assert actions == ["replaced", "unchanged"]
    assert _writes(xc_emulator) == ["POST", "PUT"]


def test_push_certificate_missing_object_retryable(first, xc, xc_emulator):
    # GIVEN only the key so far
    s3 = FakeS3()
    _upload(s3, first, chain=False)
    # WHEN / THEN
    with pytest.raises(CertificateObjectMissingError, match="fullchain.pem does not exist"):
        _push(s3, xc)
    assert xc.calls == [] and xc_emulator.requests() == []


def test_push_certificate_concurrent_create_compares(first, xc, xc_emulator):
    # GIVEN another run creates the same pair between our read and our create
    s3 = FakeS3()
    _upload(s3, first)
    xc.before("POST", f"{CERTS}$", lambda: _other_writer(xc_emulator, first))
    # WHEN
    result = _push(s3, xc)
    # THEN the 409 leads to a read and "unchanged"
    assert result.action == "unchanged"
    calls = [(r.method, r.status) for r in xc_emulator.requests()]
    assert calls == [("GET", 404), ("POST", 409), ("GET", 200)]
    assert _key(xc_emulator) == first.key_pem


def test_push_certificate_concurrent_create_of_other_pair_replaces(first, renewed, xc, xc_emulator):
    # GIVEN another run creates an older pair just before our create
    s3 = FakeS3()
    _upload(s3, renewed)
    xc.before("POST", f"{CERTS}$", lambda: _other_writer(xc_emulator, first))
    # WHEN / THEN
    assert _push(s3, xc).action == "replaced"
    assert _key(xc_emulator) == renewed.key_pem


def test_push_certificate_auth_error_propagates(first, xc_emulator):
    # GIVEN a tenant refusing the token
    s3, xc = FakeS3(), xc_emulator.client("a-token-the-tenant-does-not-know")
    _upload(s3, first)
    # WHEN / THEN
    with pytest.raises(XCAuthError) as caught:
        _push(s3, xc)
    assert caught.value.status == 401
    assert [r.status for r in xc_emulator.requests()] == [401]


def test_push_certificates_each_target_once(first, xc, xc_emulator):
    # GIVEN a request with one target and skipped keys
    s3 = FakeS3()
    _upload(s3, first)
    request = CertRequest(targets=(TARGET,), skipped=("x/cert.pem",))
    # WHEN
    result = push_certificates(request, s3=s3, xc=xc, now=lambda: NOW)
    # THEN
    assert [r.action for r in result.results] == ["created"] and result.skipped == ("x/cert.pem",)
    assert _writes(xc_emulator) == ["POST"]


def test_certificate_body_padded_base64_of_exact_bytes(first):
    # GIVEN a validated pair / WHEN
    body = certificate_body(validate_pair(CERT_NAME, first.chain_pem, first.key_pem, now=NOW))
    # THEN both URLs are string:/// + standard padded base64 of the PEM bytes, no OCSP fields
    chain_url = body["spec"]["certificate_url"]
    key_url = body["spec"]["private_key"]["clear_secret_info"]["url"]
    assert chain_url == "string:///" + base64.b64encode(first.chain_pem).decode()
    assert key_url == "string:///" + base64.b64encode(first.key_pem).decode()
    assert "\n" not in chain_url and len(chain_url[len("string:///") :]) % 4 == 0
    assert set(body["spec"]) == {"certificate_url", "private_key"}
    assert body["metadata"] == {"name": CERT_NAME, "namespace": "shared", "disable": False}


@pytest.mark.parametrize(
    ("code", "retryable"),
    [("AccessDenied", False), ("NoSuchBucket", False), ("SlowDown", True), ("InternalError", True)],
)
def test_read_object_s3_errors_classified(code, retryable):
    # GIVEN S3 failing with `code`
    s3 = FakeS3()
    s3.error_code = code
    # WHEN
    with pytest.raises(CertificateSourceError) as caught:
        read_object(s3, "b", "k")
    # THEN
    assert caught.value.retryable is retryable
    assert code in str(caught.value)


def test_read_object_oversized_rejected():
    # GIVEN a huge object where a PEM file should be
    s3 = FakeS3()
    s3.put("k", b"x" * (64 * 1024 + 1))
    # WHEN / THEN
    with pytest.raises(InvalidCertificateError, match="bytes"):
        read_object(s3, "tops-cert-bucket", "k")


# --- infos comparison -------------------------------------------------------------------------


def test_same_certificate_own_infos_match(first):
    # GIVEN infos as the tenant shows them for this leaf and its intermediate
    infos = [xc_info(c) for c in first.chain]
    # WHEN / THEN
    assert same_certificate(describe(first.leaf), infos) is True


def test_same_certificate_other_leaf_differs(first, renewed):
    # GIVEN infos of another leaf with the same names, one day apart
    assert same_certificate(describe(renewed.leaf), [xc_info(first.leaf)]) is False


@pytest.mark.parametrize(
    "change",
    [
        {"subject_alternative_names": ["other.example"]},
        {"common_name": "other.example"},
        {"issuer": "CN=Someone Else,O=Other"},
        {"public_key_algorithm": "RSA"},
        {"expiry": None},
        {"expiry": "2020-01-01T00:00:00Z"},
    ],
)
def test_same_certificate_one_field_differs_not_same(first, change):
    # GIVEN an info with one field changed / WHEN / THEN
    assert same_certificate(describe(first.leaf), [{**xc_info(first.leaf), **change}]) is False


@pytest.mark.parametrize(
    "issuer",
    [
        "CN=Test Intermediate R1,O=Test PKI",
        "/O=Test PKI/CN=Test Intermediate R1",
        "Test Intermediate R1",
        "",
    ],
)
def test_same_certificate_issuer_formats_accepted(first, issuer):
    # GIVEN XC's issuer in a format we cannot be sure of / WHEN / THEN
    assert same_certificate(describe(first.leaf), [xc_info(first.leaf, issuer=issuer)]) is True


@pytest.mark.parametrize("algorithm", ["ECDSA", "EC", "ecdsa_p256", "ECDSA-P256"])
def test_same_certificate_algorithm_spellings_accepted(first, algorithm):
    assert same_certificate(describe(first.leaf), [xc_info(first.leaf, algorithm=algorithm)]) is True


def test_same_certificate_missing_optional_fields_still_match(first):
    # GIVEN protobuf JSON that omitted empty fields except expiry and names
    info = xc_info(first.leaf)
    sparse = {"expiry": info["expiry"], "subject_alternative_names": info["subject_alternative_names"]}
    # WHEN / THEN
    assert same_certificate(describe(first.leaf), [sparse]) is True


def test_same_certificate_nanosecond_expiry_matches(first):
    # GIVEN an expiry with nanoseconds
    info = xc_info(first.leaf)
    info["expiry"] = info["expiry"].replace("Z", ".000000000Z")
    # WHEN / THEN
    assert same_certificate(describe(first.leaf), [info]) is True


@pytest.mark.parametrize("infos", [None, [], "x", [None, 3]])
def test_same_certificate_no_infos_not_same(first, infos):
    assert same_certificate(describe(first.leaf), infos) is False
