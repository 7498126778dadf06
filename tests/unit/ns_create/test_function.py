"""ns_create.function: the handler end to end with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

from typing import Any

from ns_create.function import lambda_handler
from tests.fixtures.events import load_event
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
