from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.tables import STATE_TABLE
from udf_clean import core
from udf_clean.errors import SweepError
from udf_clean.models import SweepResult

NOW = 1_740_838_000


@pytest.fixture
def db(state_db: Any) -> Any:
    return state_db


def put(db: Any, dep_id: str, ttl: int | None, **extra: str) -> None:
    item: dict[str, Any] = {"dep_id": {"S": dep_id}, "deployment_status": {"S": "COMPLETED"}}
    if ttl is not None:
        item["ttl"] = {"N": str(ttl)}
    item.update({k: {"S": v} for k, v in extra.items()})
    db.put_item(TableName=STATE_TABLE, Item=item)


def remaining(db: Any) -> set[str]:
    return {i["dep_id"]["S"] for i in db.scan(TableName=STATE_TABLE)["Items"]}


class SmallPages:
    """The moto client, with Scan pages of `limit` items (a 1 MB page in the real service)."""

    def __init__(self, real: Any, limit: int) -> None:
        self.real = real
        self.limit = limit
        self.scans: list[dict[str, Any]] = []
        self.deletes: list[dict[str, Any]] = []

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        self.scans.append(kwargs)
        return dict(self.real.scan(Limit=self.limit, **kwargs))

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        self.deletes.append(kwargs)
        return dict(self.real.delete_item(**kwargs))


def test_sweep_expired_deletes_expired_items_on_every_page(db: Any) -> None:
    # GIVEN seven expired items, three live ones and one without ttl, read two per page
    for i in range(7):
        put(db, f"old-{i}", NOW - 1 - i)
    for i in range(3):
        put(db, f"live-{i}", NOW + 100)
    put(db, "no-ttl", None)
    client = SmallPages(db, limit=2)

    # WHEN the sweep runs
    result = core.sweep_expired(client, STATE_TABLE, now=NOW)

    # THEN every expired item is gone, whatever page it was on; the others stay
    assert result == SweepResult(scanned=11, expired=7, deleted=7, skipped=0)
    assert remaining(db) == {"live-0", "live-1", "live-2", "no-ttl"}
    assert len(client.scans) >= 6


def test_sweep_expired_reads_only_key_and_ttl(db: Any) -> None:
    put(db, "old", NOW - 5)
    client = SmallPages(db, limit=100)

    core.sweep_expired(client, STATE_TABLE, now=NOW)

    scan = client.scans[0]
    assert scan["ProjectionExpression"] == "dep_id, #ttl"
    assert scan["FilterExpression"] == "#ttl < :now"
    assert scan["ExpressionAttributeNames"] == {"#ttl": "ttl"}
    assert client.deletes[0]["ConditionExpression"] == "#ttl < :now"


def test_sweep_expired_item_at_exactly_now_is_kept(db: Any) -> None:
    put(db, "edge", NOW)

    result = core.sweep_expired(db, STATE_TABLE, now=NOW)

    assert result.deleted == 0
    assert remaining(db) == {"edge"}


def test_sweep_expired_heartbeat_between_scan_and_delete_wins(db: Any) -> None:
    # GIVEN two expired items; a heartbeat extends the first one's ttl right before its delete
    put(db, "revived", NOW - 10)
    put(db, "dead", NOW - 10)

    class HeartbeatInBetween(SmallPages):
        def delete_item(self, **kwargs: Any) -> dict[str, Any]:
            if kwargs["Key"]["dep_id"]["S"] == "revived":
                self.real.update_item(
                    TableName=STATE_TABLE,
                    Key=kwargs["Key"],
                    UpdateExpression="SET #t = :t",
                    ExpressionAttributeNames={"#t": "ttl"},
                    ExpressionAttributeValues={":t": {"N": str(NOW + 300)}},
                )
            return super().delete_item(**kwargs)

    # WHEN the sweep runs
    result = core.sweep_expired(HeartbeatInBetween(db, limit=10), STATE_TABLE, now=NOW)

    # THEN the revived lab is skipped, not torn down
    assert result == SweepResult(scanned=2, expired=2, deleted=1, skipped=1)
    assert remaining(db) == {"revived"}


def test_sweep_expired_delete_error_tries_the_rest_then_raises(db: Any) -> None:
    # GIVEN three expired items, the delete of one failing
    for name in ("a", "b", "c"):
        put(db, name, NOW - 1)

    class OneFails(SmallPages):
        def delete_item(self, **kwargs: Any) -> dict[str, Any]:
            if kwargs["Key"]["dep_id"]["S"] == "b":
                raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "DeleteItem")
            return super().delete_item(**kwargs)

    # WHEN the sweep runs
    with pytest.raises(SweepError) as caught:
        core.sweep_expired(OneFails(db, limit=10), STATE_TABLE, now=NOW)

    # THEN the others are deleted and the error is retryable and counts them
    assert caught.value.retryable
    assert caught.value.result.deleted == 2
    assert remaining(db) == {"b"}


def test_sweep_expired_twice_second_finds_nothing(db: Any) -> None:
    put(db, "old", NOW - 1)

    core.sweep_expired(db, STATE_TABLE, now=NOW)
    result = core.sweep_expired(db, STATE_TABLE, now=NOW)

    assert result == SweepResult(scanned=0, expired=0, deleted=0, skipped=0)
