"""user_create through its handler: SSM in moto, the devstack XC emulator over real sockets."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.xc import XCServer
from tests.fixtures.direct import CanaryCheck, assert_refused_before_any_call, assert_token_rejected
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.xc import XC_TOKEN, use_token
from user_create.function import lambda_handler

pytestmark = pytest.mark.integration

EMAIL = "jane@example.com"
ROLES_PATH = r"^/api/web/custom/namespaces/system/user_roles$"
LAB_ROLES = [
    {"namespace": "ample-gull", "role": "ves-io-admin-role"},
    {"namespace": "shared", "role": "f5xc-waap-monitor"},
]


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


def test_handler_new_user_is_created_with_roles_and_groups(xc_tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN a tenant without the user
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN the user exists with the lab's roles and group, and the body says this call created it
    assert result["statusCode"] == 200
    body = result["body"]
    assert (body["created"], body["state"]) == (True, "created")
    assert body["added_roles"] == LAB_ROLES
    assert body["added_groups"] == ["xc-lab-users"]
    user = xc_tenant.state.user(EMAIL)
    assert user is not None
    assert (user["name"], user["type"], user["idm_type"]) == (EMAIL, "USER", "SSO")
    assert user["namespace_roles"] == LAB_ROLES
    assert user["group_names"] == ["xc-lab-users"]


def test_handler_invoked_twice_succeeds_twice_with_the_same_user(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN the same event delivered twice
    first = lambda_handler(load_event("user_create_basic"), lambda_context)
    after_first = xc_tenant.state.user(EMAIL)
    second = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN both succeed, the second changes nothing and sends no update
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert second["body"]["created"] is False
    assert (second["body"]["updated"], second["body"]["added_roles"], second["body"]["added_groups"]) == (
        False,
        [],
        [],
    )
    assert xc_tenant.state.user(EMAIL) == after_first
    assert [r.method for r in xc_tenant.requests()] == ["POST", "POST", "GET"]


def test_handler_preexisting_user_gets_only_the_missing_roles_and_groups(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a learner who already has an account with one lab role and their own role and group
    _seed_user(
        xc_tenant,
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
    user = xc_tenant.state.user(EMAIL)
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
    xc_tenant: XCServer, lambda_context: Any, changes: dict[str, Any], field: str
) -> None:
    result = lambda_handler({**load_event("user_create_basic"), **changes}, lambda_context)
    assert_refused_before_any_call(result, field, xc_tenant)


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
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN an existing user, 429s on the create and 503s on the user list
    _seed_user(xc_tenant, [], [])
    xc_tenant.faults.add("POST", ROLES_PATH, 429, count=2, retry_after=0)
    xc_tenant.faults.add("GET", ROLES_PATH, 503, count=2, retry_after=0)
    xc_tenant.faults.add("PUT", ROLES_PATH, 503, count=1, retry_after=0)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN every burst is absorbed and the merge completes
    assert result["statusCode"] == 200
    assert result["body"]["added_groups"] == ["xc-lab-users"]
    assert [(r.method, r.status) for r in xc_tenant.requests()] == [
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
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a create answered 503 (not retried by the client: a POST's outcome is unknown)
    xc_tenant.faults.add("POST", ROLES_PATH, 503, count=1)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN the worker reads the list, finds no user, creates it, and reports it created
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    calls = [(r.method, r.status) for r in xc_tenant.requests()]
    assert calls == [("POST", 503), ("GET", 200), ("POST", 200)]


def test_handler_unknown_token_fails_clearly(ssm: Any, xc_tenant: XCServer, lambda_context: Any) -> None:
    use_token(ssm, xc_tenant, "not-a-known-token-123456", known=False)
    assert_token_rejected(lambda_handler(load_event("user_create_basic"), lambda_context))
    assert xc_tenant.state.user(EMAIL) is None


def test_handler_canary_token_never_reaches_a_log_line(
    xc_tenant: XCServer, canary_check: CanaryCheck
) -> None:
    # GIVEN a canary token the tenant accepts, DEBUG logging, a retried call and the merge path
    _seed_user(xc_tenant, [], [])
    xc_tenant.faults.add("GET", ROLES_PATH, 503, retry_after=0)
    # WHEN the handler runs, then again with a token the tenant rejects
    # THEN DEBUG lines were written and none holds the canary
    event = load_event("user_create_basic")
    canary_check("user_create", lambda_handler, [event], event)
