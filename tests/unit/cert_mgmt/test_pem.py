from __future__ import annotations

import datetime as dt

import pytest

from cert_mgmt.errors import (
    CertificateExpiredError,
    ChainOrderError,
    InvalidCertificateError,
    KeyMismatchError,
)
from cert_mgmt.pem import describe, validate_pair
from devstack.pki import TinyPKI, key_pem
from tests.fixtures.pki import CERT_NAME, NAMES

NOW = dt.datetime.now(dt.UTC)


def test_validate_pair_good_pair_describes_leaf(issued):
    # GIVEN a leaf-first chain and its key / WHEN
    pair = validate_pair(CERT_NAME, issued.chain_pem, issued.key_pem, now=NOW)
    # THEN the leaf's facts are read and the key is kept as a Secret
    assert pair.chain_length == 2
    assert pair.leaf.names == tuple(sorted(NAMES))
    assert pair.leaf.common_name == NAMES[0]
    assert pair.leaf.issuer_common_name == "Test Intermediate R1"
    assert pair.leaf.key_algorithm == "ECDSA"
    assert pair.leaf.not_after == issued.leaf.not_valid_after_utc
    assert pair.chain_pem == issued.chain_pem
    assert str(pair.key_pem) == "***" and pair.key_pem.reveal().encode() == issued.key_pem


def test_validate_pair_rsa_chain_accepted(pki):
    # GIVEN an RSA leaf with its issuer
    issued = pki.issue(key_type="rsa")
    # WHEN / THEN
    pair = validate_pair(CERT_NAME, issued.chain_pem, issued.key_pem, now=NOW)
    assert pair.chain_length >= 2 and pair.leaf.key_algorithm == "RSA"


def test_validate_pair_leaf_alone_is_refused(pki):
    # GIVEN a fullchain.pem holding the leaf without its issuer
    issued = pki.issue(key_type="rsa")
    from cryptography.hazmat.primitives import serialization

    leaf_pem = issued.leaf.public_bytes(serialization.Encoding.PEM)
    # WHEN
    with pytest.raises(ChainOrderError) as caught:
        validate_pair(CERT_NAME, leaf_pem, issued.key_pem, now=NOW)
    # THEN it is refused (not retryable) naming the file and the missing issuer
    assert caught.value.file == "fullchain.pem" and caught.value.retryable is False
    assert "holds only the leaf certificate" in str(caught.value) and "must follow it" in str(caught.value)


def test_validate_pair_key_of_other_renewal_retryable_mismatch(pki, issued):
    # GIVEN the new key next to the old certificate (mid-renewal)
    newer = pki.issue()
    # WHEN
    with pytest.raises(KeyMismatchError) as caught:
        validate_pair(CERT_NAME, issued.chain_pem, newer.key_pem, now=NOW)
    # THEN it is retryable and quotes no key material
    assert caught.value.retryable is True
    assert "PRIVATE" not in str(caught.value)
    assert newer.key_pem.decode().splitlines()[1] not in str(caught.value)


def test_validate_pair_reversed_chain_order_error(issued):
    # GIVEN intermediate first, leaf last
    from cryptography.hazmat.primitives import serialization

    reversed_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in reversed(issued.chain))
    # WHEN / THEN the signature check fails, naming the positions
    with pytest.raises(ChainOrderError, match="certificate 0 .* is not issued by certificate 1"):
        validate_pair(CERT_NAME, reversed_pem, issued.key_pem, now=NOW)


def test_validate_pair_chain_with_foreign_intermediate_order_error(issued):
    # GIVEN a leaf followed by another PKI's intermediate with the same name
    from cryptography.hazmat.primitives import serialization

    impostor = TinyPKI().intermediate.cert
    pem = serialization.Encoding.PEM
    chain = issued.leaf.public_bytes(pem) + impostor.public_bytes(pem)
    # WHEN / THEN names match but the signature does not
    with pytest.raises(ChainOrderError):
        validate_pair(CERT_NAME, chain, issued.key_pem, now=NOW)


def test_validate_pair_expired_leaf_rejected(pki):
    # GIVEN a leaf that expired yesterday
    old = pki.issue(not_after=NOW - dt.timedelta(days=1))
    # WHEN / THEN
    with pytest.raises(CertificateExpiredError, match="expired at"):
        validate_pair(CERT_NAME, old.chain_pem, old.key_pem, now=NOW)


@pytest.mark.parametrize("chain", [b"garbage", b"", b"-----BEGIN CERTIFICATE-----\nnot base64\n"])
def test_validate_pair_garbage_chain_names_file(issued, chain):
    # GIVEN a chain file that is not PEM
    with pytest.raises(InvalidCertificateError) as caught:
        validate_pair(CERT_NAME, chain, issued.key_pem, now=NOW)
    # THEN
    assert caught.value.file == "fullchain.pem"


@pytest.mark.parametrize(
    "key",
    [
        b"garbage",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"\xff\xfe-----BEGIN PRIVATE KEY-----",
    ],
)
def test_validate_pair_garbage_key_names_file_without_content(issued, key):
    # GIVEN a key file that does not parse
    with pytest.raises(InvalidCertificateError) as caught:
        validate_pair(CERT_NAME, issued.chain_pem, key, now=NOW)
    # THEN the file is named, no content quoted, and no parser error chained
    assert caught.value.file == "privkey.pem"
    assert "AAAA" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_validate_pair_encrypted_key_rejected(issued):
    # GIVEN a password-protected key
    with pytest.raises(InvalidCertificateError, match="encrypted"):
        validate_pair(CERT_NAME, issued.chain_pem, key_pem(issued.key, b"pw"), now=NOW)


def test_validate_pair_private_key_inside_chain_rejected(issued):
    # GIVEN a chain file with the key appended (it would be published as a certificate)
    with pytest.raises(InvalidCertificateError, match="holds a private key"):
        validate_pair(CERT_NAME, issued.chain_pem + issued.key_pem, issued.key_pem, now=NOW)


def test_describe_without_san_has_no_names(pki):
    # GIVEN a certificate without subjectAltName
    issued = pki.issue(names=(), common_name="bare.example")
    # WHEN / THEN
    info = describe(issued.leaf)
    assert info.names == () and info.common_name == "bare.example"
