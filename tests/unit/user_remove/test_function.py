"""user_remove.function: the handler end to end with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

from typing import Any

from tests.fixtures.events import load_event
from tests.fixtures.tenant import TENANT_URL
from user_remove.function import lambda_handler

ROLES = f"{TENANT_URL}/api/web/custom/namespaces/system/user_roles"
CASCADE = f"{TENANT_URL}/api/web/custom/namespaces/system/users/cascade_delete"


def test_lambda_handler_delete_mode_returns_200_removed(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    http.add("POST", CASCADE, json={"delete_ok": True, "items": []})
    result = lambda_handler(load_event("user_remove_basic"), lambda_context)
    assert result["statusCode"] == 200
    assert result["body"]["mode"] == "delete"
    assert result["body"]["removed"] is True


def test_lambda_handler_revoke_mode_never_deletes(tenant_ssm: Any, http: Any, lambda_context: Any) -> None:
    # GIVEN a revoke payload and a user holding the lab's role and group
    http.add(
        "GET",
        ROLES,
        json={
            "items": [
                {
                    "email": "jane@example.com",
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "group_names": ["xc-lab-users"],
                    "namespace_roles": [{"namespace": "ample-gull", "role": "ves-io-admin-role"}],
                }
            ]
        },
    )
    http.add("PUT", ROLES, json={})
    # WHEN the handler runs
    result = lambda_handler(load_event("user_remove_revoke"), lambda_context)
    # THEN the roles are revoked and no cascade delete is sent
    assert result["statusCode"] == 200
    assert result["body"]["mode"] == "revoke"
    assert result["body"]["removed_groups"] == ["xc-lab-users"]
    assert all("cascade_delete" not in call.request.url for call in http.calls)
