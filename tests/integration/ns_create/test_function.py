"""ns_create through its handler: SSM in moto, the devstack XC emulator over real sockets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from devstack.xc import XCServer
from ns_create.function import lambda_handler
from tests.conftest import load_event
from tests.fixtures.lambda_context import seed_tenant
from tests.fixtures.xc import XC_TOKEN

pytestmark = pytest.mark.integration

NAME = "ample-gull"
CREATE_PATH = r"^/api/web/namespaces$"
GET_PATH = rf"^/api/web/namespaces/{NAME}$"


@pytest.fixture
def ssm(aws_mock: None) -> Any:
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def tenant(ssm: Any, xc_server: XCServer) -> XCServer:
    seed_tenant(ssm, xc_server.url, XC_TOKEN)
    return xc_server


def _calls(server: XCServer) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in server.requests()]


def _namespaces(server: XCServer) -> list[str]:
    return [item["name"] for item in server.state.list_namespaces()["items"]]


def test_handler_new_namespace_is_created_and_usable(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a tenant without the namespace
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN the namespace exists with its description, and the worker read it back once
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert NAME in _namespaces(tenant)
    assert tenant.state.get_namespace(NAME)["metadata"]["description"] == "UDF lab namespace"
    assert _calls(tenant) == [
        ("POST", "/api/web/namespaces", 200),
        ("GET", f"/api/web/namespaces/{NAME}", 200),
    ]


def test_handler_invoked_twice_succeeds_twice_with_one_namespace(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN the same event delivered twice
    first = lambda_handler(load_event("ns_create_basic"), lambda_context)
    second = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN both succeed, the second says the namespace existed, and there is still exactly one
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert (first["body"]["state"], second["body"]["state"]) == ("created", "existed")
    assert _namespaces(tenant).count(NAME) == 1


def test_handler_preexisting_namespace_reports_existed(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a namespace someone else created
    tenant.state.create_namespace({"metadata": {"name": NAME, "description": "theirs"}})
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it succeeds without touching it
    assert result["statusCode"] == 200
    assert result["body"] == {**result["body"], "created": False, "state": "existed"}
    assert tenant.state.get_namespace(NAME)["metadata"]["description"] == "theirs"


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
    tenant: XCServer, lambda_context: Any, changes: dict[str, Any], field: str
) -> None:
    # GIVEN a payload with one bad field
    event = {**load_event("ns_create_basic"), **changes}
    # WHEN the handler runs
    result = lambda_handler(event, lambda_context)
    # THEN it answers 400 naming the field, and XC was never called
    assert result["statusCode"] == 400
    assert result["body"]["field"] == field
    assert tenant.requests() == []


def test_handler_rate_limit_and_unavailable_bursts_are_absorbed(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN 429s on the create and 503s on the read, with short Retry-After hints
    tenant.faults.add("POST", CREATE_PATH, 429, count=2, retry_after=0)
    tenant.faults.add("GET", GET_PATH, 503, count=3, retry_after=0)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN the retry policy absorbs both bursts
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert [status for _, _, status in _calls(tenant)] == [429, 429, 200, 503, 503, 503, 200]


def test_handler_unavailable_create_is_read_back_and_retried(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a create answered 503 after the tenant did create the namespace
    tenant.faults.add("POST", CREATE_PATH, 503, after=True)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN the worker creates again, sees it exists, and succeeds (ownership unknown: "existed")
    assert result["statusCode"] == 200
    assert result["body"]["state"] == "existed"
    assert _namespaces(tenant).count(NAME) == 1


def test_handler_unknown_token_fails_clearly(ssm: Any, tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a token in SSM the tenant does not know
    seed_tenant(ssm, tenant.url, "not-a-known-token-123456")
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it fails (not retryable) naming XCAuthError and XC's message, and creates nothing
    assert result["statusCode"] == 502
    assert result["body"]["error"] == "XCAuthError"
    assert result["body"]["status"] == 401
    assert "invalid API token" in result["body"]["message"]
    assert NAME not in _namespaces(tenant)


def test_handler_visibility_delay_is_waited_out(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a namespace that reads 404 for 0.8 s after its create
    tenant.state.configure(namespace_visibility_delay_ms=800)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it polls until the namespace is visible and reports the wait
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert result["body"]["waited_s"] >= 0.7
    gets = [status for method, _, status in _calls(tenant) if method == "GET"]
    assert gets[-1] == 200 and 404 in gets


def test_handler_name_still_being_deleted_is_created_once_free(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a namespace just cascade-deleted, whose name stays blocked (409/10) for 0.8 s
    tenant.state.configure(namespace_reuse_block_ms=800)
    tenant.state.create_namespace({"metadata": {"name": NAME}})
    tenant.state.cascade_delete_namespace(NAME)
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it retries the create within its deadline and creates the namespace
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert result["body"]["create_attempts"] > 1
    assert any(status == 409 for _, _, status in _calls(tenant))


def test_handler_deadline_too_short_raises_retryable_timeout(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a namespace that stays invisible longer than the Lambda has left
    tenant.state.configure(namespace_visibility_delay_ms=60_000)
    lambda_context.timeout_s = 4.5  # deadline = remaining time minus a 3 s margin
    # WHEN the handler runs
    # THEN a retryable timeout is raised (never a 200 for a namespace that is not usable)
    from shared.xc.errors import XCTimeoutError

    with pytest.raises(XCTimeoutError, match=NAME):
        lambda_handler(load_event("ns_create_basic"), lambda_context)


@contextmanager
def _debug_log_lines(service: str) -> Iterator[io.StringIO]:
    """Redirect the worker's and shared's log handlers into a buffer, at DEBUG, for one test."""
    buffer = io.StringIO()
    loggers = [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name == service or name.startswith((f"{service}.", "shared"))
    ]
    levels = [(lg, lg.level) for lg in loggers]
    handlers = {h for lg in loggers for h in lg.handlers if isinstance(h, logging.StreamHandler)}
    streams = [(h, h.stream) for h in handlers]
    for handler in handlers:
        handler.setStream(buffer)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        for handler, stream in streams:
            handler.setStream(stream)
        for lg, level in levels:
            lg.setLevel(level)


def test_handler_canary_token_never_reaches_a_log_line(
    ssm: Any,
    tenant: XCServer,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a canary token in SSM that the tenant accepts, DEBUG logging, a retried call and a wait
    canary = "CANARY-ns-create-7f3a9c0e1d2b4a5f"
    tenant.state.add_token(canary)
    seed_tenant(ssm, tenant.url, canary)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    tenant.faults.add("POST", CREATE_PATH, 429, count=1, retry_after=0)
    tenant.state.configure(namespace_visibility_delay_ms=300)
    # WHEN the handler runs, and then fails on a second run with an unknown token
    with _debug_log_lines("ns_create") as lines:
        ok = lambda_handler(load_event("ns_create_basic"), lambda_context)
        seed_tenant(ssm, tenant.url, canary + "-revoked")
        from shared import aws

        aws.reset()  # drop the cached SSM values so the second run reads the new token
        failed = lambda_handler(
            {**load_event("ns_create_basic"), "namespace_name": "other-ns"}, lambda_context
        )
    # THEN the logs were written at DEBUG, and the canary appears in none of them
    text = lines.getvalue() + "".join(capsys.readouterr())
    assert ok["statusCode"] == 200 and failed["statusCode"] == 502
    assert '"level":"DEBUG"' in text
    assert "xc call will be retried" in text
    assert canary not in text
    assert canary not in str(ok) + str(failed)
