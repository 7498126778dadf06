"""Publication: validation before any write, privkey first and fullchain last, staging refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec

from acme_client.decide import inspect_pair
from acme_client.errors import PublishError, StagingRefusedError, StoreError
from acme_client.publish import metadata_for, publish, refuse_staging_over_production, validate
from acme_client.store import CertStore
from devstack.pki import TinyPKI, cert_pem, key_pem
from shared.secret import Secret
from tests.fixtures.pki import PINNED_NOW as NOW

BUCKET = "tops-cert-bucket"
NAMES = ["*.lab-mcn.f5demos.com", "lab-mcn.f5demos.com"]


@pytest.fixture(scope="module")
def pki() -> TinyPKI:
    return TinyPKI(now=NOW)


@pytest.fixture
def s3(aws_mock: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


class Recording:
    """Records every write in order; can fail the write of one key."""

    def __init__(self, inner: Any, fail_key: str | None = None) -> None:
        self.inner = inner
        self.fail_key = fail_key
        self.writes: list[tuple[str, str | None]] = []

    def get_object(self, **kwargs: Any) -> Any:
        return self.inner.get_object(**kwargs)

    def put_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == self.fail_key:
            self.fail_key = None
            raise ClientError({"Error": {"Code": "InternalError", "Message": "oops"}}, "PutObject")
        self.writes.append((kwargs["Key"], kwargs.get("ServerSideEncryption")))
        return self.inner.put_object(**kwargs)


def _issued(pki: TinyPKI, names=NAMES, **kwargs):
    cert, key = pki.issue(names, **kwargs).pair
    return pki.fullchain(cert), Secret(key_pem(key).decode()), cert


def test_publish_writes_privkey_first_then_fullchain_then_metadata_all_encrypted(pki, s3):
    # GIVEN a valid issued pair
    fullchain, key, _ = _issued(pki)
    cert = validate(fullchain, key, names=NAMES, now=NOW, kind="custom")
    recorder = Recording(s3)
    store = CertStore(recorder, BUCKET, "lab-mcn-wildcard")
    metadata = metadata_for(
        cert,
        cert_name="lab-mcn-wildcard",
        directory_url="https://ca.example/dir",
        now=NOW,
        replaced=None,
        order_url="https://ca.example/order/1",
    )
    # WHEN publishing
    publish(store, cert, metadata, previous_key_pem=None)
    # THEN the key goes first, the chain last of the pair, the metadata outside the cert prefix, all SSE
    assert recorder.writes == [
        ("lab-mcn-wildcard/privkey.pem", "AES256"),
        ("lab-mcn-wildcard/fullchain.pem", "AES256"),
        ("_acme/certs/lab-mcn-wildcard.json", "AES256"),
    ]
    stored = inspect_pair(
        s3.get_object(Bucket=BUCKET, Key="lab-mcn-wildcard/fullchain.pem")["Body"].read(),
        s3.get_object(Bucket=BUCKET, Key="lab-mcn-wildcard/privkey.pem")["Body"].read(),
    )
    assert stored.problem is None
    assert metadata["names"] == NAMES
    assert metadata["serial"] == cert.serial
    assert metadata["directory_kind"] == "custom"


def test_publish_chain_write_failure_restores_previous_key(pki, s3):
    # GIVEN a published pair and a new one whose chain write fails
    old_chain, old_key, _ = _issued(pki, serial=1)
    s3.put_object(Bucket=BUCKET, Key="lab-mcn-wildcard/privkey.pem", Body=old_key.reveal().encode())
    s3.put_object(Bucket=BUCKET, Key="lab-mcn-wildcard/fullchain.pem", Body=old_chain)
    fullchain, key, _ = _issued(pki, serial=2)
    cert = validate(fullchain, key, names=NAMES, now=NOW, kind="custom")
    store = CertStore(Recording(s3, fail_key="lab-mcn-wildcard/fullchain.pem"), BUCKET, "lab-mcn-wildcard")
    # WHEN publishing THEN it raises and the old pair is a pair again
    with pytest.raises(StoreError):
        publish(store, cert, {}, previous_key_pem=old_key.reveal().encode())
    stored = inspect_pair(
        s3.get_object(Bucket=BUCKET, Key="lab-mcn-wildcard/fullchain.pem")["Body"].read(),
        s3.get_object(Bucket=BUCKET, Key="lab-mcn-wildcard/privkey.pem")["Body"].read(),
    )
    assert stored.problem is None
    assert stored.cert.serial == "1"


def test_validate_good_chain_passes(pki):
    fullchain, key, leaf = _issued(pki)
    assert validate(fullchain, key, names=list(reversed(NAMES)), now=NOW, kind="production").leaf == leaf


def test_validate_key_of_another_certificate_is_rejected(pki):
    fullchain, _, _ = _issued(pki)
    other = Secret(key_pem(ec.generate_private_key(ec.SECP256R1())).decode())
    with pytest.raises(PublishError, match="does not match"):
        validate(fullchain, other, names=NAMES, now=NOW, kind="custom")


def test_validate_other_names_are_rejected(pki):
    fullchain, key, _ = _issued(pki, names=["*.lab-mcn.f5demos.com"])
    with pytest.raises(PublishError, match="differ"):
        validate(fullchain, key, names=NAMES, now=NOW, kind="custom")


def test_validate_chain_not_signed_in_order_is_rejected(pki):
    _, key, leaf = _issued(pki)
    stranger = TinyPKI("Stranger", now=NOW)
    with pytest.raises(PublishError, match="not signed"):
        validate(cert_pem(leaf) + stranger.intermediate.pem, key, names=NAMES, now=NOW, kind="custom")
    with pytest.raises(PublishError, match="no issuer"):
        validate(cert_pem(leaf), key, names=NAMES, now=NOW, kind="custom")


def test_validate_expired_leaf_is_rejected(pki):
    fullchain, key, _ = _issued(pki, not_before=NOW - dt.timedelta(days=100), days=90)
    with pytest.raises(PublishError, match="expired"):
        validate(fullchain, key, names=NAMES, now=NOW, kind="custom")


def test_validate_staging_issuer_from_production_directory_is_rejected(pki):
    staging = TinyPKI("(STAGING) Pretend Pear", now=NOW)
    fullchain, key, _ = _issued(staging)
    with pytest.raises(PublishError, match="staging"):
        validate(fullchain, key, names=NAMES, now=NOW, kind="production")


def test_validate_garbage_is_rejected_and_nothing_written(pki, s3):
    _, key, _ = _issued(pki)
    recorder = Recording(s3)
    with pytest.raises(PublishError):
        cert = validate(b"not a certificate", key, names=NAMES, now=NOW, kind="custom")
        publish(CertStore(recorder, BUCKET, "lab-mcn-wildcard"), cert, {}, previous_key_pem=None)
    assert recorder.writes == []


def test_refuse_staging_over_valid_production_certificate(pki):
    fullchain, key, _ = _issued(pki)
    stored = inspect_pair(fullchain, key.reveal().encode()).cert
    with pytest.raises(StagingRefusedError, match="production"):
        refuse_staging_over_production(stored, "production", "staging", NOW)
    with pytest.raises(StagingRefusedError):
        refuse_staging_over_production(stored, None, "staging", NOW)


def test_refuse_staging_allows_staging_over_staging_expired_or_production_config(pki):
    fullchain, key, _ = _issued(pki)
    stored = inspect_pair(fullchain, key.reveal().encode()).cert
    refuse_staging_over_production(stored, "staging", "staging", NOW)
    refuse_staging_over_production(stored, "production", "production", NOW)
    refuse_staging_over_production(None, None, "staging", NOW)
    old_chain, old_key, _ = _issued(pki, not_before=NOW - dt.timedelta(days=100), days=90)
    refuse_staging_over_production(
        inspect_pair(old_chain, old_key.reveal().encode()).cert, "production", "staging", NOW
    )
