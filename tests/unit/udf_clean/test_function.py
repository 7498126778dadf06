from __future__ import annotations

import time
from typing import Any

import pytest

from shared.errors import ConfigError
from tests.fixtures.events import load_event
from tests.fixtures.tables import STATE_TABLE
from udf_clean.function import lambda_handler


@pytest.fixture
def db(state_db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DEPLOYMENT_STATE_TABLE", STATE_TABLE)
    return state_db


def test_lambda_handler_schedule_deletes_expired_and_reports_counts(db: Any, lambda_context: Any) -> None:
    # GIVEN one expired and one live deployment
    now = int(time.time())
    db.put_item(TableName=STATE_TABLE, Item={"dep_id": {"S": "old"}, "ttl": {"N": str(now - 30)}})
    db.put_item(TableName=STATE_TABLE, Item={"dep_id": {"S": "live"}, "ttl": {"N": str(now + 300)}})

    # WHEN the schedule fires
    result = lambda_handler(load_event("udf_clean_schedule"), lambda_context)

    # THEN the expired one is deleted
    assert result == {"scanned": 2, "expired": 1, "deleted": 1, "skipped": 0}
    assert [i["dep_id"]["S"] for i in db.scan(TableName=STATE_TABLE)["Items"]] == ["live"]


def test_lambda_handler_without_table_setting_is_config_error(
    db: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEPLOYMENT_STATE_TABLE")

    with pytest.raises(ConfigError, match="DEPLOYMENT_STATE_TABLE"):
        lambda_handler(load_event("udf_clean_schedule"), lambda_context)
