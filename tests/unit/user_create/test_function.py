"""user_create.function: the handler end to end with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.tenant import TENANT_TOKEN, TENANT_URL
from user_create.function import lambda_handler

ROLES = f"{TENANT_URL}/api/web/custom/namespaces/system/user_roles"


def test_lambda_handler_new_user_returns_200_created(tenant_ssm: Any, http: Any, lambda_context: Any) -> None:
    # GIVEN a tenant without the user
    http.add("POST", ROLES, json={})
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN it answers 200 with what it added, using idm-type from SSM
    assert result["statusCode"] == 200
    assert result["body"]["created"] is True
    assert result["body"]["added_groups"] == ["xc-lab-users"]
    assert json.loads(http.calls[0].request.body)["idm_type"] == "SSO"


def test_lambda_handler_missing_idm_type_returns_500_naming_it(
    aws_mock: None, http: Any, lambda_context: Any
) -> None:
    # GIVEN a tenant without the idm-type parameter
    seed_tenant(boto3.client("ssm", region_name="us-east-1"), TENANT_URL, TENANT_TOKEN)
    # WHEN the handler runs
    result = lambda_handler(load_event("user_create_basic"), lambda_context)
    # THEN it fails before any XC call, naming the parameter
    assert result["statusCode"] == 500
    assert result["body"]["error"] == "ConfigError"
    assert f"{TEST_BASE_PATH}/idm-type" in result["body"]["message"]
    assert len(http.calls) == 0


def test_lambda_handler_user_not_visible_is_raised_for_retry(
    tenant_ssm: Any, http: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a duplicate answer for a user the list does not show (and no grace period to wait out)
    from user_create import core

    monkeypatch.setattr(core, "FIND_GRACE_S", 0.0)
    http.add("POST", ROLES, status=409, json={"code": 6, "message": "already exist"})
    http.add("GET", ROLES, json={"items": []})
    # WHEN the handler runs
    # THEN the retryable error is raised, not answered as success or as a permanent failure
    with pytest.raises(core.UserNotVisibleError):
        lambda_handler(load_event("user_create_basic"), lambda_context)
