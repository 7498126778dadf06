"""user_create through its handler: SSM in moto, the devstack XC emulator over real sockets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from devstack.xc import XCServer
from tests.conftest import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.xc import XC_TOKEN
from user_create.function import lambda_handler

pytestmark = pytest.mark.integration

EMAIL = "jane@example.com"
ROLES_PATH = r"^/api/web/custom/namespaces/system/user_roles$"
LAB_ROLES = [
    {"namespace": "ample-gull", "role": "ves-io-admin-role"},
    {"namespace": "shared", "role": "f5xc-waap-monitor"},
]


@pytest.fixture
def ssm(aws_mock: None) -> Any:
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def tenant(ssm: Any, xc_server: XCServer) -> XCServer:
    seed_tenant(ssm, xc_server.url, XC_TOKEN, idm_type="SSO")
    return xc_server


def _seed_user(server: XCServer, roles: list[dict[str, str]], groups: list[str]) -> None:
    server.state.create_user_roles(
        {
            "email": EMAIL,
            "first_name": "Jane",
            "last_name": "Doe",
            "idm_type": "VOLTERRA_MANAGED",
            "namespace_roles": roles,
            "group_names": groups,
        }
    )


def test_handler_new_user_is_created_with_roles_and_groups(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a tenant without the user
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN the user exists with the lab's roles and group, and the body says this call created it
    assert result["statusCode"] == 200
    body = result["body"]
    assert (body["created"], body["state"]) == (True, "created")
    assert body["added_roles"] == LAB_ROLES
    assert body["added_groups"] == ["xc-lab-users"]
    user = tenant.state.user(EMAIL)
    assert user is not None
    assert (user["name"], user["type"], user["idm_type"]) == (EMAIL, "USER", "SSO")
    assert user["namespace_roles"] == LAB_ROLES
    assert user["group_names"] == ["xc-lab-users"]


def test_handler_invoked_twice_succeeds_twice_with_the_same_user(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN the same event delivered twice
    first = lambda_handler(load_event("user_create_basic"), lambda_context)
    after_first = tenant.state.user(EMAIL)
    second = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN both succeed, the second changes nothing and sends no update
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert second["body"]["created"] is False
    assert (second["body"]["updated"], second["body"]["added_roles"], second["body"]["added_groups"]) == (
        False,
        [],
        [],
    )
    assert tenant.state.user(EMAIL) == after_first
    assert [r.method for r in tenant.requests()] == ["POST", "POST", "GET"]


def test_handler_preexisting_user_gets_only_the_missing_roles_and_groups(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a learner who already has an account with one lab role and their own role and group
    _seed_user(
        tenant,
        [{"namespace": "shared", "role": "f5xc-waap-monitor"}, {"namespace": "system", "role": "own-role"}],
        ["staff"],
    )
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN the missing role and group are added, the rest kept, and the body lists only the additions
    assert result["statusCode"] == 200
    body = result["body"]
    assert (body["created"], body["updated"]) == (False, True)
    assert body["added_roles"] == [{"namespace": "ample-gull", "role": "ves-io-admin-role"}]
    assert body["added_groups"] == ["xc-lab-users"]
    assert body["renamed_from"] == {"first_name": "Jane", "last_name": "Doe"}
    user = tenant.state.user(EMAIL)
    assert user is not None
    assert user["namespace_roles"] == [*LAB_ROLES, {"namespace": "system", "role": "own-role"}]
    assert user["group_names"] == ["staff", "xc-lab-users"]
    assert user["idm_type"] == "VOLTERRA_MANAGED"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "jane.example.com"}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": None}, "last_name"),
        ({"group_names": "xc-lab-users"}, "group_names"),
        ({"namespace_roles": [{"namespace": "ample-gull"}]}, "namespace_roles[0].role"),
        ({"namespace_roles": [{"namespace": "Ample", "role": "r"}]}, "namespace_roles[0].namespace"),
        ({"ssm_base_path": "/bad path"}, "ssm_base_path"),
    ],
)
def test_handler_bad_payload_fails_naming_the_field_before_any_call(
    tenant: XCServer, lambda_context: Any, changes: dict[str, Any], field: str
) -> None:
    result = lambda_handler({**load_event("user_create_basic"), **changes}, lambda_context)
    assert result["statusCode"] == 400
    assert result["body"]["field"] == field
    assert tenant.requests() == []


def test_handler_missing_idm_type_fails_naming_the_parameter(
    ssm: Any, xc_server: XCServer, lambda_context: Any
) -> None:
    # GIVEN a tenant whose SSM folder lacks idm-type
    seed_tenant(ssm, xc_server.url, XC_TOKEN)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN a configuration error names it, before any XC call
    assert result["statusCode"] == 500
    assert f"{TEST_BASE_PATH}/idm-type" in result["body"]["message"]
    assert xc_server.requests() == []


def test_handler_rate_limit_and_unavailable_bursts_are_absorbed(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN an existing user, 429s on the create and 503s on the user list
    _seed_user(tenant, [], [])
    tenant.faults.add("POST", ROLES_PATH, 429, count=2, retry_after=0)
    tenant.faults.add("GET", ROLES_PATH, 503, count=2, retry_after=0)
    tenant.faults.add("PUT", ROLES_PATH, 503, count=1, retry_after=0)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN every burst is absorbed and the merge completes
    assert result["statusCode"] == 200
    assert result["body"]["added_groups"] == ["xc-lab-users"]
    assert [(r.method, r.status) for r in tenant.requests()] == [
        ("POST", 429),
        ("POST", 429),
        ("POST", 409),
        ("GET", 503),
        ("GET", 503),
        ("GET", 200),
        ("PUT", 503),
        ("PUT", 200),
    ]


def test_handler_unavailable_create_is_read_back_before_retrying(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a create answered 503 (not retried by the client: a POST's outcome is unknown)
    tenant.faults.add("POST", ROLES_PATH, 503, count=1)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN the worker reads the list, finds no user, creates it, and reports it created
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert [(r.method, r.status) for r in tenant.requests()] == [("POST", 503), ("GET", 200), ("POST", 200)]


def test_handler_unknown_token_fails_clearly(ssm: Any, tenant: XCServer, lambda_context: Any) -> None:
    seed_tenant(ssm, tenant.url, "not-a-known-token-123456", idm_type="SSO")
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    assert result["statusCode"] == 502
    assert result["body"]["error"] == "XCAuthError"
    assert "invalid API token" in result["body"]["message"]
    assert tenant.state.user(EMAIL) is None


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
    # GIVEN a canary token the tenant accepts, DEBUG logging, a retried call and the merge path
    canary = "CANARY-user-create-5a4b3c2d1e0f9a8b"
    tenant.state.add_token(canary)
    seed_tenant(ssm, tenant.url, canary, idm_type="SSO")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    _seed_user(tenant, [], [])
    tenant.faults.add("GET", ROLES_PATH, 503, retry_after=0)
    # WHEN the handler runs, then again with a token the tenant rejects
    with _debug_log_lines("user_create") as lines:
        ok = lambda_handler(load_event("user_create_basic"), lambda_context)
        seed_tenant(ssm, tenant.url, canary + "-revoked", idm_type="SSO")
        from shared import aws

        aws.reset()
        failed = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN DEBUG lines were written and none holds the canary
    text = lines.getvalue() + "".join(capsys.readouterr())
    assert ok["statusCode"] == 200 and failed["statusCode"] == 502
    assert '"level":"DEBUG"' in text
    assert canary not in text
