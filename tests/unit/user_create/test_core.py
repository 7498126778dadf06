"""user_create.core: create, duplicate merge, no-op update, eventual consistency, 5xx on create."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.deadline import Deadline
from shared.names import NamespaceRole
from shared.xc.client import XCClient
from shared.xc.errors import XCBadRequestError, XCPartialListError, XCServerError
from tests.fixtures.clock import FakeClock
from tests.fixtures.tenant import TENANT_URL
from user_create.core import FIND_GRACE_S, MAX_SERVER_ERRORS, create_user, lookup_user
from user_create.errors import UserNotVisibleError
from user_create.models import UserLookup, UserRequest

ROLES = f"{TENANT_URL}/api/web/custom/namespaces/system/user_roles"
ADMIN = NamespaceRole("ample-gull", "ves-io-admin-role")
MONITOR = NamespaceRole("shared", "f5xc-waap-monitor")
REQUEST = UserRequest(
    "/tenantOps-test/sec-lab",
    "jane@example.com",
    "Lab User",
    "3f2a9c1e",
    group_names=("xc-lab-users",),
    namespace_roles=(ADMIN, MONITOR),
)
DUPLICATE = {
    "status": 409,
    "json": {"code": 6, "details": [], "message": "user jane@example.com already exist"},
}


def _user(
    email: str = "jane@example.com",
    roles: list[tuple[str, str]] | None = None,
    groups: list[str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    user = {
        "email": email,
        "name": email,
        "first_name": "Jane",
        "last_name": "Doe",
        "namespace": "system",
        "idm_type": "VOLTERRA_MANAGED",
        "type": "USER",
        "group_names": groups or [],
        "namespace_roles": [{"namespace": ns, "role": role} for ns, role in roles or []],
    }
    user.update(fields)
    return user


def _user_with_everything(**fields: Any) -> dict[str, Any]:
    """The user already holding every role and group that REQUEST asks for."""
    roles = [("ample-gull", "ves-io-admin-role"), ("shared", "f5xc-waap-monitor")]
    return _user(roles=roles, groups=["xc-lab-users"], **fields)


def _listing(*found: dict[str, Any]) -> dict[str, Any]:
    return {"json": {"items": [_user("someone@example.com"), *found], "errors": []}}


def _sent(http: Any, index: int) -> Any:
    return json.loads(http.calls[index].request.body)


def _methods(http: Any) -> list[str]:
    return [call.request.method for call in http.calls]


def _run(xc: XCClient, clock: FakeClock, request: UserRequest = REQUEST, budget: float = 50.0) -> Any:
    return create_user(request, xc, idm_type="SSO", deadline=Deadline.after(budget, clock), sleep=clock.sleep)


def test_create_user_new_user_is_created_with_everything_added(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a tenant without the user
    http.add("POST", ROLES, json={"metadata": {"name": "jane@example.com"}})
    # WHEN the user is created
    result = _run(xc, clock)
    # THEN one POST sends the UserRoleRequest, and the result says this call added everything
    assert _methods(http) == ["POST"]
    assert _sent(http, 0) == {
        "name": "jane@example.com",
        "email": "jane@example.com",
        "first_name": "Lab User",
        "last_name": "3f2a9c1e",
        "namespace": "system",
        "idm_type": "SSO",
        "type": "USER",
        "namespace_roles": [
            {"namespace": "ample-gull", "role": "ves-io-admin-role"},
            {"namespace": "shared", "role": "f5xc-waap-monitor"},
        ],
        "group_names": ["xc-lab-users"],
    }
    assert result.created is True
    assert result.added_roles == (ADMIN, MONITOR)
    assert result.added_groups == ("xc-lab-users",)


def test_create_user_duplicate_merges_and_updates_with_union(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN an existing user with one of the roles and another group
    http.add("POST", ROLES, **DUPLICATE)
    http.add(
        "GET",
        ROLES,
        **_listing(_user(roles=[("shared", "f5xc-waap-monitor"), ("system", "x-role")], groups=["staff"])),
    )
    http.add("PUT", ROLES, json={})
    # WHEN the user is created
    result = _run(xc, clock)
    # THEN the PUT carries the sorted union, the requested names, and the user's own idm_type
    assert _methods(http) == ["POST", "GET", "PUT"]
    sent = _sent(http, 2)
    assert sent["namespace_roles"] == [
        {"namespace": "ample-gull", "role": "ves-io-admin-role"},
        {"namespace": "shared", "role": "f5xc-waap-monitor"},
        {"namespace": "system", "role": "x-role"},
    ]
    assert sent["group_names"] == ["staff", "xc-lab-users"]
    assert (sent["first_name"], sent["last_name"]) == ("Lab User", "3f2a9c1e")
    assert sent["idm_type"] == "VOLTERRA_MANAGED"
    assert sent["email"] == "jane@example.com"
    # AND the result lists only what was not there before
    assert result.created is False
    assert result.updated is True
    assert result.added_roles == (ADMIN,)
    assert result.added_groups == ("xc-lab-users",)
    assert result.renamed_from == ("Jane", "Doe")


def test_create_user_duplicate_with_everything_present_sends_no_update(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN an existing user that already has every requested role and group
    http.add("POST", ROLES, **DUPLICATE)
    http.add("GET", ROLES, **_listing(_user_with_everything()))
    # WHEN the user is created again
    result = _run(xc, clock)
    # THEN nothing is PUT and nothing is reported added
    assert _methods(http) == ["POST", "GET"]
    assert result.to_body()["state"] == "existed"
    assert result.updated is False
    assert result.added_roles == ()
    assert result.added_groups == ()


def test_create_user_duplicate_found_case_insensitively(http: Any, xc: XCClient, clock: FakeClock) -> None:
    http.add("POST", ROLES, **DUPLICATE)
    http.add("GET", ROLES, **_listing(_user_with_everything(email="Jane@Example.com")))
    assert _run(xc, clock).updated is False


def test_create_user_duplicate_wording_on_400_is_a_duplicate(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a tenant that answers a duplicate with 400 and the known wording
    http.add("POST", ROLES, status=400, json={"code": 3, "message": "User already exist in tenant"})
    http.add("GET", ROLES, **_listing(_user()))
    http.add("PUT", ROLES, json={})
    # WHEN the user is created
    # THEN the duplicate path runs
    assert _run(xc, clock).created is False


def test_create_user_duplicate_not_yet_listed_is_found_on_a_later_list(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a list that lags one read behind the duplicate answer
    http.add("POST", ROLES, **DUPLICATE)
    http.add("GET", ROLES, **_listing())
    http.add("GET", ROLES, **_listing(_user()))
    http.add("PUT", ROLES, json={})
    # WHEN the user is created
    result = _run(xc, clock)
    # THEN it is found after a short wait
    assert result.created is False
    assert _methods(http) == ["POST", "GET", "GET", "PUT"]


def test_create_user_duplicate_never_listed_is_retryable(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a duplicate answer for a user the list never shows
    http.add("POST", ROLES, **DUPLICATE)
    http.add("GET", ROLES, **_listing())
    # WHEN the user is created
    with pytest.raises(UserNotVisibleError) as info:
        _run(xc, clock)
    # THEN a retryable error says so, after a bounded wait
    assert info.value.retryable is True
    assert "jane@example.com" in str(info.value)
    assert sum(clock.slept) == pytest.approx(FIND_GRACE_S)


def test_create_user_server_error_then_absent_creates_again(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a create that fails with 503 without creating the user
    http.add("POST", ROLES, status=503, json={"code": 14, "message": "unavailable"})
    http.add("GET", ROLES, **_listing())
    http.add("POST", ROLES, json={})
    # WHEN the user is created
    result = _run(xc, clock)
    # THEN the list is read, the create repeated, and the user reported created
    assert _methods(http) == ["POST", "GET", "POST"]
    assert result.created is True


def test_create_user_server_error_then_present_reports_existed(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a create that failed with 500 but the user is in the list afterwards
    http.add("POST", ROLES, status=500, json={"code": 13, "message": "internal"})
    http.add("GET", ROLES, **_listing(_user_with_everything()))
    # WHEN the user is created
    result = _run(xc, clock)
    # THEN ownership is unknown: it is reported existed, so an undo never deletes the account
    assert result.created is False
    assert _methods(http) == ["POST", "GET"]


def test_create_user_repeated_server_errors_raise(http: Any, xc: XCClient, clock: FakeClock) -> None:
    http.add("POST", ROLES, status=500, json={"code": 13, "message": "internal"})
    http.add("GET", ROLES, **_listing())
    with pytest.raises(XCServerError):
        _run(xc, clock)
    assert _methods(http).count("POST") == MAX_SERVER_ERRORS


def test_create_user_bad_request_propagates(http: Any, xc: XCClient, clock: FakeClock) -> None:
    http.add("POST", ROLES, status=400, json={"code": 3, "message": "role does not exist"})
    with pytest.raises(XCBadRequestError):
        _run(xc, clock)
    assert _methods(http) == ["POST"]


def test_create_user_partial_list_propagates(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a duplicate and a list answer that reports errors
    http.add("POST", ROLES, **DUPLICATE)
    http.add("GET", ROLES, json={"items": [], "errors": [{"code": "EPARTIAL", "message": "shard down"}]})
    # WHEN the user is created
    # THEN the incomplete list is not mistaken for "absent"
    with pytest.raises(XCPartialListError):
        _run(xc, clock)


def test_create_user_rate_limited_create_is_retried_by_the_client(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    http.add(
        "POST", ROLES, status=429, json={"code": 8, "message": "slow down"}, headers={"Retry-After": "1"}
    )
    http.add("POST", ROLES, json={})
    assert _run(xc, clock).created is True
    assert clock.slept == [1.0]


def test_lookup_user_existing_reports_roles_and_groups_without_changes(http: Any, xc: XCClient) -> None:
    # GIVEN the learner's own account
    http.add("GET", ROLES, json={"items": [_user(roles=[("prod", "admin")], groups=["own"])]})
    # WHEN a caller asks before creating
    lookup = UserLookup("/tenantOps-test/sec-lab", "Jane@Example.com")
    result = lookup_user(lookup, xc, deadline=Deadline.after(60))
    # THEN it exists, with what it holds, and only one GET was made
    assert result.to_body() == {
        "email": "Jane@Example.com",
        "exists": True,
        "namespace_roles": [{"namespace": "prod", "role": "admin"}],
        "group_names": ["own"],
    }
    assert [c.request.method for c in http.calls] == ["GET"]


def test_lookup_user_absent(http: Any, xc: XCClient) -> None:
    http.add("GET", ROLES, json={"items": [_user(email="someone@example.com")]})
    lookup = UserLookup("/tenantOps-test/sec-lab", "jane@example.com")
    result = lookup_user(lookup, xc, deadline=Deadline.after(60))
    assert result.exists is False and result.to_body()["namespace_roles"] == []
