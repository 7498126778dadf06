from __future__ import annotations

from typing import Any

import boto3
import pytest

from shared import aws
from shared.errors import ConfigError


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every boto3 Session made from now on."""
    made: list[Any] = []
    real = boto3.session.Session

    def counting(*args: Any, **kwargs: Any) -> Any:
        session = real(*args, **kwargs)
        made.append(session)
        return session

    monkeypatch.setattr(boto3.session, "Session", counting)
    return made


def test_clients_of_every_service_share_one_session(aws_mock: Any, sessions: list[Any]) -> None:
    # WHEN a worker makes the clients udf_worker makes
    aws.client("dynamodb")
    aws.client("ssm")
    aws.client("lambda", read_timeout=75.0, max_attempts=1)
    # THEN one Session (and so one load of botocore's data) served all three
    assert len(sessions) == 1
    assert aws.session() is sessions[0]


def test_client_is_memoised_per_service_and_settings(aws_mock: Any) -> None:
    assert aws.client("ssm") is aws.client("ssm")
    assert aws.client("lambda", read_timeout=75.0) is not aws.client("lambda")
    invoke: Any = aws.client("lambda", read_timeout=75.0, max_attempts=1)  # stubs omit Config's attributes
    assert invoke.meta.config.read_timeout == 75.0
    # one attempt in all: botocore's own `max_attempts` would count retries and send an invoke twice
    assert invoke.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_reset_forgets_the_session_and_its_clients(aws_mock: Any, sessions: list[Any]) -> None:
    first = aws.client("ssm")
    aws.reset()
    assert aws.client("ssm") is not first
    assert len(sessions) == 2


def test_client_region_comes_from_the_environment(aws_mock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    aws.reset()
    assert aws.client("ssm").meta.region_name == "eu-west-1"


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    """No credentials anywhere: no env keys, empty AWS config files, no instance metadata."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws.reset()
    return monkeypatch


def test_missing_credentials_are_a_config_error_saying_what_to_set(bare_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        aws.client("ssm")
    assert info.value.retryable is False
    assert "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID" in str(info.value)


def test_unknown_profile_is_a_config_error_naming_it(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(ConfigError) as info:
        aws.client("dynamodb")
    assert info.value.retryable is False
    assert "AWS_PROFILE 'no-such-profile' is not a profile" in str(info.value)
