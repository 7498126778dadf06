"""Fixtures for every test scope; the big ones live in tests/fixtures and load as plugins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared import aws

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.lambda_context",
    "tests.fixtures.clock",
    "tests.fixtures.xc",
    "tests.fixtures.acme",
    "tests.fixtures.logs",
    "tests.fixtures.tenant",
    "tests.fixtures.tables",
    "tests.fixtures.pipeline",
    "tests.fixtures.direct",
]


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region for every test, and no client memo carried between tests."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    aws.reset()
    yield
    aws.reset()
