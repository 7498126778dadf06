"""The cert bucket: key layout, missing objects, fatal read errors and conditional creates (on any SDK)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from acme_client.errors import StoreError
from acme_client.store import CertStore, has_if_none_match

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


# --- botocore older than 1.35 (the S3 model has no IfNoneMatch) ---


@pytest.fixture
def old_sdk_s3(aws_mock: None, tmp_path: Path) -> Any:
    """A real botocore S3 client whose service model is this botocore's minus PutObject's IfNoneMatch,
    as botocore 1.34 (the oldest SDK a Lambda python3.11-3.13 runtime ships) has it."""
    model = botocore.loaders.Loader().load_service_model("s3", "service-2")
    del model["shapes"]["PutObjectRequest"]["members"]["IfNoneMatch"]
    folder = tmp_path / "s3" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path))
    client: Any = session.create_client("s3", region_name="us-east-1")  # our own model, not the stubs'
    client.create_bucket(Bucket=BUCKET)
    return client


def test_store_create_without_if_none_match_in_the_sdk_is_still_conditional(old_sdk_s3):
    # GIVEN an SDK that rejects the parameter itself
    assert has_if_none_match(old_sdk_s3) is False
    with pytest.raises(ParamValidationError):
        old_sdk_s3.put_object(Bucket=BUCKET, Key="_acme/direct", Body=b"x", IfNoneMatch="*")
    store = CertStore(old_sdk_s3, BUCKET, "lab-mcn-wildcard")
    # WHEN two runs create the same account object
    assert store.create("_acme/accounts/x.json", b'{"winner": 1}', "application/json") is True
    assert store.create("_acme/accounts/x.json", b'{"winner": 2}', "application/json") is False
    # THEN S3 saw If-None-Match and kept the first; plain writes after that still overwrite
    assert store.read("_acme/accounts/x.json") == b'{"winner": 1}'
    store.write("_acme/accounts/x.json", b'{"overwritten": true}', "application/json")
    assert store.read("_acme/accounts/x.json") == b'{"overwritten": true}'


def test_store_if_none_match_header_goes_only_on_the_conditional_create(old_sdk_s3):
    sent: list[str | None] = []

    def seen(request: Any, **_: Any) -> None:
        sent.append(_text(request.headers.get("If-None-Match")))

    old_sdk_s3.meta.events.register("before-send.s3.PutObject", seen)
    store = CertStore(old_sdk_s3, BUCKET, "lab-mcn-wildcard")
    store.write("_acme/a", b"1", "text/plain")
    store.create("_acme/b", b"2", "text/plain")
    store.create("_acme/c", b"3", "text/plain")
    store.write("_acme/a", b"4", "text/plain")
    assert sent == [None, "*", "*", None]


def test_store_current_sdk_sends_if_none_match_as_a_parameter(store):
    assert has_if_none_match(store._s3) is True


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
