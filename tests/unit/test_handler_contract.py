"""The contract every directly invoked worker keeps with its caller (shared.handler.direct_worker).

Each worker runs the same cases against the in-process XC emulator, with its tenant in moto's SSM:
bad input is a 400 naming the field, before any call; missing SSM parameters are a 500 naming them;
a token XC refuses twice (the cached one, then the one SSM holds on the re-read) is a 502 after one
SSM re-read; a 401 cured by the rotated token is a success; a retryable XC error and an unexpected
exception are raised (the latter masked); success is a 200 with the worker's body. Each failure is
logged once. What only one worker does stays in that worker's tests.
"""

from __future__ import annotations

import functools
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from devstack.xc import InProcessXC
from shared import config as shared_config
from shared import tenant as shared_tenant
from shared.errors import TopsError
from shared.handler import UnexpectedError
from shared.xc.client import XCClient
from shared.xc.errors import XCServerError
from tests.fixtures.clock import FakeClock
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.tenant_clients import route_tenant_clients
from tests.fixtures.xc import namespace_body

CACHED = "contract-token-cached-0a1b2c3d"
ROTATED = "contract-token-rotated-4e5f6a7b"
NS = "ample-gull"


@dataclass(frozen=True)
class Worker:
    """A directly invoked worker as the contract sees it."""

    name: str
    module: str  # whose `lambda_handler` is the deployed handler
    service: str  # its logger
    event: str  # a good payload (tests/events)
    bad_event: str  # a payload with one bad field
    bad_field: str
    body: dict[str, Any]  # part of the success body
    given: Callable[[InProcessXC], None] = lambda tenant: None  # what success needs in the tenant
    env: dict[str, str] = field(default_factory=dict)
    waits: str | None = None  # the core call (module.attribute) that waits, with its own `sleep=`


def _lab_namespace(tenant: InProcessXC) -> None:
    tenant.state.create_namespace(namespace_body(NS))


def _lab(lab: str) -> Worker:
    return Worker(
        f"{lab}-pre",
        f"udf_helpers.labs.{lab}",
        "udf_helpers",
        "udf_helpers_create",
        "udf_helpers_bad_petname",
        "petname",
        {"lab": lab, "action": "create"},
        given=_lab_namespace,
        env={"ENV": "prod"},
        waits="udf_helpers.function.run_lab",
    )


WORKERS = [
    Worker(
        "ns_create",
        "ns_create.function",
        "ns_create",
        "ns_create_basic",
        "ns_create_bad_name",
        "namespace_name",
        {"namespace": NS, "created": True},
        waits="ns_create.core.create_namespace",
    ),
    Worker(
        "ns_remove",
        "ns_remove.function",
        "ns_remove",
        "ns_remove_basic",
        "ns_remove_bad_path",
        "ssm_base_path",
        {"namespace": NS, "state": "absent"},
        waits="ns_remove.core.remove_namespace",
    ),
    Worker(
        "user_create",
        "user_create.function",
        "user_create",
        "user_create_basic",
        "user_create_bad_role",
        "namespace_roles[1].namespace",
        {"email": "jane@example.com", "created": True},
        waits="user_create.core.create_user",
    ),
    Worker(
        "user_remove",
        "user_remove.function",
        "user_remove",
        "user_remove_basic",
        "user_remove_bad_email",
        "email",
        {"email": "jane@example.com", "mode": "delete"},
    ),
    *(_lab(lab) for lab in ("example", "apilab", "botlab", "caaslab", "waaplab")),
]


@pytest.fixture(params=WORKERS, ids=[w.name for w in WORKERS])
def worker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Worker:
    spec: Worker = request.param
    for name, value in spec.env.items():
        monkeypatch.setenv(name, value)
    return spec


@pytest.fixture
def handler(worker: Worker, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, Any], Any]:
    """The worker's deployed handler, whose every wait is on the fake `clock`: its core's through the
    core's `sleep=`, its XC client's through the `tenant` fixture; a real sleep fails the test."""
    handler: Callable[[Any, Any], Any] = importlib.import_module(worker.module).lambda_handler
    if worker.waits is not None:
        module, name = worker.waits.rsplit(".", 1)
        owner = importlib.import_module(module)
        monkeypatch.setattr(owner, name, functools.partial(getattr(owner, name), sleep=clock.sleep))

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"a real sleep of {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    return handler


@pytest.fixture
def tenant(
    aws_mock: None, monkeypatch: pytest.MonkeyPatch, xc_emulator: InProcessXC, clock: FakeClock
) -> InProcessXC:
    """The emulator as the tenant under TEST_BASE_PATH: SSM holds ROTATED (and `idm-type`), which the
    emulator accepts; the workers' clients reach it without sockets and back off on the fake clock."""
    seed_tenant(boto3.client("ssm"), xc_emulator.url, ROTATED, idm_type="SSO")
    xc_emulator.state.add_token(ROTATED)
    route_tenant_clients(monkeypatch, xc_emulator, clock)
    return xc_emulator


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """`force_fetch` of every tenant read the workers make, in order."""
    seen: list[bool] = []
    real = shared_tenant.load_tenant

    def spy(base_path: str, extra: Any = (), *, force_fetch: bool = False) -> Any:
        seen.append(force_fetch)
        return real(base_path, extra, force_fetch=force_fetch)

    monkeypatch.setattr(shared_tenant, "load_tenant", spy)
    return seen


def _cache_old_token() -> None:
    """Put CACHED in the 300 s SSM cache, as a run before the rotation would have, then rotate SSM."""
    ssm, name = boto3.client("ssm"), f"{TEST_BASE_PATH}/token-value"
    ssm.put_parameter(Name=name, Value=CACHED, Type="SecureString", Overwrite=True)
    shared_config.load_tenant(TEST_BASE_PATH)
    ssm.put_parameter(Name=name, Value=ROTATED, Type="SecureString", Overwrite=True)


