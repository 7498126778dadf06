"""ACME Renewal Information end to end: lambda_handler against devstack's renewalInfo proxy in front of
Pebble, with real DNS-01 through the devstack DNS server and moto in server mode.

The proxy answers renewalInfo from the certificates it served (window settable by the test), records
every request, and enforces `replaces` as Let's Encrypt does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography import x509

from devstack.ari import AriProxy, cert_id
from shared import aws
from tests.fixtures.acme import CERT_NAME
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import StubContext

pytestmark = pytest.mark.integration

FULLCHAIN = f"{CERT_NAME}/fullchain.pem"


def _invoke(event: str = "acme_client_schedule") -> Any:
    from acme_client.function import lambda_handler

    context = StubContext(function_name="tops-acme-client-mcn", timeout_s=180)
    return lambda_handler(load_event(event), cast(Any, context))


def _leaf(acme_env: Any) -> x509.Certificate:
    return x509.load_pem_x509_certificates(acme_env.get(FULLCHAIN))[0]


def _state(acme_env: Any) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(acme_env.get(f"_acme/state/{CERT_NAME}.json")))


def _issue(acme_env_factory: Any, ari_proxy: AriProxy) -> tuple[Any, x509.Certificate]:
    acme_env = acme_env_factory(ari_proxy)
    assert _invoke()["body"]["action"] == "issued"
    return acme_env, _leaf(acme_env)


def _s3_calls() -> list[str]:
    """Operation names of every S3 call the handler's (memoized) client makes from now on."""
    calls: list[str] = []
    aws.client("s3").meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


def test_ari_freshly_issued_certificate_is_asked_about_then_kept_cheaply(acme_env_factory, ari_proxy):
    # GIVEN a certificate just issued through a CA that offers ARI
    acme_env, leaf = _issue(acme_env_factory, ari_proxy)
    before = len(ari_proxy.exchanges)
    s3_calls = _s3_calls()
    # WHEN the next scheduled run comes
    response = _invoke()
    # THEN it asks ARI about the new certificate (its certID), keeps it, and remembers the answer
    assert response["body"]["action"] == "valid"
    assert "ARI window" in response["body"]["reason"]
    assert ari_proxy.renewal_info_requests == [cert_id(leaf)]
    assert _state(acme_env)["ari"]["cert_id"] == cert_id(leaf)
    # AND that run cost two unauthenticated GETs at the CA, four S3 reads and the state write
    asked = [(e.method, e.path) for e in ari_proxy.exchanges[before:]]
    assert asked == [("GET", "/dir"), ("GET", f"/renewal-info/{cert_id(leaf)}")]
    assert sorted(s3_calls) == ["GetObject"] * 4 + ["PutObject"]
    # AND a run before the CA's Retry-After (6 h) asks nothing at all
    before = len(ari_proxy.exchanges)
    assert _invoke()["body"]["action"] == "valid"
    assert ari_proxy.exchanges[before:] == []


def test_ari_window_in_the_future_keeps_the_certificate(acme_env_factory, ari_proxy):
    acme_env, leaf = _issue(acme_env_factory, ari_proxy)
    now = dt.datetime.now(dt.UTC)
    ari_proxy.set_window(now + dt.timedelta(days=30), now + dt.timedelta(days=32))
    orders = len(ari_proxy.orders)
    response = _invoke()
    assert response["body"]["action"] == "valid"
    assert response["body"]["serial"] == format(leaf.serial_number, "x")
    assert len(ari_proxy.orders) == orders
    renew_at = dt.datetime.fromisoformat(_state(acme_env)["ari"]["renew_at"])
    assert now + dt.timedelta(days=30) <= renew_at <= now + dt.timedelta(days=32)


