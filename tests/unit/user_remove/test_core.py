"""user_remove.core: cascade delete (gone, failures, delete_ok) and revoke mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.deadline import Deadline
from shared.names import NamespaceRole
from shared.xc.client import XCClient
from shared.xc.errors import XCAuthError, XCServerError
from tests.fixtures.tenant import TENANT_URL
from user_remove.core import remove_user
from user_remove.errors import UserDeleteError
from user_remove.models import Revocation, UserRemovalRequest

ROLES = f"{TENANT_URL}/api/web/custom/namespaces/system/user_roles"
CASCADE = f"{TENANT_URL}/api/web/custom/namespaces/system/users/cascade_delete"
BASE = "/tenantOps-test/sec-lab"
EMAIL = "jane@example.com"
ADMIN = NamespaceRole("ample-gull", "ves-io-admin-role")
DELETE = UserRemovalRequest(BASE, EMAIL)
REVOKE = UserRemovalRequest(BASE, EMAIL, Revocation(namespace_roles=(ADMIN,), group_names=("xc-lab-users",)))


def _item(name: str, kind: str, error: str = "") -> dict[str, str]:
    return {"object_name": name, "object_type": kind, "object_uid": f"uid-{name}", "error_message": error}


def _user(roles: list[tuple[str, str]], groups: list[str]) -> dict[str, Any]:
    return {
        "email": EMAIL,
        "name": EMAIL,
        "first_name": "Jane",
        "last_name": "Doe",
        "idm_type": "SSO",
        "type": "USER",
        "group_names": groups,
        "namespace_roles": [{"namespace": ns, "role": role} for ns, role in roles],
    }


def _methods(http: Any) -> list[str]:
    return [call.request.method for call in http.calls]


def test_remove_user_existing_is_deleted(http: Any, xc: XCClient) -> None:
    # GIVEN an existing user
    http.add("POST", CASCADE, json={"delete_ok": True, "items": [_item(EMAIL, "user")]})
    # WHEN it is removed
    result = remove_user(DELETE, xc, deadline=Deadline.after(60))
    # THEN one cascade delete by email removes it, and the result lists what went
    assert json.loads(http.calls[0].request.body) == {"email": EMAIL, "namespace": "system"}
    assert result.removed is True
    assert result.to_body()["state"] == "removed"
    assert [o.name for o in result.deleted] == [EMAIL]


def test_remove_user_missing_is_success(http: Any, xc: XCClient) -> None:
    http.add("POST", CASCADE, status=404, json={"code": 5, "message": "user not found"})
    result = remove_user(DELETE, xc, deadline=Deadline.after(60))
    assert result.removed is False
    assert result.to_body()["state"] == "absent"


def test_remove_user_item_error_is_a_failure(http: Any, xc: XCClient) -> None:
    # GIVEN a cascade delete that reports an error for one object
    http.add(
        "POST",
        CASCADE,
        json={
            "delete_ok": True,
            "items": [_item(EMAIL, "user"), _item("binding", "role_binding", error="backend timeout")],
        },
    )
    # WHEN the user is removed
    with pytest.raises(UserDeleteError) as info:
        remove_user(DELETE, xc, deadline=Deadline.after(60))
    # THEN it is a (retryable) failure naming the object
    assert info.value.retryable is True
    assert "binding" in str(info.value)


def test_remove_user_delete_not_ok_for_unknown_email_is_absent(http: Any, xc: XCClient) -> None:
    # GIVEN a tenant that answers an unknown email with delete_ok false and no items
    http.add("POST", CASCADE, json={"delete_ok": False, "items": []})
    http.add("GET", ROLES, json={"items": []})
    # WHEN the user is removed
    result = remove_user(DELETE, xc, deadline=Deadline.after(60))
    # THEN the list confirms it is gone, which is success
    assert result.to_body()["state"] == "absent"


def test_remove_user_delete_not_ok_while_user_exists_is_a_failure(http: Any, xc: XCClient) -> None:
    http.add("POST", CASCADE, json={"delete_ok": False, "items": []})
    http.add("GET", ROLES, json={"items": [_user([], [])]})
    with pytest.raises(UserDeleteError):
        remove_user(DELETE, xc, deadline=Deadline.after(60))


def test_remove_user_cascade_503_burst_is_absorbed(http: Any, xc: XCClient) -> None:
    http.add("POST", CASCADE, status=503, json={"code": 14, "message": "unavailable"})
    http.add("POST", CASCADE, json={"delete_ok": True, "items": [_item(EMAIL, "user")]})
    assert remove_user(DELETE, xc, deadline=Deadline.after(60)).removed is True
    assert len(http.calls) == 2


def test_remove_user_revoke_subtracts_only_what_the_user_has(http: Any, xc: XCClient) -> None:
    # GIVEN a user with the lab role, another role, the lab group and another group
    http.add(
        "GET",
        ROLES,
        json={
            "items": [
                _user(
                    [("ample-gull", "ves-io-admin-role"), ("system", "own-role")], ["staff", "xc-lab-users"]
                )
            ]
        },
    )
    http.add("PUT", ROLES, json={})
    # WHEN the lab's role and group are revoked
    result = remove_user(REVOKE, xc, deadline=Deadline.after(60))
    # THEN the PUT keeps everything else, and the user's own names and idm_type; nothing is deleted
    assert _methods(http) == ["GET", "PUT"]
    sent = json.loads(http.calls[1].request.body)
    assert sent["namespace_roles"] == [{"namespace": "system", "role": "own-role"}]
    assert sent["group_names"] == ["staff"]
    assert (sent["first_name"], sent["last_name"], sent["idm_type"]) == ("Jane", "Doe", "SSO")
    assert result.mode == "revoke"
    assert result.updated is True
    assert result.removed is False
    assert result.removed_roles == (ADMIN,)
    assert result.removed_groups == ("xc-lab-users",)


def test_remove_user_revoke_nothing_held_sends_no_update(http: Any, xc: XCClient) -> None:
    # GIVEN a user without the roles and groups to revoke
    http.add("GET", ROLES, json={"items": [_user([("system", "own-role")], ["staff"])]})
    # WHEN they are revoked
    result = remove_user(REVOKE, xc, deadline=Deadline.after(60))
    # THEN nothing is written
    assert _methods(http) == ["GET"]
    assert result.to_body()["state"] == "unchanged"


def test_remove_user_revoke_missing_user_is_done(http: Any, xc: XCClient) -> None:
    http.add("GET", ROLES, json={"items": []})
    result = remove_user(REVOKE, xc, deadline=Deadline.after(60))
    assert result.to_body()["state"] == "absent"
    assert _methods(http) == ["GET"]


def test_remove_user_revoke_only_groups_keeps_roles(http: Any, xc: XCClient) -> None:
    request = UserRemovalRequest(BASE, EMAIL, Revocation(group_names=("xc-lab-users",)))
    http.add("GET", ROLES, json={"items": [_user([("ample-gull", "ves-io-admin-role")], ["xc-lab-users"])]})
    http.add("PUT", ROLES, json={})
    result = remove_user(request, xc, deadline=Deadline.after(60))
    sent = json.loads(http.calls[1].request.body)
    assert sent["namespace_roles"] == [{"namespace": "ample-gull", "role": "ves-io-admin-role"}]
    assert sent["group_names"] == []
    assert result.removed_roles == ()


def test_remove_user_auth_error_propagates(http: Any, xc: XCClient) -> None:
    http.add("POST", CASCADE, status=403, json={"code": 7, "message": "Forbidden"})
    with pytest.raises(XCAuthError):
        remove_user(DELETE, xc, deadline=Deadline.after(60))


def test_remove_user_persistent_server_error_raises(http: Any, xc: XCClient) -> None:
    http.add("POST", CASCADE, status=500, json={"code": 13, "message": "internal"})
    with pytest.raises(XCServerError):
        remove_user(DELETE, xc, deadline=Deadline.after(60))