def _errors(text: str) -> list[dict[str, Any]]:
    """The ERROR lines among a worker's JSON log lines."""
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("level") == "ERROR"]


def test_bad_input_is_a_400_naming_the_field_before_any_call(
    worker, handler, tenant, lambda_context, worker_output
):
    output = worker_output(worker.service)
    # WHEN the payload has one bad field
    result = handler(load_event(worker.bad_event), lambda_context)
    # THEN a 400 names it, nothing reached XC, and the failure is logged once with its field
    assert result["statusCode"] == 400
    assert result["body"]["error"] == "InputError" and result["body"]["retryable"] is False
    assert result["body"]["field"] == worker.bad_field and worker.bad_field in result["body"]["message"]
    assert tenant.requests() == []
    assert [(e["message"], e["error"], e["field"]) for e in _errors(output())] == [
        ("failed", "InputError", worker.bad_field)
    ]


def test_missing_ssm_parameters_are_a_500_naming_them(worker, handler, aws_mock, xc_emulator, lambda_context):
    # GIVEN no SSM parameters at all
    # WHEN the worker runs
    result = handler(load_event(worker.event), lambda_context)
    # THEN a configuration error names each missing parameter, and nothing reached XC
    assert result["statusCode"] == 500
    assert result["body"]["error"] == "ConfigError" and result["body"]["retryable"] is False
    assert f"{TEST_BASE_PATH}/tenant-url" in result["body"]["message"]
    assert f"{TEST_BASE_PATH}/token-value" in result["body"]["message"]
    assert xc_emulator.requests() == []


def test_token_refused_twice_is_a_502_after_one_ssm_reread(
    worker, handler, tenant, loads, lambda_context, worker_output
):
    # GIVEN the cached token and the one SSM holds now are both refused
    _cache_old_token()
    tenant.state.remove_token(ROTATED)
    output = worker_output(worker.service)
    # WHEN the worker runs
    result = handler(load_event(worker.event), lambda_context)
    # THEN XC was asked twice, SSM read again once (bypassing the cache), and a 502 names the refusal
    assert [r.status for r in tenant.requests()] == [401, 401]
    assert loads == [False, True]
    assert result["statusCode"] == 502
    assert result["body"]["error"] == "XCAuthError" and result["body"]["status"] == 401
    assert result["body"]["retryable"] is False
    assert CACHED not in json.dumps(result) and ROTATED not in json.dumps(result)
    assert [(e["message"], e["error"]) for e in _errors(output())] == [("failed", "XCAuthError")]


def test_token_refused_then_rotated_one_accepted_succeeds(worker, handler, tenant, loads, lambda_context):
    # GIVEN a cached token XC refuses, and a rotated one in SSM that it accepts
    _cache_old_token()
    worker.given(tenant)
    # WHEN the worker runs
    result = handler(load_event(worker.event), lambda_context)
    # THEN the second try, with the token read again, succeeds
    assert result["statusCode"] == 200
    assert loads == [False, True]
    assert tenant.requests()[0].status == 401 and all(r.status != 401 for r in tenant.requests()[1:])


def test_retryable_xc_error_is_raised(worker, handler, tenant, clock, lambda_context, worker_output):
    # GIVEN a tenant that answers every call with 503
    worker.given(tenant)
    tenant.faults.add("*", ".*", 503, count=1000)
    output = worker_output(worker.service)
    # WHEN the worker runs
    # THEN the XC error is raised for the caller to retry, after backing off on the fake clock only
    with pytest.raises(XCServerError) as caught:
        handler(load_event(worker.event), lambda_context)
    assert caught.value.retryable is True and caught.value.status == 503
    assert len(tenant.requests()) > 1 and clock.slept
    assert [(e["message"], e["error"]) for e in _errors(output())] == [("failed, retryable", "XCServerError")]


def test_unexpected_exception_is_raised_masked_and_retryable(
    worker, handler, tenant, lambda_context, monkeypatch, worker_output
):
    # GIVEN a library error whose text carries the token (the runtime would hand it to the caller)
    def broken(self: XCClient, method: str, path: str, **kwargs: Any) -> Any:
        raise ValueError(f"bad header: ('Authorization', 'APIToken {ROTATED}')")

    worker.given(tenant)
    monkeypatch.setattr(XCClient, "request", broken)
    output = worker_output(worker.service)
    # WHEN the worker runs
    with pytest.raises(UnexpectedError) as caught:
        handler(load_event(worker.event), lambda_context)
    # THEN it is raised retryable, named, masked and without its cause; logged once, masked too
    assert isinstance(caught.value, TopsError) and caught.value.retryable is True
    assert str(caught.value).startswith("ValueError: bad header")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    text = output()
    assert ROTATED not in str(caught.value) and ROTATED not in text
    assert [(e["message"], e["error"]) for e in _errors(text)] == [("failed unexpectedly", "ValueError")]


def test_success_is_a_200_with_the_body(worker, handler, tenant, loads, lambda_context, worker_output):
    worker.given(tenant)
    output = worker_output(worker.service)
    # WHEN the worker runs against a tenant that accepts its token
    result = handler(load_event(worker.event), lambda_context)
    # THEN the body is the worker's, under a 200; SSM was read once; nothing was logged as an error
    assert result["statusCode"] == 200
    assert {key: result["body"].get(key) for key in worker.body} == worker.body
    assert loads == [False]
    assert tenant.requests() and all(r.status < 400 or r.status == 404 for r in tenant.requests())
    assert _errors(output()) == []
