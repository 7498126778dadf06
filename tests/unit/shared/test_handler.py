"""shared.handler: the error policies, and the two decorators' order of steps, with fake steps.

The decorators run against a real Powertools logger and a stand-in for `call_with_tenant`; the
workers' own handlers go through the same policy cases in tests/unit/test_handler_contract.py.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from shared import tenant as shared_tenant
from shared.config import Tenant
from shared.errors import ConfigError, InputError, RetryableError
from shared.handler import UnexpectedError, direct_worker, event_worker, raw_event, run_direct
from shared.log import get_logger
from shared.secret import Secret
from shared.xc.errors import XCAuthError
from tests.fixtures.lambda_context import StubContext

log = logging.getLogger("test")
SERVICE = "handler_test"
logger = get_logger(SERVICE)
BASE = "/tenantOps-test/sec-lab"


@dataclass(frozen=True)
class Request:
    ssm_base_path: str
    name: str


def parse(event: Any) -> Request:
    if not isinstance(event, dict) or not isinstance(event.get("name"), str):
        raise InputError("name", f"must be a string, got {event!r:.40}")
    return Request(BASE, event["name"])


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What happened, in order: tenant calls (`tenant`, base path, extra, force_fetch) among them."""
    seen: list[Any] = []

    def call_with_tenant(base_path: str, call: Any, *, extra: Any = (), force_fetch: bool = False) -> Any:
        seen.append(("tenant", base_path, tuple(extra), force_fetch))
        return call(Tenant(base_path, "https://tenant.example.com", Secret("t")), "xc")

    monkeypatch.setattr(shared_tenant, "call_with_tenant", call_with_tenant)
    return seen


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --------------------------------------------------------------------------- run_direct


def test_run_direct_success_wraps_body():
    assert run_direct(log, lambda: {"x": 1}) == {"statusCode": 200, "body": {"x": 1}}


def test_run_direct_input_error_is_400_naming_field():
    def work() -> None:
        raise InputError("namespace_name", "must be a DNS-1035 label, got 'A'")

    result = run_direct(log, work)
    assert result["statusCode"] == 400
    assert result["body"]["field"] == "namespace_name" and result["body"]["retryable"] is False
    assert "namespace_name" in result["body"]["message"]


def test_run_direct_config_and_xc_errors_are_non_200():
    def config() -> None:
        raise ConfigError(["SSM parameter /x/token-value not found"])

    def auth() -> None:
        raise XCAuthError(status=401, method="GET", url="u", body='{"code":16,"message":"bad token"}')

    assert run_direct(log, config)["statusCode"] == 500
    result = run_direct(log, auth)
    assert result["statusCode"] == 502 and result["body"]["status"] == 401
    assert result["body"]["error"] == "XCAuthError" and "bad token" in result["body"]["message"]


def test_run_direct_retryable_error_is_raised():
    def work() -> None:
        raise RetryableError("try later")

    with pytest.raises(RetryableError):
        run_direct(log, work)


def test_run_direct_unexpected_exception_is_raised_masked_and_retryable():
    # GIVEN a library error whose text echoes the auth header (the runtime would hand it to the caller)
    def work() -> None:
        raise ValueError("bad header: ('Authorization', 'APIToken sekrit-token-value-123')")

    # WHEN the worker runs
    with pytest.raises(UnexpectedError) as caught:
        run_direct(log, work)

    # THEN it is raised (so the caller sees a FunctionError), retryable, without the token or a cause
    assert caught.value.retryable is True
    assert "sekrit-token-value-123" not in str(caught.value)
    assert str(caught.value).startswith("ValueError: bad header")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# --------------------------------------------------------------------------- direct_worker


def test_direct_worker_runs_parse_keys_config_deadline_tenant_in_order(steps, worker_output):
    output = worker_output(SERVICE)

    def config(environ: Any) -> str:
        steps.append("config")
        logger.info("configured")
        return "settings"

    @direct_worker(
        logger,
        parse=parse,
        keys=lambda request: {"thing": request.name},
        config=config,
        ssm_params=("idm-type",),
        bound_keys={"lab": "example"},
    )
    def handler(request: Request, settings: str, tenant: Tenant, xc: Any, deadline: Any) -> dict[str, Any]:
        steps.append(("handler", request.name, settings, tenant.base_path, xc))
        return {"done": round(deadline.remaining())}

    # WHEN the caller has 10 s left (budget_ms), and the function 60 s
    result = handler({"name": "n1", "budget_ms": 10_000}, StubContext(timeout_s=60))

    # THEN the steps ran in order, the deadline is the caller's less the answer's margin, and the
    # keys were bound before the settings were read
    assert result == {"statusCode": 200, "body": {"done": 8}}
    assert steps == [
        "config",
        ("tenant", BASE, ("idm-type",), False),
        ("handler", "n1", "settings", BASE, "xc"),
    ]
    configured = next(line for line in lines(output()) if line["message"] == "configured")
    assert (configured["lab"], configured["thing"]) == ("example", "n1")


