"""devstack's Pebble launcher: TLS the client can verify, the directory, and the issuing roots."""

from __future__ import annotations

import pytest
import requests
from cryptography import x509

from devstack.pebble import Pebble

pytestmark = pytest.mark.integration


def test_pebble_serves_a_directory_verifiable_with_the_generated_ca(pebble: Pebble):
    directory = requests.get(pebble.directory_url, verify=pebble.ca_bundle_path, timeout=5).json()
    assert {"newAccount", "newNonce", "newOrder"} <= set(directory)
    assert "renewalInfo" not in directory  # Pebble 2.4 has no ARI: devstack/ari.py adds it


def test_pebble_roots_are_self_signed_ca_certificates(pebble: Pebble):
    roots = [x509.load_pem_x509_certificate(pem.encode()) for pem in pebble.roots()]
    assert roots
    for root in roots:
        assert root.issuer == root.subject
        root.verify_directly_issued_by(root)
    intermediate = x509.load_pem_x509_certificate(pebble.intermediates()[0].encode())
    assert any(intermediate.issuer == root.subject for root in roots)


def test_pebble_without_trust_is_rejected(pebble: Pebble):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(pebble.directory_url, timeout=5)


def test_pebble_stop_removes_its_files(acme_dns_server):
    server = Pebble(acme_dns_server.address).start()
    bundle = server.ca_bundle_path
    server.stop()
    import os

    assert not os.path.exists(bundle)
