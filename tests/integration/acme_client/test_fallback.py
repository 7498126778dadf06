"""Fallback to a second CA, end to end: lambda_handler with two Pebble instances (each its own roots), the
first one down, rate-limiting or refusing the names; real DNS-01 through the devstack DNS server.

The first CA is either devstack's proxy in front of `pebble` (which can refuse connections or answer
newOrder with 429) or `pebble_blocking`, whose policy refuses the names; the second is `pebble_fallback`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography import x509

import acme_client.core
from acme_client.errors import CaUnavailableError, ValidationFailedError
from devstack.ari import AriProxy
from devstack.pebble import Pebble
from shared.errors import ConfigError
from tests.fixtures.acme import CERT_NAME, EAB_HMAC_KEY, EAB_KID, combined_bundle
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import StubContext

pytestmark = pytest.mark.integration

FULLCHAIN = f"{CERT_NAME}/fullchain.pem"
METADATA = f"_acme/certs/{CERT_NAME}.json"
STATE = f"_acme/state/{CERT_NAME}.json"


def _invoke(event: str = "acme_client_schedule") -> Any:
    from acme_client.function import lambda_handler

    context = StubContext(function_name="tops-acme-client-mcn", timeout_s=180)
    return lambda_handler(load_event(event), cast(Any, context))


def _issuer(acme_env: Any, *cas: Pebble) -> Pebble:
    """Which of `cas` signed the published chain (by signature up to the CA's root)."""
    chain = x509.load_pem_x509_certificates(acme_env.get(FULLCHAIN))
    for ca in cas:
        for pem in ca.roots():
            root = x509.load_pem_x509_certificate(pem.encode())
            try:
                chain[-1].verify_directly_issued_by(root)
            except Exception:  # noqa: BLE001 - not this CA's root
                continue
            return ca
    raise AssertionError("the published chain belongs to none of the CAs")


def _metadata(acme_env: Any) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(acme_env.get(METADATA)))


def _state(acme_env: Any) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(acme_env.get(STATE)))


def _accounts(acme_env: Any) -> list[str]:
    return [key for key in acme_env.objects() if key.startswith("_acme/accounts/")]


def _two_cas(
    acme_env_factory: Any, tmp_path: Path, first: Pebble | AriProxy, second: Pebble | AriProxy, **extra: str
) -> Any:
    return acme_env_factory(
        first,
        ACME_FALLBACK_DIRECTORY_URLS=second.directory_url,
        ACME_CA_BUNDLE=combined_bundle(tmp_path, first, second),
        **extra,
    )


def test_fallback_first_ca_down_issues_at_the_second_then_prefers_the_first_again(
    acme_env_factory, tmp_path, ari_proxy, pebble, pebble_fallback
):
    # GIVEN a first CA that refuses connections and a working second CA
    acme_env = _two_cas(acme_env_factory, tmp_path, ari_proxy, pebble_fallback)
    ari_proxy.pause()
    # WHEN the scheduled run comes
    response = _invoke()
    # THEN the second CA issued, and the published certificate and its metadata say so
    assert response["body"]["action"] == "issued"
    assert response["body"]["ca"] == pebble_fallback.directory_url
    assert _issuer(acme_env, pebble, pebble_fallback) is pebble_fallback
    assert _metadata(acme_env)["directory"] == pebble_fallback.directory_url
    assert _metadata(acme_env)["ca_position"] == 1
    assert acme_env.txt_values() == []
    # AND when the first CA is back, the next renewal goes to it again, without `replaces` (the
    # predecessor belongs to the other CA)
    ari_proxy.resume()
    response = _invoke("acme_client_force")
    assert response["body"]["action"] == "renewed"
    assert response["body"]["ca"] == ari_proxy.directory_url
    assert _issuer(acme_env, pebble, pebble_fallback) is pebble
    assert _metadata(acme_env)["ca_position"] == 0
    assert [order.get("replaces") for order in ari_proxy.orders] == [None]


def test_fallback_first_ca_rate_limited_is_left_alone_until_its_retry_after(
    acme_env_factory, tmp_path, ari_proxy, pebble, pebble_fallback, monkeypatch
):
    # GIVEN a first CA answering newOrder with 429 rateLimited and Retry-After one hour
    acme_env = _two_cas(acme_env_factory, tmp_path, ari_proxy, pebble_fallback)
    ari_proxy.fail_new_order(429, "rateLimited", "too many new orders recently", retry_after="3600")
    started = dt.datetime.now(dt.UTC)
    # WHEN the scheduled run comes THEN the second CA issues and the first CA's wait is recorded
    response = _invoke()
    assert response["body"]["ca"] == pebble_fallback.directory_url
    assert _issuer(acme_env, pebble, pebble_fallback) is pebble_fallback
    wait = dt.datetime.fromisoformat(_state(acme_env)["ca_not_before"][ari_proxy.directory_url])
    assert started + dt.timedelta(minutes=59) <= wait <= started + dt.timedelta(minutes=61)
    assert _state(acme_env)["failures"] == 0  # the run succeeded
    # AND a renewal within that hour does not even contact the first CA
    contacted = len(ari_proxy.exchanges)
    assert _invoke("acme_client_force")["body"]["ca"] == pebble_fallback.directory_url
    assert len(ari_proxy.exchanges) == contacted
    # AND once the hour is over the first CA is preferred again
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, minutes=5)
    monkeypatch.setattr(acme_client.core, "_utcnow", lambda: later)
    response = _invoke("acme_client_force")
    assert response["body"]["ca"] == ari_proxy.directory_url
    assert _issuer(acme_env, pebble, pebble_fallback) is pebble
    assert ari_proxy.directory_url not in _state(acme_env)["ca_not_before"]


