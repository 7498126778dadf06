"""shared.tenant.call_with_tenant: SSM in moto, XC faked by `responses`, the 401 re-read."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from shared import config, tenant
from shared.config import PARAM_IDM_TYPE, Tenant
from shared.errors import ConfigError
from shared.xc.client import XCClient
from shared.xc.errors import XCAuthError
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.tenant import TENANT_TOKEN, TENANT_URL

ONE = f"{TENANT_URL}/api/web/namespaces/ample-gull"
ROTATED = "rotated-token-987654"
UNAUTHORIZED: dict[str, Any] = {"status": 401, "json": {"code": 16, "message": "invalid API token"}}
FORBIDDEN: dict[str, Any] = {"status": 403, "json": {"code": 7, "message": "permission denied"}}


def _get(seen: list[Tenant]) -> Any:
    """A call that records the tenant it ran for and reads the namespace."""

    def call(found: Tenant, xc: XCClient) -> Any:
        seen.append(found)
        return xc.request("GET", "/api/web/namespaces/ample-gull")

    return call


def _rotate(ssm: Any) -> None:
    """Cache the current token (as an earlier invocation would have), then rotate it in SSM."""
    config.load_tenant(TEST_BASE_PATH)
    seed_tenant(ssm, TENANT_URL, ROTATED)


def _tokens(http: Any) -> list[str]:
    return [call.request.headers["Authorization"] for call in http.calls]


def test_call_with_tenant_passes_tenant_and_client_and_returns_the_result(tenant_ssm: Any, http: Any) -> None:
    # GIVEN a tenant in SSM with an extra parameter, and an XC that answers
    http.add("GET", ONE, json={"metadata": {"name": "ample-gull"}})
    seen: list[Tenant] = []
    # WHEN a call runs for it
    result = tenant.call_with_tenant(TEST_BASE_PATH, _get(seen), extra=(PARAM_IDM_TYPE,))
    # THEN it got the SSM values and a client with the SSM token, and its result is returned
    assert result == {"metadata": {"name": "ample-gull"}}
    assert [(t.url, t.token.reveal(), t.params[PARAM_IDM_TYPE]) for t in seen] == [
        (TENANT_URL, TENANT_TOKEN, "SSO")
    ]
    assert _tokens(http) == [f"APIToken {TENANT_TOKEN}"]


def test_call_with_tenant_401_with_rotated_token_retries_with_new_token(tenant_ssm: Any, http: Any) -> None:
    # GIVEN a cached token that XC refuses, and a rotated one in SSM
    _rotate(tenant_ssm)
    http.add("GET", ONE, **UNAUTHORIZED)
    http.add("GET", ONE, json={"ok": True})
    seen: list[Tenant] = []
    # WHEN a call runs
    result = tenant.call_with_tenant(TEST_BASE_PATH, _get(seen))
    # THEN SSM is read again, bypassing the cache, and the call is made once more with the new token
    assert result == {"ok": True}
    assert _tokens(http) == [f"APIToken {TENANT_TOKEN}", f"APIToken {ROTATED}"]
    assert [t.token.reveal() for t in seen] == [TENANT_TOKEN, ROTATED]


def test_call_with_tenant_401_with_same_token_raises_after_one_call(tenant_ssm: Any, http: Any) -> None:
    # GIVEN a token XC refuses, and the same token in SSM
    http.add("GET", ONE, **UNAUTHORIZED)
    seen: list[Tenant] = []
    # WHEN a call runs
    # THEN the 401 is raised without a second call: the same token would be refused again
    with pytest.raises(XCAuthError) as info:
        tenant.call_with_tenant(TEST_BASE_PATH, _get(seen))
    assert info.value.status == 401
    assert len(http.calls) == 1 and len(seen) == 1


def test_call_with_tenant_second_401_is_raised(tenant_ssm: Any, http: Any) -> None:
    # GIVEN a rotated token that XC refuses too
    _rotate(tenant_ssm)
    http.add("GET", ONE, **UNAUTHORIZED)
    # WHEN / THEN the second 401 is raised, after exactly two calls
    with pytest.raises(XCAuthError):
        tenant.call_with_tenant(TEST_BASE_PATH, _get([]))
    assert _tokens(http) == [f"APIToken {TENANT_TOKEN}", f"APIToken {ROTATED}"]


def test_call_with_tenant_403_is_raised_without_reading_ssm_again(tenant_ssm: Any, http: Any) -> None:
    # GIVEN a token rotated in SSM, but a 403 (a missing role, not a stale token)
    _rotate(tenant_ssm)
    http.add("GET", ONE, **FORBIDDEN)
    # WHEN / THEN the 403 is raised after one call
    with pytest.raises(XCAuthError) as info:
        tenant.call_with_tenant(TEST_BASE_PATH, _get([]))
    assert info.value.status == 403
    assert len(http.calls) == 1


def test_call_with_tenant_force_fetch_reads_past_the_cache(tenant_ssm: Any, http: Any) -> None:
    # GIVEN a cached token and a rotated one in SSM
    _rotate(tenant_ssm)
    http.add("GET", ONE, json={})
    # WHEN a call runs with force_fetch
    tenant.call_with_tenant(TEST_BASE_PATH, _get([]), force_fetch=True)
    # THEN the first call already uses the rotated token
    assert _tokens(http) == [f"APIToken {ROTATED}"]


def test_call_with_tenant_missing_parameters_raise_before_any_call(aws_mock: None, http: Any) -> None:
    # GIVEN no SSM parameters
    seen: list[Tenant] = []
    # WHEN / THEN the ConfigError names them, and the call never runs
    with pytest.raises(ConfigError) as info:
        tenant.call_with_tenant(TEST_BASE_PATH, _get(seen))
    assert f"{TEST_BASE_PATH}/tenant-url" in str(info.value)
    assert seen == [] and len(http.calls) == 0


def test_call_with_tenant_closes_each_client(
    tenant_ssm: Any, http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a rotated token, a 401 and then an accepted call, and clients that record being closed
    closed: list[XCClient] = []

    class RecordingClient(XCClient):
        def close(self) -> None:
            closed.append(self)
            super().close()

    monkeypatch.setattr(tenant, "XCClient", RecordingClient)
    _rotate(tenant_ssm)
    http.add("GET", ONE, **UNAUTHORIZED)
    http.add("GET", ONE, json={})
    clients: list[XCClient] = []

    def call(found: Tenant, xc: XCClient) -> Any:
        clients.append(xc)
        return xc.request("GET", "/api/web/namespaces/ample-gull")

    # WHEN a call runs twice (401, then the new token)
    tenant.call_with_tenant(TEST_BASE_PATH, call)
    # THEN both clients were closed, the one that failed too
    assert len(clients) == 2 and closed == clients


def test_call_with_tenant_logs_the_reread_once_without_the_token(tenant_ssm: Any, http: Any) -> None:
    # GIVEN a rotated token and a 401 on the cached one, and the module's log records kept
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    logging.getLogger("shared.tenant").addHandler(handler)
    _rotate(tenant_ssm)
    http.add("GET", ONE, **UNAUTHORIZED)
    http.add("GET", ONE, json={})
    # WHEN a call runs
    try:
        tenant.call_with_tenant(TEST_BASE_PATH, _get([]))
    finally:
        logging.getLogger("shared.tenant").removeHandler(handler)
    # THEN one warning says SSM was read again, and neither token is in it
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("WARNING", "401 from the tenant; reading the token from SSM again")
    ]
    assert not any(TENANT_TOKEN in r.getMessage() or ROTATED in r.getMessage() for r in records)
