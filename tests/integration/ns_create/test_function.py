"""ns_create through its handler: SSM in moto, the devstack XC emulator over real sockets."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.xc import XCServer
from ns_create.function import lambda_handler
from tests.fixtures.clock import FakeClock
from tests.fixtures.direct import CanaryCheck, assert_refused_before_any_call, assert_token_rejected
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import StubContext
from tests.fixtures.xc import use_token, watched

pytestmark = pytest.mark.integration

NAME = "ample-gull"
CREATE_PATH = r"^/api/web/namespaces$"
GET_PATH = rf"^/api/web/namespaces/{NAME}$"


def _calls(server: XCServer) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in server.requests()]


def _namespaces(server: XCServer) -> list[str]:
    return [item["name"] for item in server.state.list_namespaces()["items"]]


def test_handler_new_namespace_is_created_and_usable(xc_tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a tenant without the namespace
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN the namespace exists with its description, and the worker read it back once
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert NAME in _namespaces(xc_tenant)
    assert xc_tenant.state.get_namespace(NAME)["metadata"]["description"] == "UDF lab namespace"
    assert _calls(xc_tenant) == [
        ("POST", "/api/web/namespaces", 200),
        ("GET", f"/api/web/namespaces/{NAME}", 200),
    ]


def test_handler_invoked_twice_succeeds_twice_with_one_namespace(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN the same event delivered twice
    first = lambda_handler(load_event("ns_create_basic"), lambda_context)
    second = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN both succeed, the second says the namespace existed, and there is still exactly one
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert (first["body"]["state"], second["body"]["state"]) == ("created", "existed")
    assert _namespaces(xc_tenant).count(NAME) == 1


def test_handler_preexisting_namespace_reports_existed(xc_tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a namespace someone else created
    xc_tenant.state.create_namespace({"metadata": {"name": NAME, "description": "theirs"}})
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it succeeds without touching it
    assert result["statusCode"] == 200
    assert result["body"] == {**result["body"], "created": False, "state": "existed"}
    assert xc_tenant.state.get_namespace(NAME)["metadata"]["description"] == "theirs"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"namespace_name": "Ample_Gull"}, "namespace_name"),
        ({"namespace_name": None}, "namespace_name"),
        ({"ssm_base_path": "no-leading-slash"}, "ssm_base_path"),
        ({"description": 42}, "description"),
    ],
)
def test_handler_bad_payload_fails_naming_the_field_before_any_call(
    xc_tenant: XCServer, lambda_context: Any, changes: dict[str, Any], field: str
) -> None:
    # GIVEN a payload with one bad field
    event = {**load_event("ns_create_basic"), **changes}
    # WHEN the handler runs
    result = lambda_handler(event, lambda_context)
    # THEN it answers 400 naming the field, and XC was never called
    assert_refused_before_any_call(result, field, xc_tenant)


def test_handler_rate_limit_and_unavailable_bursts_are_absorbed(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN 429s on the create and 503s on the read, with short Retry-After hints
    xc_tenant.faults.add("POST", CREATE_PATH, 429, count=2, retry_after=0)
    xc_tenant.faults.add("GET", GET_PATH, 503, count=3, retry_after=0)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN the retry policy absorbs both bursts
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert [status for _, _, status in _calls(xc_tenant)] == [429, 429, 200, 503, 503, 503, 200]


def test_handler_unavailable_create_is_read_back_and_retried(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a create answered 503 after the tenant did create the namespace
    xc_tenant.faults.add("POST", CREATE_PATH, 503, after=True)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN the worker creates again, sees it exists, and succeeds (ownership unknown: "existed")
    assert result["statusCode"] == 200
    assert result["body"]["state"] == "existed"
    assert _namespaces(xc_tenant).count(NAME) == 1


def test_handler_unknown_token_fails_clearly(ssm: Any, xc_tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a token in SSM the tenant does not know
    use_token(ssm, xc_tenant, "not-a-known-token-123456", known=False)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it fails (not retryable) naming XCAuthError and XC's message, and creates nothing
    assert_token_rejected(result)
    assert NAME not in _namespaces(xc_tenant)


def test_handler_visibility_delay_is_waited_out(
    xc_clocked_tenant: XCServer, clock: FakeClock, lambda_context: Any
) -> None:
    # GIVEN a namespace that reads 404 for 0.8 s of the tenant's time after its create, a time that passes
    # once the worker's first read of it has been answered 404
    tenant = xc_clocked_tenant
    tenant.state.configure(namespace_visibility_delay_ms=800)
    watched(tenant).on("GET", GET_PATH, 404, lambda: clock.advance(0.8))
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it polls until the namespace is visible and reports the wait
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert result["body"]["waited_s"] >= 0.7
    gets = [status for method, _, status in _calls(tenant) if method == "GET"]
    assert gets == [404, 200]


def test_handler_name_still_being_deleted_is_created_once_free(
    xc_clocked_tenant: XCServer, clock: FakeClock, lambda_context: Any
) -> None:
    # GIVEN a namespace just cascade-deleted, whose name stays blocked (409/10) for 0.8 s of the tenant's
    # time, a time that passes once the worker's first create has been refused
    tenant = xc_clocked_tenant
    tenant.state.configure(namespace_reuse_block_ms=800)
    tenant.state.create_namespace({"metadata": {"name": NAME}})
    tenant.state.cascade_delete_namespace(NAME)
    watched(tenant).on("POST", CREATE_PATH, 409, lambda: clock.advance(0.8))
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it retries the create within its deadline and creates the namespace
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert result["body"]["create_attempts"] > 1
    assert any(status == 409 for _, _, status in _calls(tenant))


def test_handler_deadline_too_short_raises_retryable_timeout(xc_clocked_tenant: XCServer) -> None:
    # GIVEN a namespace that stays invisible until the tenant's clock moves (it never does here), in a
    # function with less time left than that
    xc_clocked_tenant.state.configure(namespace_visibility_delay_ms=60_000)
    context: Any = StubContext(timeout_s=4.5)  # deadline = remaining time minus a 3 s margin
    # WHEN the handler runs
    # THEN a retryable timeout is raised that names the namespace (never a 200 for a namespace that is not
    # usable), after the create and a read that found it invisible
    from shared.xc.errors import XCTimeoutError

    with pytest.raises(XCTimeoutError, match=NAME) as info:
        lambda_handler(load_event("ns_create_basic"), context)
    assert info.value.retryable
    assert [(method, status) for method, _, status in _calls(xc_clocked_tenant)][:2] == [
        ("POST", 200),
        ("GET", 404),
    ]


def test_handler_canary_token_never_reaches_a_log_line(
    xc_tenant: XCServer, canary_check: CanaryCheck
) -> None:
    # GIVEN a canary token in SSM that the tenant accepts, DEBUG logging, a retried call and a wait
    xc_tenant.faults.add("POST", CREATE_PATH, 429, count=1, retry_after=0)
    xc_tenant.state.configure(namespace_visibility_delay_ms=300)
    # WHEN the handler runs, and then fails on a second run with an unknown token
    event = load_event("ns_create_basic")
    text = canary_check("ns_create", lambda_handler, [event], {**event, "namespace_name": "other-ns"})
    # THEN the logs were written at DEBUG (the retry among them), and the canary appears in none of them
    assert "xc call will be retried" in text
