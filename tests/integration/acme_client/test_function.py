"""acme_client through `lambda_handler` against Pebble, the devstack DNS server and moto in server mode.

DNS-01 is validated for real: Pebble asks the devstack DNS server for `_acme-challenge.<DOMAIN>`, which
follows the CNAME to CHALLENGE_RECORD and serves the TXT values the worker wrote to Route53.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import pytest
from cryptography import x509

import acme_client.core
import acme_client.dns01
import acme_client.issue
from acme_client import certs
from acme_client.errors import DelegationError, ValidationFailedError
from acme_client.function import lambda_handler
from shared.errors import ConfigError
from tests.fixtures.acme import CERT_NAME, CHALLENGE_RECORD, DOMAIN, EAB_HMAC_KEY, EAB_KID
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import StubContext

pytestmark = pytest.mark.integration

NAMES = [f"*.{DOMAIN}", DOMAIN]
PAIR = (f"{CERT_NAME}/privkey.pem", f"{CERT_NAME}/fullchain.pem")


def _invoke(event: str = "acme_client_schedule") -> Any:
    context = StubContext(function_name="tops-acme-client-mcn", timeout_s=180)
    return lambda_handler(load_event(event), cast(Any, context))


def _assert_published_pair(acme_env: Any) -> x509.Certificate:
    chain = x509.load_pem_x509_certificates(acme_env.get(f"{CERT_NAME}/fullchain.pem"))
    key = certs.load_key(acme_env.get(f"{CERT_NAME}/privkey.pem"))
    assert certs.same_public_key(key, chain[0])
    assert sorted(certs.dns_names(chain[0])) == sorted(NAMES)
    assert certs.chain_problem(chain) is None
    roots = [x509.load_pem_x509_certificate(pem.encode()) for pem in acme_env.pebble.roots()]
    top = chain[-1]
    assert any(top.issuer == root.subject for root in roots)
    next(root for root in roots if top.issuer == root.subject)
    top.verify_directly_issued_by(next(root for root in roots if top.issuer == root.subject))
    return chain[0]


def test_lambda_handler_first_run_issues_wildcard_and_apex_through_cname_delegation(acme_env):
    # GIVEN an empty bucket and `_acme-challenge.<DOMAIN>` delegated to CHALLENGE_RECORD
    # WHEN the scheduled event arrives
    response = _invoke()
    # THEN a pair chaining to Pebble's root is published for *.DOMAIN and DOMAIN
    assert response["statusCode"] == 200
    body = response["body"]
    assert body["action"] == "issued"
    assert sorted(body["names"]) == sorted(NAMES)
    leaf = _assert_published_pair(acme_env)
    assert body["serial"] == format(leaf.serial_number, "x")
    # AND the account, metadata and state live outside the cert prefix; no TXT value is left
    keys = set(acme_env.objects())
    assert {k for k in keys if k.startswith(f"{CERT_NAME}/")} == set(PAIR)
    assert f"_acme/certs/{CERT_NAME}.json" in keys
    assert any(k.startswith("_acme/accounts/") for k in keys)
    assert acme_env.txt_values() == []
    metadata = json.loads(acme_env.get(f"_acme/certs/{CERT_NAME}.json"))
    assert metadata["directory"] == acme_env.pebble.directory_url
    assert metadata["fingerprint_sha256"] == certs.fingerprint(leaf)


def test_lambda_handler_second_run_with_valid_certificate_changes_nothing(acme_env):
    _invoke()
    before = acme_env.objects()
    response = _invoke()
    assert response["body"]["action"] == "valid"
    assert response["body"]["days_left"] > 1000  # Pebble's default validity is five years
    after = acme_env.objects()
    assert {k: after[k] for k in PAIR} == {k: before[k] for k in PAIR}


def test_lambda_handler_forced_event_renews_with_a_new_key(acme_env):
    first = _invoke()
    old_key = acme_env.get(PAIR[0])
    response = _invoke("acme_client_force")
    assert response["body"]["action"] == "renewed"
    assert response["body"]["reason"] == "forced by the event"
    assert response["body"]["serial"] != first["body"]["serial"]
    assert acme_env.get(PAIR[0]) != old_key
    _assert_published_pair(acme_env)
    assert acme_env.txt_values() == []


def test_lambda_handler_reuses_the_stored_account(acme_env, monkeypatch):
    # GIVEN a first run that registered the account
    _invoke()
    account_key = next(k for k in acme_env.objects() if k.startswith("_acme/accounts/"))
    stored = acme_env.get(account_key)
    registrations: list[str] = []
    original = acme_client.issue.AcmeSession.register

    def counting(self: Any, *args: Any, **kwargs: Any) -> str:
        registrations.append("new-account")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(acme_client.issue.AcmeSession, "register", counting)
    # WHEN a forced run follows
    response = _invoke("acme_client_force")
    # THEN no newAccount was sent and the stored account (key and URL) is unchanged
    assert response["body"]["action"] == "renewed"
    assert registrations == []
    assert acme_env.get(account_key) == stored
    assert json.loads(stored)["uri"].startswith(acme_env.pebble.directory_url.rsplit("/", 1)[0])


def test_lambda_handler_wrong_cname_target_stops_before_any_ca_call_and_starts_no_backoff(
    acme_env, monkeypatch
):
    # GIVEN the delegation pointing somewhere else
    acme_env.set_cname("lab-app.challenge.f5demos.com")
    orders: list[Any] = []
    original = acme_client.issue.AcmeSession.new_order

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        orders.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(acme_client.issue.AcmeSession, "new_order", counting)
    # WHEN running THEN it fails with a clear error, before any order, and writes nothing under the prefix
    with pytest.raises(DelegationError, match=CHALLENGE_RECORD):
        _invoke()
    assert orders == []
    assert not any(k.startswith(f"{CERT_NAME}/") for k in acme_env.objects())
    assert not any(k.startswith("_acme/accounts/") for k in acme_env.objects())  # no newAccount either
    assert acme_env.txt_values() == []
    # AND the error cost nothing at the CA, so it starts no backoff: once fixed, the next run issues
    state = json.loads(acme_env.get(f"_acme/state/{CERT_NAME}.json"))
    assert state["failures"] == 0 and state["retry_not_before"] is None
    acme_env.set_cname(CHALLENGE_RECORD)
    assert _invoke()["body"]["action"] == "issued"


def _tamper_before_answering(acme_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the challenge TXT set with a foreign value just before the CA is told to look."""
    original = acme_client.issue.AcmeSession.answer

    def tampered(self: Any, challb: Any) -> None:
        acme_env.put_txt("tampered-value", ttl=10)
        original(self, challb)

    monkeypatch.setattr(acme_client.issue.AcmeSession, "answer", tampered)


