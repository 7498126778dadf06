"""The persisted ACME account: conditional create, read back on conflict, reuse."""

from __future__ import annotations

import json
from typing import Any

import boto3
import josepy as jose
import pytest

from acme_client import certs
from acme_client.account import jwk_and_alg, load_or_create_account
from acme_client.errors import StoreError
from acme_client.store import CertStore

DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
BUCKET = "tops-cert-bucket"


@pytest.fixture
def s3(aws_mock: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def store(s3: Any) -> CertStore:
    return CertStore(s3, BUCKET, "lab-mcn-wildcard")


class Registrar:
    def __init__(self) -> None:
        self.keys: list[jose.JWK] = []

    def __call__(self, jwk: jose.JWK, alg: jose.JWASignature) -> str:
        self.keys.append(jwk)
        return f"https://ca.example/acct/{len(self.keys)}"


def test_load_or_create_account_first_run_creates_key_registers_and_stores_url(s3, store):
    # GIVEN an empty bucket WHEN loading the account
    register = Registrar()
    account, created = load_or_create_account(store, DIRECTORY, "ec256", register)
    # THEN a key was created, registered once, and stored with its URL outside every cert prefix
    assert created
    assert len(register.keys) == 1
    assert account.uri == "https://ca.example/acct/1"
    key = store.account_key(DIRECTORY)
    assert key.startswith("_acme/accounts/acme-v02.api.letsencrypt.org-")
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert stored["uri"] == account.uri
    assert stored["directory"] == DIRECTORY
    assert s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"


def test_load_or_create_account_second_run_reuses_without_registering(store):
    first, _ = load_or_create_account(store, DIRECTORY, "ec256", Registrar())
    register = Registrar()
    second, created = load_or_create_account(store, DIRECTORY, "ec256", register)
    assert not created
    assert register.keys == []
    assert second.uri == first.uri
    assert second.jwk.thumbprint() == first.jwk.thumbprint()


def test_load_or_create_account_lost_race_uses_the_winners_key(s3, store):
    # GIVEN another function that writes its key between our read and our conditional create
    winner_pem = certs.key_to_pem(certs.generate_key("ec256")).decode()
    winner = {"version": 1, "directory": DIRECTORY, "private_key_pem": winner_pem, "uri": None}

    class Racing:
        def get_object(self, **kwargs: Any) -> Any:
            return s3.get_object(**kwargs)

        def put_object(self, **kwargs: Any) -> Any:
            if kwargs.get("IfNoneMatch") == "*":
                s3.put_object(Bucket=BUCKET, Key=kwargs["Key"], Body=json.dumps(winner).encode())
            return s3.put_object(**kwargs)

    register = Registrar()
    account, created = load_or_create_account(
        CertStore(Racing(), BUCKET, "lab-mcn-wildcard"), DIRECTORY, "ec256", register
    )
    # THEN ours is not written, the winner's key is registered (the CA returns its account) and stored
    assert not created
    expected = jwk_and_alg(certs.load_key(winner_pem.encode()))[0]
    assert [k.thumbprint() for k in register.keys] == [expected.thumbprint()]
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=store.account_key(DIRECTORY))["Body"].read())
    assert stored["private_key_pem"] == winner_pem
    assert stored["uri"] == account.uri


def test_load_or_create_account_accounts_are_per_directory(store):
    prod, _ = load_or_create_account(store, DIRECTORY, "ec256", Registrar())
    staging_url = "https://acme-staging-v02.api.letsencrypt.org/directory"
    staging, created = load_or_create_account(store, staging_url, "ec256", Registrar())
    assert created
    assert store.account_key(staging_url) != store.account_key(DIRECTORY)
    assert staging.jwk.thumbprint() != prod.jwk.thumbprint()


def test_load_or_create_account_malformed_object_raises_store_error(s3, store):
    s3.put_object(Bucket=BUCKET, Key=store.account_key(DIRECTORY), Body=b'{"directory": "other"}')
    with pytest.raises(StoreError):
        load_or_create_account(store, DIRECTORY, "ec256", Registrar())


@pytest.mark.parametrize(("key_type", "alg"), [("ec256", "ES256"), ("ec384", "ES384"), ("rsa2048", "RS256")])
def test_jwk_and_alg_pick_the_signature_for_the_key(key_type, alg):
    _, chosen = jwk_and_alg(certs.generate_key(key_type))
    assert chosen.name == alg


def test_account_repr_hides_the_key(store):
    account, _ = load_or_create_account(store, DIRECTORY, "ec256", Registrar())
    assert "PRIVATE" not in repr(account)
    assert account.key_pem.reveal() not in repr(account)
