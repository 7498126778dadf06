from __future__ import annotations

import logging

import pytest

from shared.errors import ConfigError, InputError, RetryableError
from shared.handler import UnexpectedError, run_direct
from shared.xc.errors import XCAuthError

log = logging.getLogger("test")


def test_run_direct_success_wraps_body():
    assert run_direct(log, lambda: {"x": 1}) == {"statusCode": 200, "body": {"x": 1}}


def test_run_direct_input_error_is_400_naming_field():
    def work() -> None:
        raise InputError("namespace_name", "must be a DNS-1035 label, got 'A'")

    result = run_direct(log, work)
    assert result["statusCode"] == 400
    assert result["body"]["field"] == "namespace_name" and result["body"]["retryable"] is False
    assert "namespace_name" in result["body"]["message"]


def test_run_direct_config_and_xc_errors_are_non_200():
    def config() -> None:
        raise ConfigError(["SSM parameter /x/token-value not found"])

    def auth() -> None:
        raise XCAuthError(status=401, method="GET", url="u", body='{"code":16,"message":"bad token"}')

    assert run_direct(log, config)["statusCode"] == 500
    result = run_direct(log, auth)
    assert result["statusCode"] == 502 and result["body"]["status"] == 401
    assert result["body"]["error"] == "XCAuthError" and "bad token" in result["body"]["message"]


def test_run_direct_retryable_error_is_raised():
    def work() -> None:
        raise RetryableError("try later")

    with pytest.raises(RetryableError):
        run_direct(log, work)


def test_run_direct_unexpected_exception_is_raised_masked_and_retryable():
    # GIVEN a library error whose text echoes the auth header (the runtime would hand it to the caller)
    def work() -> None:
        raise ValueError("bad header: ('Authorization', 'APIToken sekrit-token-value-123')")

    # WHEN the worker runs
    with pytest.raises(UnexpectedError) as caught:
        run_direct(log, work)

    # THEN it is raised (so the caller sees a FunctionError), retryable, without the token or a cause
    assert caught.value.retryable is True
    assert "sekrit-token-value-123" not in str(caught.value)
    assert str(caught.value).startswith("ValueError: bad header")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
