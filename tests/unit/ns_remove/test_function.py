"""ns_remove.function: the handler end to end with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

from typing import Any

import pytest

from ns_remove.function import lambda_handler
from tests.conftest import load_event
from tests.fixtures.tenant import TENANT_URL

CASCADE = f"{TENANT_URL}/api/web/namespaces/ample-gull/cascade_delete"


def test_lambda_handler_existing_namespace_returns_200_removed(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a namespace XC deletes
    http.add(
        "POST",
        CASCADE,
        json={
            "items": [
                {
                    "object_name": "ample-gull",
                    "object_type": "namespace",
                    "object_uid": "u",
                    "error_message": "",
                }
            ]
        },
    )
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    # THEN it answers 200 listing the deleted objects
    assert result["statusCode"] == 200
    assert result["body"]["removed"] is True
    assert result["body"]["deleted"] == [{"name": "ample-gull", "type": "namespace", "uid": "u"}]


def test_lambda_handler_missing_namespace_returns_200_absent(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    http.add("POST", CASCADE, status=404, json={"code": 5, "message": "not found"})
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    assert result["statusCode"] == 200
    assert result["body"]["state"] == "absent"


def test_lambda_handler_bad_path_returns_400_without_any_call(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    result = lambda_handler(load_event("ns_remove_bad_path"), lambda_context)
    assert result["statusCode"] == 400
    assert result["body"]["field"] == "ssm_base_path"
    assert len(http.calls) == 0


def test_lambda_handler_item_error_is_raised_not_reported_as_success(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a cascade delete that leaves an object behind
    http.add(
        "POST",
        CASCADE,
        json={
            "items": [
                {
                    "object_name": "lb",
                    "object_type": "http_loadbalancer",
                    "object_uid": "u",
                    "error_message": "internal error",
                }
            ]
        },
    )
    # WHEN the handler runs
    # THEN it raises for a retry instead of answering 200
    from ns_remove.core import CascadeDeleteError

    with pytest.raises(CascadeDeleteError):
        lambda_handler(load_event("ns_remove_basic"), lambda_context)


def test_lambda_handler_unauthorized_fails_clearly(tenant_ssm: Any, http: Any, lambda_context: Any) -> None:
    http.add("POST", CASCADE, status=401, json={"code": 16, "message": "invalid API token"})
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    assert result["statusCode"] == 502
    assert result["body"]["error"] == "XCAuthError"
    assert "invalid API token" in result["body"]["message"]
