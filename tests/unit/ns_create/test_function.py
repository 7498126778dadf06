"""ns_create.function: the handler end to end with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

from typing import Any

import pytest

from ns_create.function import lambda_handler
from tests.conftest import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH
from tests.fixtures.tenant import TENANT_TOKEN, TENANT_URL

NS = f"{TENANT_URL}/api/web/namespaces"
ONE = f"{NS}/ample-gull"


def test_lambda_handler_new_namespace_returns_200_created(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a tenant in SSM and an XC that creates the namespace
    http.add("POST", NS, json={})
    http.add("GET", ONE, json={"metadata": {"name": "ample-gull"}, "system_metadata": {}})
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it answers 200 with the outcome, having sent the SSM token
    assert result["statusCode"] == 200
    assert result["body"]["namespace"] == "ample-gull"
    assert result["body"]["created"] is True
    assert result["body"]["state"] == "created"
    assert http.calls[0].request.headers["Authorization"] == f"APIToken {TENANT_TOKEN}"


def test_lambda_handler_bad_name_returns_400_without_any_call(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN an invalid namespace name
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_bad_name"), lambda_context)
    # THEN it answers 400 naming the field, and calls nothing
    assert result["statusCode"] == 400
    assert result["body"]["field"] == "namespace_name"
    assert result["body"]["error"] == "InputError"
    assert result["body"]["retryable"] is False
    assert len(http.calls) == 0


def test_lambda_handler_missing_tenant_returns_500_naming_parameter(
    aws_mock: None, http: Any, lambda_context: Any
) -> None:
    # GIVEN no SSM parameters at all
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN the configuration error names the missing parameters
    assert result["statusCode"] == 500
    assert result["body"]["error"] == "ConfigError"
    assert f"{TEST_BASE_PATH}/tenant-url" in result["body"]["message"]
    assert f"{TEST_BASE_PATH}/token-value" in result["body"]["message"]
    assert len(http.calls) == 0


def test_lambda_handler_unauthorized_rereads_ssm_then_fails_clearly(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a token XC rejects, also after a fresh SSM read
    http.add("POST", NS, status=401, json={"code": 16, "message": "invalid API token"})
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it fails with a 502 naming XCAuthError and XC's message, after exactly two tries
    assert result["statusCode"] == 502
    assert result["body"]["error"] == "XCAuthError"
    assert result["body"]["status"] == 401
    assert "invalid API token" in result["body"]["message"]
    assert TENANT_TOKEN not in str(result)
    assert len(http.calls) == 1


def test_lambda_handler_unauthorized_with_rotated_token_uses_new_token(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a cached token that XC rejects, and a rotated one in SSM
    from shared.config import load_tenant

    load_tenant(TEST_BASE_PATH)  # warm the 300 s cache with the old token
    tenant_ssm.put_parameter(
        Name=f"{TEST_BASE_PATH}/token-value",
        Value="rotated-token-987654",
        Type="SecureString",
        Overwrite=True,
    )
    http.add("POST", NS, status=401, json={"code": 16, "message": "invalid API token"})
    http.add("POST", NS, json={})
    http.add("GET", ONE, json={"metadata": {"name": "ample-gull"}})
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_create_basic"), lambda_context)
    # THEN it re-reads SSM once and succeeds with the new token
    assert result["statusCode"] == 200
    assert http.calls[1].request.headers["Authorization"] == "APIToken rotated-token-987654"


def test_lambda_handler_server_error_is_raised_for_retry(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a tenant that keeps failing reads with 503
    http.add("POST", NS, json={})
    http.add(
        "GET", ONE, status=503, json={"code": 14, "message": "unavailable"}, headers={"Retry-After": "0"}
    )
    # WHEN the handler runs
    # THEN the retryable error is raised (Lambda reports a FunctionError the caller retries)
    from shared.xc.errors import XCServerError

    with pytest.raises(XCServerError):
        lambda_handler(load_event("ns_create_basic"), lambda_context)
