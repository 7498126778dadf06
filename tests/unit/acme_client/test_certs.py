"""Key and certificate helpers: ARI certID, chains verified by signature, key types, staging issuers."""

from __future__ import annotations

import pytest
from acme.client import _renewal_info_path_component

from acme_client import certs
from devstack.pki import TinyPKI, cert_pem, new_key
from tests.fixtures.pki import PINNED_NOW as NOW

NAMES = ["*.lab-mcn.f5demos.com", "lab-mcn.f5demos.com"]


@pytest.fixture(scope="module")
def pki() -> TinyPKI:
    return TinyPKI(now=NOW)


@pytest.mark.parametrize("serial", [1, 0x7F, 0x80, 0xFF, 0x1234ABCD, 2**127 + 5])
def test_ari_cert_id_matches_the_acme_library(pki, serial):
    # GIVEN serials at the sign-bit edges WHEN building the certID THEN it is what certbot's acme builds
    cert, _ = pki.issue(NAMES, serial=serial).pair
    assert certs.ari_cert_id(cert) == _renewal_info_path_component(cert)


def test_ari_cert_id_rfc_9773_example_shape(pki):
    cert, _ = pki.issue(NAMES, serial=0x87654321).pair
    key_id, serial = certs.ari_cert_id(cert).split(".")
    assert "=" not in key_id + serial
    assert serial == "AIdlQyE"  # DER INTEGER content 00 87 65 43 21, base64url, unpadded


def test_ari_cert_id_without_aki_is_none(pki):
    assert certs.ari_cert_id(pki.root.cert) is None


def test_chain_problem_accepts_leaf_then_issuers(pki):
    cert, _ = pki.issue(NAMES).pair
    assert certs.chain_problem([cert, pki.intermediate.cert, pki.root.cert]) is None
    assert certs.chain_problem([cert, pki.intermediate.cert]) is None


def test_chain_problem_names_the_broken_link(pki):
    cert, _ = pki.issue(NAMES).pair
    problem = certs.chain_problem([cert, pki.root.cert])
    assert problem is not None and problem.startswith("certificate 0 is not signed by certificate 1")
    assert certs.chain_problem([pki.intermediate.cert, cert]) is not None


@pytest.mark.parametrize(("key_type"), ["ec256", "ec384", "rsa2048"])
def test_generated_key_type_round_trips(key_type):
    key = certs.generate_key(key_type)
    assert certs.key_type_of(key.public_key()) == key_type
    assert certs.key_type_of(certs.load_key(certs.key_to_pem(key)).public_key()) == key_type


def test_key_type_of_unsupported_size_is_none():
    assert certs.key_type_of(new_key("rsa1024").public_key()) is None


def test_is_staging_issuer_by_issuer_name(pki):
    staging = TinyPKI("(STAGING) Pretend Pear", now=NOW)
    cert, _ = staging.issue(NAMES).pair
    assert certs.is_staging_issuer(cert)
    assert not certs.is_staging_issuer(pki.issue(NAMES).leaf)


def test_dns_names_and_fingerprint(pki):
    cert, key = pki.issue(NAMES).pair
    assert certs.dns_names(cert) == tuple(NAMES)
    assert certs.same_public_key(key, cert)
    assert len(certs.fingerprint(cert)) == 64
    assert certs.load_chain(cert_pem(cert) + cert_pem(pki.intermediate.cert))[0] == cert
