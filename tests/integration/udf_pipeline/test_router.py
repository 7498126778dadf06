"""The router's event source mapping semantics, against moto's SQS and DynamoDB stream."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.pipeline import Deployment, Pipeline

pytestmark = pytest.mark.integration

LABS = [Deployment(f"dep-{i}", "a09e1e9d", f"learner{i}@example.com", f"pet-{i}") for i in range(3)]


def queued(pipeline: Pipeline) -> int:
    attributes = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_router_sqs_batches_with_partial_responses_delete_bad_and_good(
    pipeline: Pipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN batches of 10 with partial batch responses, three heartbeats and one bad message
    monkeypatch.setenv("REPORT_BATCH_ITEM_FAILURES", "true")
    pipeline.router.sqs_batch_size = 10
    pipeline.router.sqs_report_failures = True
    pipeline.heartbeat(*LABS)
    pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody='{"dep_id": "x"}')

    # WHEN the queue is pumped
    stats = pipeline.router.pump_queue()

    # THEN every message is handled (the bad one dropped as permanent) and the queue is empty
    assert stats.failed_batches == 0
    assert queued(pipeline) == 0
    assert all(pipeline.item(d) is not None for d in LABS)


def test_router_failed_dispatch_keeps_messages_for_redelivery(
    pipeline: Pipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN dispatch pointed at a table that does not exist (every record fails)
    monkeypatch.setenv("DEPLOYMENT_STATE_TABLE", "no-such-table")
    pipeline.heartbeat(LABS[0])

    # WHEN the queue is pumped a few times
    stats = pipeline.router.pump_queue(max_batches=3)

    # THEN the invocation failed and the message is still there
    assert stats.failed_batches == 3
    assert queued(pipeline) == 1

    # AND once the table is right, the redelivery succeeds
    monkeypatch.setenv("DEPLOYMENT_STATE_TABLE", "tops-udf-lab-deployment-state-test")
    pipeline.router.pump_queue()
    assert queued(pipeline) == 0
    assert pipeline.item(LABS[0]) is not None


def test_router_stream_filter_passes_only_insert_and_remove(pipeline: Pipeline) -> None:
    # GIVEN a deployment heartbeating several times (INSERT, then MODIFYs from dispatch and the worker)
    calls: list[str] = []
    worker = pipeline.router.worker
    assert worker is not None

    def spy(event: dict[str, Any], context: Any) -> Any:
        calls.extend(r["eventName"] for r in event["Records"])
        return worker(event, context)

    pipeline.router.worker = spy
    pipeline.heartbeat(LABS[0], times=3)
    pipeline.deliver()

    # WHEN it ends
    pipeline.end(LABS[0])

    # THEN the worker saw exactly one INSERT and one REMOVE, in the Lambda event format
    assert calls == ["INSERT", "REMOVE"]
