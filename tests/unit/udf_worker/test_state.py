from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shared.errors import InputError
from tests.fixtures.events import load_event
from tests.fixtures.tables import STATE_TABLE
from tests.unit.udf_worker.fakes import Rig
from udf_worker import core
from udf_worker.errors import DeploymentGone
from udf_worker.state import StateTable


def test_state_update_sets_adds_and_keeps_existing_values(rig: Rig) -> None:
    rig.start("d1", user_preexisting=False)
    table = StateTable(rig.db, STATE_TABLE)

    table.update(
        "d1",
        set_={"ttl_is_not_touched": "x"},
        set_if_absent={"user_preexisting": True},
        add={"user_added_groups": {"a"}, "user_added_roles": set()},
    )
    table.update("d1", add={"user_added_groups": {"a", "b"}}, remove=("ttl_is_not_touched",))

    item: Any = table.get("d1")
    assert item["user_preexisting"] is False
    assert item["user_added_groups"] == {"a", "b"}
    assert "user_added_roles" not in item and "ttl_is_not_touched" not in item
    assert item["ttl"] == 1740838031


def test_state_update_of_missing_item_raises_gone_and_creates_nothing(rig: Rig) -> None:
    table = StateTable(rig.db, STATE_TABLE)

    with pytest.raises(DeploymentGone):
        table.update("nope", set_={"deployment_status": "IN_PROGRESS"})

    assert table.get("nope") is None


def test_state_reserved_words_are_aliased(rig: Rig) -> None:
    rig.start("d1")
    table = StateTable(rig.db, STATE_TABLE)

    table.update("d1", set_={"name": "n", "status": "s"})

    item: Any = table.get("d1")
    assert (item["name"], item["status"]) == ("n", "s")


def test_stream_change_reads_lambda_event_records() -> None:
    insert = core.stream_change(DynamoDBRecord(load_event("udf_worker_insert")["Records"][0]))
    remove = core.stream_change(DynamoDBRecord(load_event("udf_worker_remove")["Records"][0]))
    modify = core.stream_change(DynamoDBRecord(load_event("udf_worker_modify")["Records"][0]))

    assert (insert.event_name, insert.dep_id, insert.old_image) == (
        "INSERT",
        "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c",
        None,
    )
    assert remove.event_name == "REMOVE"
    assert remove.old_image is not None and remove.old_image["create_user"] == "SUCCESS"
    assert remove.sequence_number == "100000000012345680117"
    assert modify.event_name == "MODIFY"


def test_stream_change_without_key_is_input_error() -> None:
    record = load_event("udf_worker_insert")["Records"][0]
    record["dynamodb"]["Keys"] = {}

    with pytest.raises(InputError):
        core.stream_change(DynamoDBRecord(record))