def test_fallback_first_ca_refusing_the_names_issues_at_the_second(
    acme_env_factory, tmp_path, pebble_blocking, pebble_fallback
):
    # GIVEN a first CA whose policy refuses the names (newOrder: rejectedIdentifier)
    acme_env = _two_cas(acme_env_factory, tmp_path, pebble_blocking, pebble_fallback)
    # WHEN the scheduled run comes THEN the second CA issues
    response = _invoke()
    assert response["body"]["action"] == "issued"
    assert _issuer(acme_env, pebble_blocking, pebble_fallback) is pebble_fallback
    assert _metadata(acme_env)["directory"] == pebble_fallback.directory_url
    assert len(_accounts(acme_env)) == 2  # one account per CA


def test_fallback_not_taken_when_validation_fails(
    acme_env_factory, tmp_path, pebble, pebble_fallback, monkeypatch
):
    # GIVEN a TXT value tampered with before the first CA validates (the second would fail the same way)
    acme_env = _two_cas(acme_env_factory, tmp_path, pebble, pebble_fallback)
    import acme_client.issue

    original = acme_client.issue.AcmeSession.answer

    def tampered(self: Any, challb: Any) -> None:
        acme_env.put_txt("tampered-value", ttl=10)
        original(self, challb)

    monkeypatch.setattr(acme_client.issue.AcmeSession, "answer", tampered)
    # WHEN running THEN the failure is raised, the second CA never saw us, and the backoff started
    with pytest.raises(ValidationFailedError):
        _invoke()
    assert len(_accounts(acme_env)) == 1
    assert _state(acme_env)["failures"] == 1


def test_fallback_every_ca_down_raises_without_backoff(
    acme_env_factory, tmp_path, ari_proxy, pebble_fallback
):
    # GIVEN both CAs unreachable (a second proxy, over the other Pebble, refusing connections too)
    with AriProxy(pebble_fallback) as down:
        down.pause()
        acme_env = _two_cas(acme_env_factory, tmp_path, ari_proxy, down)
        ari_proxy.pause()
        # WHEN running THEN it fails, naming both CAs, and as nothing was spent there is no backoff
        with pytest.raises(CaUnavailableError):
            _invoke()
        state = _state(acme_env)
        assert state["failures"] == 0 and state["retry_not_before"] is None
        assert ari_proxy.directory_url in state["last_error"] and down.directory_url in state["last_error"]
        # AND as soon as the first CA is back, the next scheduled run issues
        ari_proxy.resume()
        assert _invoke()["body"]["action"] == "issued"


def test_fallback_from_production_to_staging_is_a_configuration_error(acme_env_factory, pebble, monkeypatch):
    acme_env_factory(pebble, ACME_FALLBACK_DIRECTORY_URLS="staging")
    with pytest.raises(ConfigError, match="ACME_FALLBACK_DIRECTORY_URLS"):
        _invoke()
    monkeypatch.setenv("ACME_DIRECTORY_URL", "production")
    monkeypatch.setenv("ACME_FALLBACK_DIRECTORY_URLS", "https://127.0.0.1:1/staging/dir")
    with pytest.raises(ConfigError, match="staging"):
        _invoke()


def test_fallback_ca_with_eab_uses_its_own_binding(acme_env_factory, tmp_path, ari_proxy, pebble_eab, pebble):
    # GIVEN a first CA that is down and a second CA that requires EAB, configured for it only
    acme_env = _two_cas(
        acme_env_factory,
        tmp_path,
        ari_proxy,
        pebble_eab,
        ACME_FALLBACK_EAB_KID_1=EAB_KID,
        ACME_FALLBACK_EAB_HMAC_KEY_1=EAB_HMAC_KEY,
    )
    ari_proxy.pause()
    # WHEN running THEN the second CA registers the account with its binding and issues
    response = _invoke()
    assert response["body"]["ca"] == pebble_eab.directory_url
    assert _issuer(acme_env, pebble, pebble_eab) is pebble_eab
    for key in acme_env.objects():
        assert EAB_HMAC_KEY.encode() not in acme_env.get(key)
