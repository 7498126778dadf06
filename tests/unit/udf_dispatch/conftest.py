"""The deployment state table in moto, as deployed (hash key dep_id, TTL on ttl, stream on)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

TABLE = "tops-udf-lab-deployment-state-test"


def create_state_table(db: Any, name: str = TABLE) -> None:
    db.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "dep_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "dep_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    db.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})


@pytest.fixture
def db(aws_mock: None) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_state_table(client)
    yield client


@pytest.fixture
def dispatch_env(db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DEPLOYMENT_STATE_TABLE", TABLE)
    monkeypatch.setenv("UDF_QUEUE", "https://sqs.us-east-1.amazonaws.com/123456789012/tops-udf-queue-test")
    monkeypatch.delenv("TTL_EXTENSION_SECONDS", raising=False)
    monkeypatch.delenv("REPORT_BATCH_ITEM_FAILURES", raising=False)
    return db
