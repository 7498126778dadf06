"""A lab's lambda_handler: its settings, the objects it creates or removes, XC's refusals, secrets.

The policy every directly invoked worker shares (bad input, SSM, 401, retryable and unexpected
errors) is tested once for all of them, the labs included, in tests/unit/test_handler_contract.py.
"""

from __future__ import annotations

import boto3
import pytest

from devstack.xc import InProcessXC
from shared.xc.errors import XCServerError
from tests.fixtures.clock import FakeClock
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import seed_tenant
from tests.fixtures.tenant_clients import route_tenant_clients
from tests.fixtures.xc import XC_TOKEN, namespace_body
from udf_helpers.labs import apilab, botlab

TENANT = "https://tenant.example.com"
TOKEN = "canary-token-udf-helpers-9f8e7d"
NS = "ample-gull"


@pytest.fixture
def tenant(aws_mock, monkeypatch, xc_emulator: InProcessXC, clock: FakeClock) -> InProcessXC:
    """The tenant in SSM is the in-process XC emulator, which accepts only the SSM token: the handler's
    clients reach it through its pool, and their retries sleep on the fake `clock`."""
    monkeypatch.setenv("ENV", "prod")
    seed_tenant(boto3.client("ssm"), TENANT, TOKEN)
    xc_emulator.state.remove_token(XC_TOKEN)
    xc_emulator.state.add_token(TOKEN)
    route_tenant_clients(monkeypatch, xc_emulator, clock)
    return xc_emulator


def test_handler_missing_env_is_a_config_error(lambda_context, monkeypatch):
    monkeypatch.delenv("ENV", raising=False)
    result = apilab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    assert result["statusCode"] == 500
    assert result["body"]["error"] == "ConfigError" and "ENV" in result["body"]["message"]


def test_handler_creates_pool_then_lb_and_returns_200(tenant, lambda_context):
    # GIVEN an empty petname namespace
    tenant.state.create_namespace(namespace_body(NS))
    # WHEN the botlab helper runs
    result = botlab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    # THEN both objects are created, the LB after the pool was seen, with the SSM token (the only one
    # the tenant accepts)
    assert result == {
        "statusCode": 200,
        "body": {
            "lab": "botlab",
            "action": "create",
            "objects": [
                {"type": "origin_pools", "name": "ample-gull-origin", "result": "created"},
                {"type": "http_loadbalancers", "name": "ample-gull-lb", "result": "created"},
            ],
        },
    }
    calls = [(r.method, r.path.rsplit("/", 1)[-1]) for r in tenant.requests()]
    assert calls == [
        ("GET", "ample-gull-origin"),
        ("POST", "origin_pools"),
        ("GET", "ample-gull-origin"),
        ("GET", "ample-gull-lb"),
        ("POST", "http_loadbalancers"),
    ]
    assert [r.status for r in tenant.requests()] == [404, 200, 200, 404, 200]
    lb = tenant.requests()[4].body
    assert lb["spec"]["domains"] == ["ample-gull.lab-sec.f5demos.com"]
    assert tenant.state.object_names(NS, "http_loadbalancers") == ["ample-gull-lb"]


def test_handler_remove_action(tenant, lambda_context):
    # GIVEN the namespace holds the lab's load balancer but no longer its pool
    tenant.state.create_namespace(namespace_body(NS))
    tenant.state.create_object(NS, "http_loadbalancers", {"metadata": {"name": "ample-gull-lb"}, "spec": {}})
    # WHEN the lab is removed / THEN the LB is deleted and the missing pool counts as absent
    result = apilab.lambda_handler(load_event("udf_helpers_remove"), lambda_context)
    assert result["statusCode"] == 200
    assert [o["result"] for o in result["body"]["objects"]] == ["removed", "absent"]
    assert [(r.method, r.status) for r in tenant.requests()] == [("DELETE", 200), ("DELETE", 404)]


def test_handler_permanent_xc_error_is_a_non_200_result(tenant, lambda_context):
    # GIVEN the namespace does not exist: create answers 404
    result = apilab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    assert result["statusCode"] == 502
    assert result["body"]["status"] == 404 and result["body"]["retryable"] is False
    assert [(r.method, r.status) for r in tenant.requests()] == [("GET", 404), ("POST", 404)]


def test_handler_retryable_error_is_raised_and_token_never_logged(tenant, lambda_context, worker_output):
    # GIVEN XC keeps answering 503 to reads under the namespace, with the token in its message (the
    # client's backoff sleeps on the fake clock)
    tenant.state.create_namespace(namespace_body(NS))
    tenant.faults.add(
        "GET",
        rf"^/api/config/namespaces/{NS}/",
        503,
        count=100,
        body={"code": 14, "details": [], "message": f"unavailable APIToken {TOKEN}"},
    )
    output = worker_output("udf_helpers")
    # WHEN the handler runs with every logger at DEBUG
    with pytest.raises(XCServerError):
        apilab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    # THEN the failure is raised (so the caller retries) and the token is nowhere in the logs
    text = output()
    assert "xc call will be retried" in text and "failed, retryable" in text
    assert TOKEN not in text
