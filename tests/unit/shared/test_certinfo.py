"""shared.certinfo and shared.certpair: the certificate facts XC's `infos[]` shows, and the pair's S3 keys."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from shared import certpair
from shared.certinfo import key_algorithm, name_attribute, spki


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RSA"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ECDSA"),
        (ed25519.Ed25519PrivateKey.generate, "Ed25519"),
        (ed448.Ed448PrivateKey.generate, "Ed448"),
        (lambda: dsa.generate_private_key(key_size=1024), "DSA"),
    ],
)
def test_key_algorithm_names_each_family_as_xc_does(make: Any, expected: str) -> None:
    # GIVEN a public key of each family WHEN naming it THEN it gets XC's name
    assert key_algorithm(make().public_key()) == expected


def test_spki_matches_a_key_with_its_own_public_half_only() -> None:
    # GIVEN two keys
    one, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    # THEN the DER SubjectPublicKeyInfo tells them apart and is stable for one key
    assert spki(one.public_key()) == spki(one.public_key())
    assert spki(one.public_key()) != spki(other.public_key())
    assert spki(one.public_key()).startswith(b"\x30")  # a DER SEQUENCE


def test_name_attribute_first_value_or_empty() -> None:
    # GIVEN a name with two organizations and no common name
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "First Org"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Second Org"),
        ]
    )
    # THEN the first organization is read, and a missing attribute reads as ""
    assert name_attribute(name, NameOID.ORGANIZATION_NAME) == "First Org"
    assert name_attribute(name, NameOID.COMMON_NAME) == ""


def test_certpair_keys_are_the_two_files_under_the_certificate_name() -> None:
    # GIVEN a certificate name THEN its pair lives at <name>/fullchain.pem and <name>/privkey.pem
    assert certpair.chain_key("lab-sec-wildcard") == "lab-sec-wildcard/fullchain.pem"
    assert certpair.key_key("lab-sec-wildcard") == "lab-sec-wildcard/privkey.pem"
    assert certpair.PAIR_FILES == (certpair.CHAIN_FILE, certpair.KEY_FILE)
