"""ns_remove through its handler: SSM in moto, the devstack XC emulator over real sockets."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from devstack.xc import XCServer
from ns_remove.function import lambda_handler
from tests.fixtures.clock import FakeClock
from tests.fixtures.direct import CanaryCheck, assert_refused_before_any_call, assert_token_rejected
from tests.fixtures.events import load_event
from tests.fixtures.xc import use_token, watched

pytestmark = pytest.mark.integration

NAME = "ample-gull"
CASCADE_PATH = rf"^/api/web/namespaces/{NAME}/cascade_delete$"


def _seed_lab(server: XCServer) -> None:
    """A lab namespace holding an origin pool and a load balancer, as a lab helper leaves it."""
    server.state.create_namespace({"metadata": {"name": NAME}})
    server.state.create_object(
        NAME,
        "origin_pools",
        {
            "metadata": {"name": f"{NAME}-origin"},
            "spec": {"origin_servers": [{"public_name": {"dns_name": "appedge.one"}}], "port": 443},
        },
    )
    server.state.create_object(
        NAME,
        "http_loadbalancers",
        {
            "metadata": {"name": f"{NAME}-lb"},
            "spec": {
                "domains": [f"{NAME}.lab-sec.f5demos.com"],
                "default_route_pools": [{"pool": {"namespace": NAME, "name": f"{NAME}-origin"}}],
            },
        },
    )


def _namespaces(server: XCServer) -> list[str]:
    return [item["name"] for item in server.state.list_namespaces()["items"]]


def test_handler_namespace_and_objects_are_removed_and_reported(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a lab namespace with a pool and a load balancer
    _seed_lab(xc_tenant)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    # THEN everything is gone and each deleted object is reported
    assert result["statusCode"] == 200
    body = result["body"]
    assert body["removed"] is True
    assert {(o["name"], o["type"]) for o in body["deleted"]} == {
        (f"{NAME}-origin", "origin_pool"),
        (f"{NAME}-lb", "http_loadbalancer"),
        (NAME, "namespace"),
    }
    assert body["deleted_count"] == 3
    assert NAME not in _namespaces(xc_tenant)


def test_handler_invoked_twice_succeeds_twice(xc_tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN the same event delivered twice
    _seed_lab(xc_tenant)
    first = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    second = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    # THEN both succeed: the first removed it, the second found it gone
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert (first["body"]["state"], second["body"]["state"]) == ("removed", "absent")
    assert NAME not in _namespaces(xc_tenant)


def test_handler_missing_namespace_is_success(xc_tenant: XCServer, lambda_context: Any) -> None:
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    assert result["statusCode"] == 200
    assert result["body"] == {
        "namespace": NAME,
        "owner": None,
        "removed": False,
        "state": "absent",
        "reason": "",
        "deleted": [],
        "deleted_count": 0,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"namespace_name": "system"}, "namespace_name"),
        ({"namespace_name": "-bad"}, "namespace_name"),
        ({"ssm_base_path": None}, "ssm_base_path"),
    ],
)
def test_handler_bad_payload_fails_naming_the_field_before_any_call(
    xc_tenant: XCServer, lambda_context: Any, changes: dict[str, Any], field: str
) -> None:
    result = lambda_handler({**load_event("ns_remove_basic"), **changes}, lambda_context)
    assert_refused_before_any_call(result, field, xc_tenant)
    assert "system" in _namespaces(xc_tenant)


def test_handler_rate_limit_and_unavailable_bursts_are_absorbed(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a 429 and two 503s before the cascade delete is served
    _seed_lab(xc_tenant)
    xc_tenant.faults.add("POST", CASCADE_PATH, [429, 503, 503], retry_after=0)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    # THEN the burst is absorbed and the namespace removed
    assert result["statusCode"] == 200
    assert result["body"]["removed"] is True
    assert [r.status for r in xc_tenant.requests()] == [429, 503, 503, 200]


def test_handler_unknown_token_fails_clearly(ssm: Any, xc_tenant: XCServer, lambda_context: Any) -> None:
    _seed_lab(xc_tenant)
    use_token(ssm, xc_tenant, "not-a-known-token-123456", known=False)
    assert_token_rejected(lambda_handler(load_event("ns_remove_basic"), lambda_context))
    assert NAME in _namespaces(xc_tenant)


def test_handler_delete_already_running_waits_for_it(
    xc_clocked_tenant: XCServer, clock: FakeClock, lambda_context: Any
) -> None:
    # GIVEN another cascade delete of the namespace, held open by the tenant until the handler has been
    # answered 409 for its own delete (then it ends)
    tenant = xc_clocked_tenant
    _seed_lab(tenant)
    tenant.state.configure(cascade_delete_delay_ms=800)
    watched(tenant).on("POST", CASCADE_PATH, 409, clock.release)
    clock.hold()
    other = threading.Thread(target=tenant.state.cascade_delete_namespace, args=(NAME,))
    other.start()
    assert clock.holding.wait(30), "the other delete never started"
    # WHEN the handler runs meanwhile
    try:
        result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    finally:
        clock.release()
        other.join(30)
    # THEN it waits for that delete to finish and reports the namespace absent (it deleted nothing)
    assert result["statusCode"] == 200
    assert result["body"]["state"] == "absent"
    assert NAME not in _namespaces(tenant)
    assert tenant.requests()[0].status == 409
    assert clock.slept == [0.8]  # the other delete ran its whole course


def test_handler_canary_token_never_reaches_a_log_line(
    xc_tenant: XCServer, canary_check: CanaryCheck
) -> None:
    # GIVEN a canary token the tenant accepts, DEBUG logging, and a retried call
    _seed_lab(xc_tenant)
    xc_tenant.faults.add("POST", CASCADE_PATH, 503, retry_after=0)
    # WHEN the handler removes the namespace, then runs again with a bad token
    # THEN DEBUG lines were written and none holds the canary
    event = load_event("ns_remove_basic")
    canary_check("ns_remove", lambda_handler, [event], event)
