"""The persisted ACME account: one key and URL per directory, kept in the cert bucket.

Three tenant functions start at the same moment, so the key is created with a conditional write
(If-None-Match: *) before anything is registered: whoever loses reads the winner's key back, and all
of them register that one key. The CA answers a newAccount for a known key with the existing account,
so at most one account is ever created per directory, and its URL is then stored beside the key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import josepy as jose
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from acme_client import certs
from acme_client.errors import StoreError
from acme_client.store import CertStore
from shared.secret import Secret

log = logging.getLogger(__name__)

Register = Callable[[jose.JWK, jose.JWASignature], str]
"""Registers (or finds) the account for a key at the CA and returns its URL."""


@dataclass(frozen=True, slots=True)
class Account:
    directory_url: str
    key_pem: Secret
    jwk: jose.JWK
    alg: jose.JWASignature
    uri: str | None
    created_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "directory": self.directory_url,
            "private_key_pem": self.key_pem.reveal(),
            "uri": self.uri,
            "created_at": self.created_at,
        }

    def __repr__(self) -> str:  # the dataclass repr would show the JWK's private numbers
        return f"Account(directory_url={self.directory_url!r}, uri={self.uri!r})"


def jwk_and_alg(key: certs.PrivateKey) -> tuple[jose.JWK, jose.JWASignature]:
    """The JWK and JWS algorithm for an account key: ES256 for P-256, ES384 for P-384, RS256 for RSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": jose.ES256, "secp384r1": jose.ES384}.get(key.curve.name)
        if alg is None:
            raise ValueError(f"unsupported account key curve {key.curve.name}")
        return jose.JWKEC(key=key), alg
    if isinstance(key, rsa.RSAPrivateKey):
        return jose.JWKRSA(key=key), jose.RS256
    raise ValueError(f"unsupported account key {type(key).__name__}")


def _parse(doc: dict[str, Any], directory_url: str) -> Account:
    pem = doc.get("private_key_pem")
    if not isinstance(pem, str) or doc.get("directory") != directory_url:
        raise StoreError("stored ACME account object is malformed or for another directory")
    secret = Secret(pem)
    try:
        key = certs.load_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise StoreError(f"stored ACME account key is unreadable: {type(exc).__name__}") from None
    jwk, alg = jwk_and_alg(key)
    uri = doc.get("uri")
    return Account(
        directory_url, secret, jwk, alg, uri if isinstance(uri, str) and uri else None, doc.get("created_at")
    )


def load_or_create_account(
    store: CertStore, directory_url: str, key_type: str, register: Register, *, now: dt.datetime | None = None
) -> tuple[Account, bool]:
    """The account for `directory_url`, registering it on first use. Returns (account, key_created)."""
    object_key = store.account_key(directory_url)
    doc = store.read_json(object_key)
    created = False
    if doc is None:
        pem = certs.key_to_pem(certs.generate_key(key_type)).decode()
        Secret(pem)  # registers the value with the log masker before it can go anywhere
        doc = {
            "version": 1,
            "directory": directory_url,
            "private_key_pem": pem,
            "uri": None,
            "created_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
        }
        created = store.create(object_key, json.dumps(doc, indent=2).encode(), "application/json")
        if not created:
            log.info("another run created the ACME account key first; using it", extra={"key": object_key})
            doc = store.read_json(object_key)
            if doc is None:
                raise StoreError(f"ACME account {object_key} vanished after a failed conditional write")
    account = _parse(doc, directory_url)
    if account.uri is None:
        account = register_and_store(store, account, register)
    else:
        log.info("reusing stored ACME account", extra={"account": account.uri})
    return account, created


def register_and_store(store: CertStore, account: Account, register: Register) -> Account:
    """Register the stored key (or find its existing account) and write the URL beside the key."""
    uri = register(account.jwk, account.alg)
    updated = Account(
        account.directory_url, account.key_pem, account.jwk, account.alg, uri, account.created_at
    )
    store.write_json(store.account_key(account.directory_url), updated.to_json())
    log.info("ACME account registered", extra={"account": uri})
    return updated
