"""ns_remove.function: the handler end to end with SSM in moto and XC faked by `responses`."""

from __future__ import annotations

from typing import Any

import pytest

from ns_remove.function import lambda_handler
from tests.fixtures.events import load_event
from tests.fixtures.tenant import TENANT_URL

CASCADE = f"{TENANT_URL}/api/web/namespaces/ample-gull/cascade_delete"


def cascade_answer(name: str, kind: str, *, error: str = "") -> dict[str, Any]:
    """XC's answer to a cascade delete that reached one object."""
    return {"items": [{"object_name": name, "object_type": kind, "object_uid": "u", "error_message": error}]}


def test_lambda_handler_existing_namespace_returns_200_removed(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a namespace XC deletes
    http.add("POST", CASCADE, json=cascade_answer("ample-gull", "namespace"))
    # WHEN the handler runs
    result = lambda_handler(load_event("ns_remove_basic"), lambda_context)
    # THEN it answers 200 listing the deleted objects
    assert result["statusCode"] == 200
    assert result["body"]["removed"] is True
    assert result["body"]["deleted"] == [{"name": "ample-gull", "type": "namespace", "uid": "u"}]


def test_lambda_handler_item_error_is_raised_not_reported_as_success(
    tenant_ssm: Any, http: Any, lambda_context: Any
) -> None:
    # GIVEN a cascade delete that leaves an object behind
    http.add("POST", CASCADE, json=cascade_answer("lb", "http_loadbalancer", error="internal error"))
    # WHEN the handler runs
    # THEN it raises for a retry instead of answering 200
    from ns_remove.errors import CascadeDeleteError

    with pytest.raises(CascadeDeleteError):
        lambda_handler(load_event("ns_remove_basic"), lambda_context)