def test_ari_window_in_the_past_renews_with_replaces(acme_env_factory, ari_proxy):
    # GIVEN a young certificate whose window the CA moved into the past (as before a mass revocation)
    acme_env, leaf = _issue(acme_env_factory, ari_proxy)
    now = dt.datetime.now(dt.UTC)
    ari_proxy.set_window(now - dt.timedelta(days=2), now - dt.timedelta(days=1), cert_id=cert_id(leaf))
    # WHEN the scheduled run comes
    response = _invoke()
    # THEN it renews, naming its predecessor in the order, and the CA took it as the replacement
    assert response["body"]["action"] == "renewed"
    assert "ARI window" in response["body"]["reason"]
    assert ari_proxy.orders[-1]["replaces"] == cert_id(leaf)
    assert ari_proxy.certificates[cert_id(leaf)].replaced
    new_leaf = _leaf(acme_env)
    assert new_leaf.serial_number != leaf.serial_number
    metadata = json.loads(acme_env.get(f"_acme/certs/{CERT_NAME}.json"))
    assert metadata["replaces"] == cert_id(leaf)
    # AND the next run asks about the new certificate, whose own window is far away
    assert _invoke()["body"]["action"] == "valid"
    assert ari_proxy.renewal_info_requests[-1] == cert_id(new_leaf)


def test_ari_already_replaced_predecessor_is_ordered_again_without_replaces(acme_env_factory, ari_proxy):
    # GIVEN a certificate the CA considers replaced already (an earlier order, e.g. of a killed run)
    acme_env, leaf = _issue(acme_env_factory, ari_proxy)
    ari_proxy.mark_replaced(cert_id(leaf))
    now = dt.datetime.now(dt.UTC)
    ari_proxy.set_window(now - dt.timedelta(days=2), now - dt.timedelta(days=1))
    orders = len(ari_proxy.orders)
    # WHEN renewing in the window
    response = _invoke()
    # THEN the order with replaces got 409 alreadyReplaced, and one order without it was placed
    assert response["body"]["action"] == "renewed"
    sent = ari_proxy.orders[orders:]
    assert [order.get("replaces") for order in sent] == [cert_id(leaf), None]
    assert [e.status for e in ari_proxy.exchanges if e.path == "/order-plz"][-2:] == [409, 201]
    assert json.loads(acme_env.get(f"_acme/certs/{CERT_NAME}.json"))["replaces"] is None


def test_ari_unknown_certificate_falls_back_to_the_lifetime_rule(
    acme_env_factory, ari_proxy, pebble, monkeypatch
):
    # GIVEN a certificate the CA's ARI does not know and no metadata (as for a pair from before the
    # metadata existed), with the function now pointed at the ARI-capable directory
    acme_env = acme_env_factory(pebble)
    assert _invoke()["body"]["action"] == "issued"
    acme_env.s3.delete_object(Bucket="tops-cert-bucket", Key=f"_acme/certs/{CERT_NAME}.json")
    monkeypatch.setenv("ACME_DIRECTORY_URL", ari_proxy.directory_url)
    # WHEN the scheduled run comes
    response = _invoke()
    # THEN the CA's 404 is recorded, the lifetime rule keeps the certificate, ARI is asked again later
    assert response["body"]["action"] == "valid"
    assert "renewal due at" in response["body"]["reason"]
    assert ari_proxy.renewal_info_requests == [cert_id(_leaf(acme_env))]
    ari = _state(acme_env)["ari"]
    assert ari["error"] and ari["renew_at"] is None


_NOT_DUE_IN_A_FRESH_INTERPRETER = """
import json, sys
from acme_client.function import lambda_handler
from tests.fixtures.lambda_context import StubContext
body = lambda_handler({}, StubContext(function_name="tops-acme-client-mcn", timeout_s=180))["body"]
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"acme", "josepy", "requests", "dns"})
print(json.dumps({"action": body["action"], "heavy": heavy}))
"""


def test_ari_not_due_run_loads_no_acme_library_in_a_cold_interpreter(acme_env_factory, ari_proxy):
    # GIVEN a published certificate that is not due, whose ARI answer must be asked afresh
    _issue(acme_env_factory, ari_proxy)
    before = len(ari_proxy.exchanges)
    root = Path(__file__).resolve().parents[3]
    # WHEN a fresh interpreter (a cold start) runs the schedule
    done = subprocess.run(
        [sys.executable, "-c", _NOT_DUE_IN_A_FRESH_INTERPRETER],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    # THEN it kept the certificate after its two GETs, without importing acme, josepy, requests or dnspython
    assert outcome == {"action": "valid", "heavy": []}
    assert [(e.method, e.path.split("/")[1]) for e in ari_proxy.exchanges[before:]] == [
        ("GET", "dir"),
        ("GET", "renewal-info"),
    ]
