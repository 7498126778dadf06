"""ns_remove.function: the handler end to end with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import responses

from ns_remove.function import lambda_handler
from tests.conftest import load_event
from tests.fixtures.lambda_context import seed_tenant

URL = "https://tenant.example.test"
CASCADE = f"{URL}/api/web/namespaces/ample-gull/cascade_delete"
TOKEN = "unit-token-0123456789"


@pytest.fixture
def ssm(aws_mock: None) -> Any:
    client = boto3.client("ssm", region_name="us-east-1")
    seed_tenant(client, URL, TOKEN)
    return client


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_lambda_handler_existing_namespace_returns_200_removed(
    ssm: Any, http: Any, lambda_context: Any
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
    ssm: Any, http: Any, lambda_context: Any
) -> None:
    http.add("POST", CASCADE, status=404, json={"code": 5, "message": "not found"})
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    assert result["statusCode"] == 200
    assert result["body"]["state"] == "absent"


def test_lambda_handler_bad_path_returns_400_without_any_call(
    ssm: Any, http: Any, lambda_context: Any
) -> None:
    result = lambda_handler(load_event("ns_remove_bad_path"), lambda_context)
    assert result["statusCode"] == 400
    assert result["body"]["field"] == "ssm_base_path"
    assert len(http.calls) == 0


def test_lambda_handler_item_error_is_raised_not_reported_as_success(
    ssm: Any, http: Any, lambda_context: Any
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


def test_lambda_handler_unauthorized_fails_clearly(ssm: Any, http: Any, lambda_context: Any) -> None:
    http.add("POST", CASCADE, status=401, json={"code": 16, "message": "invalid API token"})
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    assert result["statusCode"] == 502
    assert result["body"]["error"] == "XCAuthError"
    assert "invalid API token" in result["body"]["message"]
