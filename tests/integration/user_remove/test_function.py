"""user_remove through its handler: SSM in moto, the devstack XC emulator over real sockets."""

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
from tests.fixtures.lambda_context import seed_tenant
from tests.fixtures.xc import XC_TOKEN
from user_remove.function import lambda_handler

pytestmark = pytest.mark.integration

EMAIL = "jane@example.com"
CASCADE_PATH = r"^/api/web/custom/namespaces/system/users/cascade_delete$"
ROLES_PATH = r"^/api/web/custom/namespaces/system/user_roles$"
LAB_ROLE = {"namespace": "ample-gull", "role": "ves-io-admin-role"}
OWN_ROLE = {"namespace": "system", "role": "own-role"}


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
            "namespace_roles": roles,
            "group_names": groups,
        }
    )


def test_handler_existing_user_is_deleted(tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN an existing user
    _seed_user(tenant, [LAB_ROLE], ["xc-lab-users"])
    # WHEN the handler runs
    result = lambda_handler(load_event("user_remove_basic"), lambda_context)
    # THEN the account is gone and the body says so
    assert result["statusCode"] == 200
    assert (result["body"]["mode"], result["body"]["state"], result["body"]["removed"]) == (
        "delete",
        "removed",
        True,
    )
    assert [o["type"] for o in result["body"]["deleted"]] == ["user"]
    assert tenant.state.user(EMAIL) is None


def test_handler_invoked_twice_succeeds_twice(tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(tenant, [], [])
    first = lambda_handler(load_event("user_remove_basic"), lambda_context)
    second = lambda_handler(load_event("user_remove_basic"), lambda_context)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert (first["body"]["state"], second["body"]["state"]) == ("removed", "absent")
    assert tenant.state.user(EMAIL) is None


def test_handler_missing_user_is_success(tenant: XCServer, lambda_context: Any) -> None:
    result = lambda_handler(load_event("user_remove_basic"), lambda_context)
    assert result["statusCode"] == 200
    assert (result["body"]["state"], result["body"]["removed"]) == ("absent", False)


def test_handler_missing_user_answered_delete_not_ok_is_success(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a tenant that answers an unknown email with 200 {delete_ok: false}
    tenant.state.configure(unknown_user_delete_status=200)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_remove_basic"), lambda_context)
    # THEN the list confirms the user is gone, which is success
    assert result["statusCode"] == 200
    assert result["body"]["state"] == "absent"


def test_handler_revoke_mode_keeps_the_account_and_its_own_roles(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a pre-existing user holding the lab's role and group plus their own
    _seed_user(tenant, [LAB_ROLE, OWN_ROLE], ["staff", "xc-lab-users"])
    # WHEN the handler revokes the lab's role and group
    result = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    # THEN only those are gone; the account, its names and its own grants remain
    assert result["statusCode"] == 200
    body = result["body"]
    assert (body["mode"], body["state"], body["removed"], body["updated"]) == (
        "revoke",
        "revoked",
        False,
        True,
    )
    assert body["removed_roles"] == [LAB_ROLE]
    assert body["removed_groups"] == ["xc-lab-users"]
    user = tenant.state.user(EMAIL)
    assert user is not None
    assert user["namespace_roles"] == [OWN_ROLE]
    assert user["group_names"] == ["staff"]
    assert (user["first_name"], user["last_name"]) == ("Jane", "Doe")
    assert not any("cascade_delete" in r.path for r in tenant.requests())


def test_handler_revoke_twice_succeeds_twice(tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(tenant, [LAB_ROLE, OWN_ROLE], ["xc-lab-users"])
    first = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    second = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert (first["body"]["state"], second["body"]["state"]) == ("revoked", "unchanged")
    assert tenant.state.user(EMAIL)["namespace_roles"] == [OWN_ROLE]  # type: ignore[index]


def test_handler_revoke_for_missing_user_is_success(tenant: XCServer, lambda_context: Any) -> None:
    result = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    assert result["statusCode"] == 200
    assert result["body"]["state"] == "absent"


def test_user_create_then_revoke_of_its_additions_restores_the_user(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a pre-existing user, and user_create adding the lab's grants to it
    from user_create.function import lambda_handler as create_handler

    _seed_user(tenant, [{"namespace": "shared", "role": "f5xc-waap-monitor"}, OWN_ROLE], ["staff"])
    before = tenant.state.user(EMAIL)
    assert before is not None
    created = create_handler(load_event("user_create_basic"), lambda_context)["body"]
    assert created["created"] is False
    # WHEN the caller undoes exactly what user_create reported adding
    undo = {
        "ssm_base_path": load_event("user_remove_basic")["ssm_base_path"],
        "email": EMAIL,
        "namespace_roles": created["added_roles"],
        "group_names": created["added_groups"],
    }
    result = lambda_handler(undo, lambda_context)
    # THEN the user's roles and groups are what they were before, including the lab role it already had
    assert result["statusCode"] == 200
    after = tenant.state.user(EMAIL)
    assert after is not None
    assert after["namespace_roles"] == before["namespace_roles"]
    assert after["group_names"] == before["group_names"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"namespace_roles": [{"namespace": "ns", "role": ""}]}, "namespace_roles[0].role"),
        ({"group_names": [1]}, "group_names[0]"),
        ({"ssm_base_path": "relative"}, "ssm_base_path"),
    ],
)
def test_handler_bad_payload_fails_naming_the_field_before_any_call(
    tenant: XCServer, lambda_context: Any, changes: dict[str, Any], field: str
) -> None:
    _seed_user(tenant, [], [])
    result = lambda_handler({**load_event("user_remove_basic"), **changes}, lambda_context)
    assert result["statusCode"] == 400
    assert result["body"]["field"] == field
    assert tenant.requests() == []
    assert tenant.state.user(EMAIL) is not None


def test_handler_rate_limit_and_unavailable_bursts_are_absorbed(
    tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN 429 and 503 answers before the cascade delete is served
    _seed_user(tenant, [], [])
    tenant.faults.add("POST", CASCADE_PATH, [429, 503, 503], retry_after=0)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_remove_basic"), lambda_context)
    # THEN the burst is absorbed
    assert result["statusCode"] == 200
    assert result["body"]["removed"] is True
    assert [r.status for r in tenant.requests()] == [429, 503, 503, 200]


def test_handler_revoke_bursts_are_absorbed(tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(tenant, [LAB_ROLE], ["xc-lab-users"])
    tenant.faults.add("GET", ROLES_PATH, [503, 429], retry_after=0)
    tenant.faults.add("PUT", ROLES_PATH, 503, retry_after=0)
    result = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    assert result["statusCode"] == 200
    assert tenant.state.user(EMAIL)["group_names"] == []  # type: ignore[index]


def test_handler_unknown_token_fails_clearly(ssm: Any, tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(tenant, [], [])
    seed_tenant(ssm, tenant.url, "not-a-known-token-123456")
    result = lambda_handler(load_event("user_remove_basic"), lambda_context)
    assert result["statusCode"] == 502
    assert result["body"]["error"] == "XCAuthError"
    assert "invalid API token" in result["body"]["message"]
    assert tenant.state.user(EMAIL) is not None


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
    # GIVEN a canary token the tenant accepts, DEBUG logging, and a retried call
    canary = "CANARY-user-remove-1b2c3d4e5f6a7b8c"
    tenant.state.add_token(canary)
    seed_tenant(ssm, tenant.url, canary)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    _seed_user(tenant, [LAB_ROLE], ["xc-lab-users"])
    tenant.faults.add("GET", ROLES_PATH, 503, retry_after=0)
    # WHEN it revokes, deletes, then runs with a token the tenant rejects
    with _debug_log_lines("user_remove") as lines:
        revoked = lambda_handler(load_event("user_remove_revoke"), lambda_context)
        removed = lambda_handler(load_event("user_remove_basic"), lambda_context)
        seed_tenant(ssm, tenant.url, canary + "-revoked")
        from shared import aws

        aws.reset()
        failed = lambda_handler(load_event("user_remove_basic"), lambda_context)
    # THEN DEBUG lines were written and none holds the canary
    text = lines.getvalue() + "".join(capsys.readouterr())
    assert (revoked["statusCode"], removed["statusCode"], failed["statusCode"]) == (200, 200, 502)
    assert '"level":"DEBUG"' in text
    assert canary not in text
