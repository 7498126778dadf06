from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.errors import RetryableError
from tests.fixtures.tables import STATE_TABLE
from udf_dispatch import core
from udf_dispatch.models import Heartbeat, Outcome

NOW = dt.datetime(2025, 3, 1, 14, 2, 11, 123456, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(seconds=90)
HB = Heartbeat(
    dep_id="3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c",
    lab_id="d3c24766",
    email="jane@example.com",
    petname="ample-gull",
)


THROTTLED: Any = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}


def item(db: Any, dep_id: str = HB.dep_id) -> dict[str, Any]:
    key = {"dep_id": {"S": dep_id}}
    return db.get_item(TableName=STATE_TABLE, Key=key, ConsistentRead=True).get("Item", {})


def condition_failed() -> ClientError:
    return ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}}, "PutItem")


def test_record_heartbeat_first_message_inserts_starting_item(db: Any) -> None:
    # GIVEN an empty state table
    # WHEN the first heartbeat of a deployment is recorded
    outcome = core.record_heartbeat(db, STATE_TABLE, HB, now=NOW, ttl_extension=300)

    # THEN the item holds the identity, STARTING, created_at (ISO, no zone) and ttl = now + 300
    assert outcome is Outcome.INSERTED
    stored = item(db)
    epoch = int(NOW.timestamp())
    assert stored == {
        "dep_id": {"S": HB.dep_id},
        "lab_id": {"S": "d3c24766"},
        "email": {"S": "jane@example.com"},
        "petname": {"S": "ample-gull"},
        "deployment_status": {"S": "STARTING"},
        "created_at": {"S": "2025-03-01T14:02:11.123456"},
        "ttl": {"N": str(epoch + 300)},
    }


def test_record_heartbeat_created_at_always_has_microseconds(db: Any) -> None:
    core.record_heartbeat(db, STATE_TABLE, HB, now=NOW.replace(microsecond=0), ttl_extension=300)

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", item(db)["created_at"]["S"])


def test_record_heartbeat_later_message_moves_ttl_only(db: Any) -> None:
    # GIVEN an item the worker has already written its steps to
    core.record_heartbeat(db, STATE_TABLE, HB, now=NOW, ttl_extension=300)
    db.update_item(
        TableName=STATE_TABLE,
        Key={"dep_id": {"S": HB.dep_id}},
        UpdateExpression="SET deployment_status = :c, create_user = :s, tenant_url = :u",
        ExpressionAttributeValues={
            ":c": {"S": "COMPLETED"},
            ":s": {"S": "SUCCESS"},
            ":u": {"S": "https://t"},
        },
    )
    before = item(db)

    # WHEN a later (or duplicate) heartbeat arrives
    outcome = core.record_heartbeat(db, STATE_TABLE, HB, now=LATER, ttl_extension=300)

    # THEN only ttl, expiration and updated_at changed, in the deployed formats
    assert outcome is Outcome.EXTENDED
    after = item(db)
    epoch = int(LATER.timestamp())
    assert after["ttl"] == {"N": str(epoch + 300)}
    assert after["updated_at"] == {"N": str(epoch)}
    assert after["expiration"] == {"S": "2025-03-01 14:08:41 UTC"}
    unchanged = {k: v for k, v in after.items() if k not in ("ttl", "updated_at", "expiration")}
    assert unchanged == {k: v for k, v in before.items() if k != "ttl"}


def test_record_heartbeat_duplicate_first_message_never_overwrites(db: Any) -> None:
    # GIVEN the first heartbeat delivered twice
    core.record_heartbeat(db, STATE_TABLE, HB, now=NOW, ttl_extension=300)
    first = item(db)

    # WHEN the duplicate is recorded
    outcome = core.record_heartbeat(db, STATE_TABLE, HB, now=NOW, ttl_extension=300)

    # THEN it is a heartbeat, created_at and status are those of the first
    assert outcome is Outcome.EXTENDED
    second = item(db)
    assert second["created_at"] == first["created_at"]
    assert second["deployment_status"] == {"S": "STARTING"}


def test_record_heartbeat_custom_extension_is_used(db: Any) -> None:
    core.record_heartbeat(db, STATE_TABLE, HB, now=NOW, ttl_extension=600)

    assert item(db)["ttl"] == {"N": str(int(NOW.timestamp()) + 600)}


def test_record_heartbeat_disagreeing_identity_keeps_stored_values(
    db: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a deployment known with one petname
    core.record_heartbeat(db, STATE_TABLE, HB, now=NOW, ttl_extension=300)

    # WHEN a heartbeat for the same dep_id names another petname
    other = Heartbeat(HB.dep_id, HB.lab_id, HB.email, "other-name")
    with caplog.at_level(logging.WARNING):
        core.record_heartbeat(db, STATE_TABLE, other, now=LATER, ttl_extension=300)

    # THEN the stored petname stays and the disagreement is reported
    assert item(db)["petname"] == {"S": "ample-gull"}
    assert any("disagrees" in r.getMessage() for r in caplog.records)


class VanishingTable:
    """The item exists at the put but is swept before the update; `gone_times` such rounds."""

    def __init__(self, real: Any, gone_times: int) -> None:
        self.real = real
        self.gone_times = gone_times
        self.calls: list[str] = []

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("put")
        if self.gone_times > 0:
            raise condition_failed()
        return dict(self.real.put_item(**kwargs))

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("update")
        if self.gone_times > 0:
            self.gone_times -= 1
            raise condition_failed()
        return dict(self.real.update_item(**kwargs))


def test_record_heartbeat_item_swept_between_put_and_update_inserts_again(db: Any) -> None:
    # GIVEN an item that vanishes between the failed put and the update
    table = VanishingTable(db, gone_times=1)

    # WHEN the heartbeat is recorded
    outcome = core.record_heartbeat(table, STATE_TABLE, HB, now=NOW, ttl_extension=300)

    # THEN the put is tried once more and inserts
    assert outcome is Outcome.INSERTED
    assert table.calls == ["put", "update", "put"]
    assert item(db)["deployment_status"] == {"S": "STARTING"}


def test_record_heartbeat_item_keeps_vanishing_raises_retryable(db: Any) -> None:
    table = VanishingTable(db, gone_times=5)

    with pytest.raises(RetryableError):
        core.record_heartbeat(table, STATE_TABLE, HB, now=NOW, ttl_extension=300)

    assert table.calls == ["put", "update", "put", "update"]


def test_record_heartbeat_other_dynamodb_error_propagates(db: Any) -> None:
    class Throttled:
        def put_item(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError(THROTTLED, "PutItem")

        def update_item(self, **kwargs: Any) -> dict[str, Any]:
            raise AssertionError("not reached")

    with pytest.raises(ClientError):
        core.record_heartbeat(Throttled(), STATE_TABLE, HB, now=NOW, ttl_extension=300)


def test_handle_message_invalid_body_is_rejected_and_logged(
    db: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a message without a petname
    body = json.dumps({"dep_id": "d-1", "lab_id": "l1", "email": "jane@example.com"})

    # WHEN it is handled
    with caplog.at_level(logging.ERROR):
        outcome = core.handle_message(db, STATE_TABLE, "msg-1", body, now=NOW, ttl_extension=300)

    # THEN it is rejected (not raised), logged with the message id and field, and nothing is written
    assert outcome is Outcome.REJECTED
    record = next(r for r in caplog.records if r.getMessage() == "heartbeat rejected")
    assert record.__dict__["message_id"] == "msg-1"
    assert record.__dict__["field"] == "petname"
    assert db.scan(TableName=STATE_TABLE)["Count"] == 0