def test_lambda_handler_failing_challenge_without_certificate_raises_and_writes_nothing(
    acme_env, monkeypatch
):
    # GIVEN a TXT value tampered with before Pebble validates
    _tamper_before_answering(acme_env, monkeypatch)
    # WHEN running THEN real validation fails, nothing is published, and none of our values remain
    with pytest.raises(ValidationFailedError):
        _invoke()
    assert not any(k.startswith(f"{CERT_NAME}/") for k in acme_env.objects())
    assert acme_env.txt_values() == ['"tampered-value"']  # the foreign value is not ours to remove
    state = json.loads(acme_env.get(f"_acme/state/{CERT_NAME}.json"))
    assert state["failures"] == 1


def test_lambda_handler_failing_renewal_keeps_the_valid_pair_and_reports_failed(acme_env, monkeypatch):
    # GIVEN a published certificate
    _invoke()
    before = acme_env.objects()
    _tamper_before_answering(acme_env, monkeypatch)
    # WHEN a forced renewal fails validation
    response = _invoke("acme_client_force")
    # THEN the run reports failed without raising and the pair is exactly as before
    assert response["statusCode"] == 500
    assert response["body"]["action"] == "failed"
    assert "ValidationFailedError" in response["body"]["reason"]
    after = acme_env.objects()
    assert {k: after[k] for k in PAIR} == {k: before[k] for k in PAIR}


def test_lambda_handler_survives_pebble_nonce_rejection(acme_env_factory, pebble_nonce):
    # GIVEN Pebble rejecting 30 % of good nonces
    acme_env = acme_env_factory(pebble_nonce)
    # WHEN issuing and then renewing THEN both succeed thanks to the bounded badNonce retry
    assert _invoke()["body"]["action"] == "issued"
    assert _invoke("acme_client_force")["body"]["action"] == "renewed"
    _assert_published_pair(acme_env)


def test_lambda_handler_short_lived_certificate_is_renewed_at_half_its_life(
    acme_env_factory, pebble_short_lived, monkeypatch
):
    # GIVEN a 10-second certificate (under 10 days: renew with half of the lifetime left)
    acme_env = acme_env_factory(pebble_short_lived)
    first = _invoke()
    assert first["body"]["action"] == "issued"
    assert _invoke()["body"]["action"] == "valid"
    # WHEN the run's clock is just past half of its life (the injected clock: no real sleep)
    leaf = x509.load_pem_x509_certificates(acme_env.get(PAIR[1]))[0]
    half = leaf.not_valid_before_utc + (leaf.not_valid_after_utc - leaf.not_valid_before_utc) / 2
    monkeypatch.setattr(acme_client.core, "_utcnow", lambda: half + dt.timedelta(seconds=0.5))
    # THEN the scheduled run renews it by the lifetime rule
    response = _invoke()
    assert response["body"]["action"] == "renewed"
    assert "under the renewal threshold" in response["body"]["reason"]


def test_lambda_handler_reused_authorizations_need_no_dns01(acme_env_factory, pebble_reuse, monkeypatch):
    # GIVEN a CA that reuses valid authorizations and a first issuance that validated both names
    acme_env_factory(pebble_reuse)
    assert _invoke()["body"]["action"] == "issued"
    added: list[Any] = []
    original = acme_client.dns01.TxtRecords.add

    def counting(self: Any, values: Any, deadline: Any) -> Any:
        added.append(list(values))
        return original(self, values, deadline)

    monkeypatch.setattr(acme_client.dns01.TxtRecords, "add", counting)
    # WHEN renewing THEN both authorizations are skipped: no TXT written, nothing answered
    assert _invoke("acme_client_force")["body"]["action"] == "renewed"
    assert added == []


def test_lambda_handler_external_account_binding(acme_env_factory, pebble_eab, monkeypatch):
    # GIVEN a CA that requires EAB and no EAB configured
    acme_env_factory(pebble_eab)
    # WHEN running THEN the error says which settings are missing
    with pytest.raises(ConfigError, match="ACME_EAB_KID"):
        _invoke()
    # AND with the binding configured, the account is created and the certificate issued
    monkeypatch.setenv("ACME_EAB_KID", EAB_KID)
    monkeypatch.setenv("ACME_EAB_HMAC_KEY", EAB_HMAC_KEY)
    assert _invoke("acme_client_force")["body"]["action"] == "issued"
