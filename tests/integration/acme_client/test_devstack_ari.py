"""devstack's renewalInfo proxy in front of Pebble, and acme_client's plain-GET CA reader against it."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from cryptography import x509

from acme_client import certs
from acme_client.ari import HttpCaReader
from acme_client.errors import AcmeProblemError, CaUnavailableError
from devstack.ari import AriProxy, cert_id

pytestmark = pytest.mark.integration


def test_ari_proxy_directory_adds_renewal_info_and_points_everything_at_the_proxy(ari_proxy):
    directory = HttpCaReader(verify=ari_proxy.ca_bundle_path, timeout=5).directory(ari_proxy.directory_url)
    base = ari_proxy.directory_url.rsplit("/", 1)[0]
    assert directory["renewalInfo"] == f"{base}/renewal-info"
    for name in ("newNonce", "newAccount", "newOrder"):
        assert str(directory[name]).startswith(base + "/")


def test_ari_proxy_unknown_certificate_is_404_and_a_paused_proxy_refuses_connections(ari_proxy):
    reader = HttpCaReader(verify=ari_proxy.ca_bundle_path, timeout=5)
    with pytest.raises(AcmeProblemError) as caught:
        reader.renewal_info(ari_proxy.directory_url.replace("/dir", "/renewal-info/AAAA.AQ"))
    assert caught.value.status == 404
    ari_proxy.pause()
    with pytest.raises(CaUnavailableError):
        reader.directory(ari_proxy.directory_url)
    ari_proxy.resume()
    assert "newOrder" in reader.directory(ari_proxy.directory_url)


def test_ari_proxy_injected_new_order_fault_carries_a_fresh_nonce(ari_proxy):
    ari_proxy.fail_new_order(429, "rateLimited", "too many", retry_after="120")
    options = {
        "verify": ari_proxy.ca_bundle_path,
        "timeout": 5,
        "headers": {"Content-Type": "application/jose+json"},
    }
    directory = requests.get(ari_proxy.directory_url, verify=ari_proxy.ca_bundle_path, timeout=5).json()
    order_url = directory["newOrder"]
    response = requests.post(order_url, data=b"{}", **options)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "120"
    assert response.headers["Replay-Nonce"]
    assert response.json()["type"] == "urn:ietf:params:acme:error:rateLimited"
    # the fault was for one request only: the next one reaches Pebble (which refuses the unsigned body)
    assert requests.post(order_url, data=b"{}", **options).status_code == 400


def test_ari_proxy_cert_id_matches_acme_client_and_default_window_is_late_in_the_lifetime(
    acme_env_factory, ari_proxy
):
    # GIVEN a certificate issued through the proxy
    from tests.integration.acme_client.test_ari import _invoke

    acme_env = acme_env_factory(ari_proxy)
    assert _invoke()["body"]["action"] == "issued"
    leaf = x509.load_pem_x509_certificates(acme_env.get("lab-mcn-wildcard/fullchain.pem"))[0]
    # THEN both sides compute the same RFC 9773 certID, and the window sits at 2/3..3/4 of the lifetime
    assert cert_id(leaf) == certs.ari_cert_id(leaf)
    reader = HttpCaReader(verify=ari_proxy.ca_bundle_path, timeout=5)
    url = ari_proxy.directory_url.replace("/dir", f"/renewal-info/{cert_id(leaf)}")
    doc, retry_after = reader.renewal_info(url)
    start = dt.datetime.fromisoformat(doc["suggestedWindow"]["start"])
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert abs(start - (leaf.not_valid_before_utc + lifetime * 2 / 3)) < dt.timedelta(seconds=1)
    assert retry_after == "21600"


def test_ari_proxy_stops_cleanly(pebble):
    proxy = AriProxy(pebble).start()
    url = proxy.directory_url
    proxy.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, verify=pebble.ca_bundle_path, timeout=2)
