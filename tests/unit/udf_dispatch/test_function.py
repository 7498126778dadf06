from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.batch import BatchFailedError
from shared.errors import ConfigError, InputError
from tests.fixtures.events import load_event
from tests.fixtures.tables import STATE_TABLE
from udf_dispatch import core
from udf_dispatch.function import lambda_handler

DEP_A = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"
DEP_B = "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"


def items(db: Any) -> dict[str, dict[str, Any]]:
    return {i["dep_id"]["S"]: i for i in db.scan(TableName=STATE_TABLE, ConsistentRead=True)["Items"]}


def fail_for(monkeypatch: pytest.MonkeyPatch, dep_id: str) -> None:
    """Make recording `dep_id` fail as throttling would after the SDK's retries."""
    real = core.record_heartbeat

    def flaky(db: Any, table: str, heartbeat: Any, **kwargs: Any) -> Any:
        if heartbeat.dep_id == dep_id:
            error: Any = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
            raise ClientError(error, "PutItem")
        return real(db, table, heartbeat, **kwargs)

    monkeypatch.setattr(core, "record_heartbeat", flaky)


def test_lambda_handler_heartbeat_inserts_item(dispatch_env: Any, lambda_context: Any) -> None:
    # GIVEN one heartbeat as SQS delivers it
    # WHEN the handler runs
    result = lambda_handler(load_event("udf_dispatch_heartbeat"), lambda_context)

    # THEN nothing failed and the deployment is STARTING
    assert result == {"batchItemFailures": []}
    assert items(dispatch_env)[DEP_A]["deployment_status"] == {"S": "STARTING"}


def test_lambda_handler_same_event_twice_ends_in_same_state(dispatch_env: Any, lambda_context: Any) -> None:
    event = load_event("udf_dispatch_heartbeat")
    lambda_handler(event, lambda_context)
    first = items(dispatch_env)[DEP_A]

    lambda_handler(event, lambda_context)

    second = items(dispatch_env)[DEP_A]
    assert {k: v for k, v in second.items() if k not in ("ttl", "expiration", "updated_at")} == {
        k: v for k, v in first.items() if k != "ttl"
    }


def test_lambda_handler_bad_message_does_not_affect_others(dispatch_env: Any, lambda_context: Any) -> None:
    # GIVEN a batch of two good heartbeats and one body that is not JSON
    event = load_event("udf_dispatch_batch")

    # WHEN the handler runs (partial responses off, as deployed)
    result = lambda_handler(event, lambda_context)

    # THEN the bad message counts as handled (it could never succeed) and both good ones are stored
    assert result == {"batchItemFailures": []}
    assert set(items(dispatch_env)) == {DEP_A, DEP_B}


@pytest.mark.parametrize(
    "body",
    [
        "not json {",
        json.dumps({"lab_id": "d3c24766", "email": "jane@example.com", "petname": "ample-gull"}),
        json.dumps({"dep_id": "d-1", "email": "jane@example.com", "petname": "ample-gull"}),
        json.dumps({"dep_id": "d-1", "lab_id": "d3c24766", "petname": "ample-gull"}),
        json.dumps({"dep_id": "d-1", "lab_id": "d3c24766", "email": "jane@example.com"}),
        json.dumps({"dep_id": 1, "lab_id": "d3c24766", "email": "jane@example.com", "petname": "ample-gull"}),
        json.dumps(
            {"dep_id": "d-1", "lab_id": "d3c24766", "email": "jane@example.com", "petname": "Bad_Name"}
        ),
        json.dumps(["dep_id"]),
    ],
)
def test_lambda_handler_each_bad_message_alone_is_dropped_not_retried(
    dispatch_env: Any,
    lambda_context: Any,
    body: str,
) -> None:
    # GIVEN a batch of one bad message (batch size 1, as deployed)
    event = load_event("udf_dispatch_heartbeat")
    event["Records"][0]["body"] = body

    # WHEN the handler runs
    result = lambda_handler(event, lambda_context)

    # THEN the invocation succeeds (SQS deletes it: redelivery can never help) and nothing is stored
    assert result == {"batchItemFailures": []}
    assert items(dispatch_env) == {}


def test_lambda_handler_transient_failure_with_partial_responses_reports_only_it(
    dispatch_env: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the mapping reports batch item failures, and storing deployment B fails transiently
    monkeypatch.setenv("REPORT_BATCH_ITEM_FAILURES", "true")
    fail_for(monkeypatch, DEP_B)
    event = load_event("udf_dispatch_batch")

    # WHEN the batch is handled
    result = lambda_handler(event, lambda_context)

    # THEN only B's message is reported (the bad one is not: it is dropped), and A is stored
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert set(items(dispatch_env)) == {DEP_A}


def test_lambda_handler_transient_failure_without_partial_responses_fails_invocation(
    dispatch_env: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the deployed mapping (no partial responses), and storing deployment B fails transiently
    fail_for(monkeypatch, DEP_B)

    # WHEN the batch is handled
    # THEN the invocation fails, so SQS redelivers the batch (A again is harmless: a heartbeat)
    with pytest.raises(BatchFailedError) as caught:
        lambda_handler(load_event("udf_dispatch_batch"), lambda_context)
    assert caught.value.retryable
    assert caught.value.failed == 1
    assert set(items(dispatch_env)) == {DEP_A}


def test_lambda_handler_single_record_transient_failure_raises(
    dispatch_env: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN batch size 1 and a transient failure: every record of the batch failed
    fail_for(monkeypatch, DEP_A)

    # THEN the invocation fails in both modes
    for report in ("false", "true"):
        monkeypatch.setenv("REPORT_BATCH_ITEM_FAILURES", report)
        with pytest.raises(BatchFailedError) as caught:
            lambda_handler(load_event("udf_dispatch_heartbeat"), lambda_context)
        assert (caught.value.failed, caught.value.total) == (1, 1)


def test_lambda_handler_ttl_extension_setting_is_used(
    dispatch_env: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TTL_EXTENSION_SECONDS", "900")

    lambda_handler(load_event("udf_dispatch_heartbeat"), lambda_context)

    stored = items(dispatch_env)[DEP_A]
    created = int(stored["ttl"]["N"]) - 900
    assert abs(created - dt.datetime.now(dt.UTC).timestamp()) < 60


def test_lambda_handler_missing_table_setting_is_config_error(
    dispatch_env: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEPLOYMENT_STATE_TABLE")
    monkeypatch.setenv("TTL_EXTENSION_SECONDS", "soon")

    with pytest.raises(ConfigError) as caught:
        lambda_handler(load_event("udf_dispatch_heartbeat"), lambda_context)

    assert len(caught.value.problems) == 2


def test_lambda_handler_event_that_is_no_sqs_batch_is_refused_before_the_settings(
    dispatch_env: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a stream record delivered to the queue's function, and the configuration missing
    # (every shape the check refuses: tests/unit/shared/test_batch.py)
    monkeypatch.delenv("DEPLOYMENT_STATE_TABLE")
    # WHEN the handler runs
    with pytest.raises(InputError) as caught:
        lambda_handler(load_event("udf_worker_insert"), lambda_context)
    # THEN one InputError names the field, before the settings are read, and nothing was written
    assert caught.value.field == "Records[0].eventSource"
    assert items(dispatch_env) == {}
