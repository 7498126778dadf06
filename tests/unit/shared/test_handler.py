from __future__ import annotations

import logging

import pytest

from shared.errors import ConfigError, InputError, RetryableError
from shared.handler import run_direct
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


def test_run_direct_unexpected_exception_propagates():
    def work() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_direct(log, work)
