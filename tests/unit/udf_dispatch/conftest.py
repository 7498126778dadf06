"""The deployment state table in moto, as deployed, and the dispatcher's environment."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.tables import STATE_TABLE


@pytest.fixture
def db(state_db: Any) -> Any:
    return state_db


@pytest.fixture
def dispatch_env(db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DEPLOYMENT_STATE_TABLE", STATE_TABLE)
    monkeypatch.setenv("UDF_QUEUE", "https://sqs.us-east-1.amazonaws.com/123456789012/tops-udf-queue-test")
    monkeypatch.delenv("TTL_EXTENSION_SECONDS", raising=False)
    monkeypatch.delenv("REPORT_BATCH_ITEM_FAILURES", raising=False)
    return db
