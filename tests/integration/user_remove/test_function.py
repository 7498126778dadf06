"""user_remove through its handler: SSM in moto, the devstack XC emulator over real sockets."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.xc import XCServer
from tests.fixtures.direct import CanaryCheck, assert_refused_before_any_call, assert_token_rejected
from tests.fixtures.events import load_event
from tests.fixtures.xc import use_token
from user_remove.function import lambda_handler

pytestmark = pytest.mark.integration

EMAIL = "jane@example.com"
CASCADE_PATH = r"^/api/web/custom/namespaces/system/users/cascade_delete$"
ROLES_PATH = r"^/api/web/custom/namespaces/system/user_roles$"
LAB_ROLE = {"namespace": "ample-gull", "role": "ves-io-admin-role"}
OWN_ROLE = {"namespace": "system", "role": "own-role"}


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


def test_handler_existing_user_is_deleted(xc_tenant: XCServer, lambda_context: Any) -> None:
    # GIVEN an existing user
    _seed_user(xc_tenant, [LAB_ROLE], ["xc-lab-users"])
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
    assert xc_tenant.state.user(EMAIL) is None


def test_handler_invoked_twice_succeeds_twice(xc_tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(xc_tenant, [], [])
    first = lambda_handler(load_event("user_remove_basic"), lambda_context)
    second = lambda_handler(load_event("user_remove_basic"), lambda_context)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert (first["body"]["state"], second["body"]["state"]) == ("removed", "absent")
    assert xc_tenant.state.user(EMAIL) is None


@pytest.mark.parametrize(
    ("event", "delete_status"),
    [("user_remove_basic", 404), ("user_remove_basic", 200), ("user_remove_revoke", 404)],
    ids=["delete", "delete-answered-not-ok", "revoke"],
)
def test_handler_missing_user_is_success(
    xc_tenant: XCServer, lambda_context: Any, event: str, delete_status: int
) -> None:
    # GIVEN a tenant without the user, that answers its delete with 404 (the default) or with 200
    # {delete_ok: false}
    xc_tenant.state.configure(unknown_user_delete_status=delete_status)
    # WHEN the handler deletes the user, or revokes its roles
    result = lambda_handler(load_event(event), lambda_context)
    # THEN the user is absent (with 200 the list confirms it), which is success
    assert result["statusCode"] == 200
    assert (result["body"]["state"], result["body"]["removed"]) == ("absent", False)


def test_handler_revoke_mode_keeps_the_account_and_its_own_roles(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a pre-existing user holding the lab's role and group plus their own
    _seed_user(xc_tenant, [LAB_ROLE, OWN_ROLE], ["staff", "xc-lab-users"])
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
    user = xc_tenant.state.user(EMAIL)
    assert user is not None
    assert user["namespace_roles"] == [OWN_ROLE]
    assert user["group_names"] == ["staff"]
    assert (user["first_name"], user["last_name"]) == ("Jane", "Doe")
    assert not any("cascade_delete" in r.path for r in xc_tenant.requests())


def test_handler_revoke_twice_succeeds_twice(xc_tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(xc_tenant, [LAB_ROLE, OWN_ROLE], ["xc-lab-users"])
    first = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    second = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert (first["body"]["state"], second["body"]["state"]) == ("revoked", "unchanged")
    assert xc_tenant.state.user(EMAIL)["namespace_roles"] == [OWN_ROLE]  # type: ignore[index]


def test_user_create_then_revoke_of_its_additions_restores_the_user(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN a pre-existing user, and user_create adding the lab's grants to it
    from user_create.function import lambda_handler as create_handler

    _seed_user(xc_tenant, [{"namespace": "shared", "role": "f5xc-waap-monitor"}, OWN_ROLE], ["staff"])
    before = xc_tenant.state.user(EMAIL)
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
    after = xc_tenant.state.user(EMAIL)
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
    xc_tenant: XCServer, lambda_context: Any, changes: dict[str, Any], field: str
) -> None:
    _seed_user(xc_tenant, [], [])
    result = lambda_handler({**load_event("user_remove_basic"), **changes}, lambda_context)
    assert_refused_before_any_call(result, field, xc_tenant)
    assert xc_tenant.state.user(EMAIL) is not None


def test_handler_rate_limit_and_unavailable_bursts_are_absorbed(
    xc_tenant: XCServer, lambda_context: Any
) -> None:
    # GIVEN 429 and 503 answers before the cascade delete is served
    _seed_user(xc_tenant, [], [])
    xc_tenant.faults.add("POST", CASCADE_PATH, [429, 503, 503], retry_after=0)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_remove_basic"), lambda_context)
    # THEN the burst is absorbed
    assert result["statusCode"] == 200
    assert result["body"]["removed"] is True
    assert [r.status for r in xc_tenant.requests()] == [429, 503, 503, 200]


def test_handler_revoke_bursts_are_absorbed(xc_tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(xc_tenant, [LAB_ROLE], ["xc-lab-users"])
    xc_tenant.faults.add("GET", ROLES_PATH, [503, 429], retry_after=0)
    xc_tenant.faults.add("PUT", ROLES_PATH, 503, retry_after=0)
    result = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    assert result["statusCode"] == 200
    assert xc_tenant.state.user(EMAIL)["group_names"] == []  # type: ignore[index]


def test_handler_unknown_token_fails_clearly(ssm: Any, xc_tenant: XCServer, lambda_context: Any) -> None:
    _seed_user(xc_tenant, [], [])
    use_token(ssm, xc_tenant, "not-a-known-token-123456", known=False)
    assert_token_rejected(lambda_handler(load_event("user_remove_basic"), lambda_context))
    assert xc_tenant.state.user(EMAIL) is not None


def test_handler_canary_token_never_reaches_a_log_line(
    xc_tenant: XCServer, canary_check: CanaryCheck
) -> None:
    # GIVEN a canary token the tenant accepts, DEBUG logging, and a retried call
    _seed_user(xc_tenant, [LAB_ROLE], ["xc-lab-users"])
    xc_tenant.faults.add("GET", ROLES_PATH, 503, retry_after=0)
    # WHEN it revokes, deletes, then runs with a token the tenant rejects
    # THEN DEBUG lines were written and none holds the canary
    revoke, delete = load_event("user_remove_revoke"), load_event("user_remove_basic")
    canary_check("user_remove", lambda_handler, [revoke, delete], delete)
