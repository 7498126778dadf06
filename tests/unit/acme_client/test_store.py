"""The cert bucket: key layout, missing objects, fatal read errors and conditional creates."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from acme_client.errors import StoreError
from acme_client.store import CertStore

BUCKET = "tops-cert-bucket"


@pytest.fixture
def store(aws_mock: None) -> CertStore:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return CertStore(s3, BUCKET, "lab-mcn-wildcard")


def test_store_keys_keep_our_objects_outside_the_cert_prefix(store):
    assert (store.privkey_key, store.fullchain_key) == (
        "lab-mcn-wildcard/privkey.pem",
        "lab-mcn-wildcard/fullchain.pem",
    )
    for key in (store.metadata_key, store.state_key, store.account_key("https://ca.example/dir")):
        assert key.startswith("_acme/") and not key.startswith("lab-mcn-wildcard/")


def test_store_missing_object_reads_as_none(store):
    assert store.read("lab-mcn-wildcard/fullchain.pem") is None
    assert store.read_json(store.state_key) is None


def test_store_create_is_conditional(store):
    assert store.create("_acme/x.json", b"{}", "application/json") is True
    assert store.create("_acme/x.json", b"{}", "application/json") is False


def test_store_unreadable_json_is_ignored(store):
    store.write("_acme/state/lab-mcn-wildcard.json", b"{not json", "application/json")
    assert store.read_json(store.state_key) is None


def test_store_read_forbidden_is_fatal():
    class Forbidden:
        def get_object(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject")

        def put_object(self, **kwargs: Any) -> Any:
            raise AssertionError

    with pytest.raises(StoreError, match="AccessDenied"):
        CertStore(Forbidden(), BUCKET, "lab-mcn-wildcard").read("lab-mcn-wildcard/fullchain.pem")


def test_store_conditional_conflict_from_real_s3_is_a_lost_race():
    class Conflicting:
        def get_object(self, **kwargs: Any) -> Any:
            raise AssertionError

        def put_object(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ConditionalRequestConflict", "Message": "busy"}}, "PutObject"
            )

    assert CertStore(Conflicting(), BUCKET, "lab-mcn-wildcard").create("_acme/x", b"", "text/plain") is False