def test_direct_worker_bad_input_is_a_400_without_settings_or_tenant(steps, worker_output):
    output = worker_output(SERVICE)

    def config(environ: Any) -> str:
        raise AssertionError("settings read for a refused payload")

    @direct_worker(logger, parse=parse, keys=lambda request: {}, config=config, bound_keys={"lab": "x"})
    def handler(request: Request, settings: str, tenant: Tenant, xc: Any, deadline: Any) -> None:
        raise AssertionError("handler ran for a refused payload")

    result = handler({"name": 3}, StubContext())

    assert result["statusCode"] == 400 and result["body"]["field"] == "name"
    assert steps == []
    failed = [line for line in lines(output()) if line["level"] == "ERROR"]
    assert [(line["message"], line["field"], line["lab"]) for line in failed] == [("failed", "name", "x")]


def test_direct_worker_bad_budget_is_a_400_naming_it(steps):
    @direct_worker(logger, parse=parse, keys=lambda request: {})
    def handler(request: Request, tenant: Tenant, xc: Any, deadline: Any) -> None:
        raise AssertionError("handler ran with a bad budget")

    result = handler({"name": "n", "budget_ms": "soon"}, StubContext())

    assert result["statusCode"] == 400 and result["body"]["field"] == "budget_ms"
    assert steps == []


def test_direct_worker_clears_the_keys_of_the_previous_invocation(steps, worker_output):
    output = worker_output(SERVICE)

    @direct_worker(logger, parse=parse, keys=lambda request: {"thing": request.name})
    def handler(request: Request, tenant: Tenant, xc: Any, deadline: Any) -> None:
        logger.info("ran")

    handler({"name": "first"}, StubContext())
    handler({"name": 1}, StubContext())

    refused = [line for line in lines(output()) if line["level"] == "ERROR"]
    assert len(refused) == 1 and "thing" not in refused[0]


# --------------------------------------------------------------------------- event_worker


def test_event_worker_passes_request_config_and_deadline_less_margin(steps):
    @event_worker(logger, parse=parse, config=lambda environ: "settings", margin=10.0)
    def handler(request: Request, settings: str, deadline: Any) -> tuple[str, str, int]:
        return request.name, settings, round(deadline.remaining())

    assert handler({"name": "n"}, StubContext(timeout_s=60)) == ("n", "settings", 50)
    assert steps == []


def test_event_worker_with_a_tenant_reads_it_for_the_request(steps):
    @event_worker(
        logger,
        parse=parse,
        config=lambda environ: "/tenantOps-prod/app-lab",
        tenant=lambda request, settings: settings,
        ssm_params=("token-name",),
        force_fetch=True,
    )
    def handler(request: Request, settings: str, tenant: Tenant, xc: Any, deadline: Any) -> str:
        return f"{request.name} in {tenant.base_path}"

    assert handler({"name": "n"}, StubContext()) == "n in /tenantOps-prod/app-lab"
    assert steps == [("tenant", "/tenantOps-prod/app-lab", ("token-name",), True)]


def test_event_worker_reads_the_event_before_the_settings(steps):
    def config(environ: Any) -> str:
        raise ConfigError(["NOTHING is set"])

    @event_worker(logger, parse=parse, config=config)
    def handler(request: Request, settings: str, deadline: Any) -> None:
        raise AssertionError("handler ran")

    with pytest.raises(InputError):
        handler({}, StubContext())
    with pytest.raises(ConfigError):
        handler({"name": "n"}, StubContext())


@pytest.mark.parametrize(
    "error",
    [
        InputError("Records", "must be a list"),
        ConfigError(["TABLE is required"]),
        RetryableError("try later"),
    ],
)
def test_event_worker_error_is_logged_once_and_raised(steps, worker_output, error):
    output = worker_output(SERVICE)

    @event_worker(
        logger,
        parse=raw_event,
        config=lambda environ: None,
        failure="thing failed",
        correlation_id_path="Records[0].id",
    )
    def handler(event: Any, settings: None, deadline: Any) -> None:
        raise error

    with pytest.raises(type(error)) as caught:
        handler({"Records": [{"id": "r-1"}]}, StubContext())

    assert caught.value is error
    failed = [line for line in lines(output()) if line["level"] == "ERROR"]
    assert [
        (line["message"], line["error"], line["retryable"], line.get("field"), line["correlation_id"])
        for line in failed
    ] == [("thing failed", type(error).__name__, error.retryable, getattr(error, "field", None), "r-1")]


def test_event_worker_unexpected_exception_is_raised_masked(steps, worker_output):
    output = worker_output(SERVICE)

    message = "APIToken " + "sekrit-token-value-456"

    @event_worker(logger, parse=raw_event, config=lambda environ: None)
    def handler(event: Any, settings: None, deadline: Any) -> None:
        raise KeyError(message)

    with pytest.raises(UnexpectedError) as caught:
        handler({}, StubContext())

    assert caught.value.retryable is True and caught.value.__cause__ is None
    assert str(caught.value).startswith("KeyError: ")
    text = output()
    assert "sekrit-token-value-456" not in str(caught.value) and "sekrit-token-value-456" not in text
    failed = [line for line in lines(text) if line["level"] == "ERROR"]
    assert [(line["message"], line["error"]) for line in failed] == [("failed unexpectedly", "KeyError")]
