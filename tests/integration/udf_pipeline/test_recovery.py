"""Time budgets and recovery with the infrastructure as deployed (stream retries 0, no destination).

A callee slower than the worker's budget must not cost the worker its record of the step; a transient
outage must not cost the learner their lab, although nothing redelivers the stream record.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.pipeline import Deployment, Pipeline
from tests.fixtures.tables import STATE_TABLE

pytestmark = pytest.mark.integration

JANE = "jane@example.com"
LAB = Deployment("3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c", "fd6bfa98", JANE, "ample-gull")
MARKER = LAB.dep_id + "#retry"


def expire_marker(pipeline: Pipeline) -> None:
    """Time passes: the retry marker's ttl is in the past (the deployment's own ttl is not)."""
    pipeline.db.update_item(
        TableName=STATE_TABLE,
        Key={"dep_id": {"S": MARKER}},
        UpdateExpression="SET #t = :t",
        ConditionExpression="attribute_exists(dep_id)",
        ExpressionAttributeNames={"#t": "ttl"},
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}},
    )


def marker(pipeline: Pipeline) -> dict[str, Any] | None:
    return pipeline.item(Deployment(MARKER, "", "", ""))


@pytest.fixture
def stuck_ns_create(pipeline: Pipeline) -> Iterator[threading.Event]:
    """ns_create that does not answer until the test releases it (then it runs for real)."""
    release = threading.Event()
    handler = importlib.import_module("ns_create.function").lambda_handler

    def slow(event: dict[str, Any], context: Any) -> Any:
        release.wait(60)
        return handler(event, context)

    pipeline.invoke.registry.set("tops-ns-create", slow)
    yield release
    release.set()


def test_callee_slower_than_the_budget_still_gets_its_step_recorded_in_time(
    pipeline: Pipeline,
    stuck_ns_create: threading.Event,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a worker with an 8 s invocation and ns_create that outlives it
    monkeypatch.setenv("MIN_STEP_SECONDS", "2")
    pipeline.router.timeout_s = 8.0
    returned_with: list[int] = []
    worker = pipeline.router.worker
    assert worker is not None

    def timed(event: Any, context: Any) -> Any:
        try:
            return worker(event, context)
        finally:
            returned_with.append(context.get_remaining_time_in_millis())

    pipeline.router.worker = timed

    # WHEN the INSERT is delivered
    pipeline.heartbeat(LAB)
    pipeline.deliver()

    # THEN the worker stopped waiting at its deadline and recorded the step FAILED (retryable), with a
    # retry scheduled, before its own timeout: it was never cut off mid-step
    item = pipeline.item(LAB)
    assert item is not None
    assert (item["deployment_status"], item["create_namespace"], item["failure_retryable"]) == (
        "FAILED",
        "FAILED",
        True,
    )
    assert "no answer before the caller's deadline" in item["failure_reason"]
    assert returned_with and min(returned_with) > 0
    assert marker(pipeline) is not None
    # AND ns_create is still running: its answer was not waited for
    assert not any(i.route == "tops-ns-create" for i in pipeline.invoke.invocations)


def test_ns_create_receives_the_callers_budget(pipeline: Pipeline) -> None:
    pipeline.heartbeat(LAB)
    assert pipeline.deliver().errors == []
    payloads = [i.payload for i in pipeline.invoke.invocations]
    assert payloads and all(0 < p["budget_ms"] <= 60_000 for p in payloads)


def test_transient_outage_is_recovered_without_stream_retries(pipeline: Pipeline) -> None:
    # GIVEN the deployed mapping (no stream retries) and an outage of user creation that outlasts the
    # worker's own retries
    assert pipeline.router.stream_max_retries == 0
    pipeline.xc.faults.add("POST", r"/user_roles$", 503, count=50)

    # WHEN the lab starts
    pipeline.heartbeat(LAB)
    stats = pipeline.deliver()

    # THEN the failure is recorded as transient, the record is dropped, and a retry is scheduled
    assert stats.dropped
    item = pipeline.item(LAB)
    assert item is not None and (item["failed_step"], item["failure_retryable"]) == ("create_user", True)
    assert pipeline.user(JANE) is None
    assert marker(pipeline) is not None

    # WHEN the outage ends and, a minute later, the cleaner sweeps the due marker
    pipeline.xc.faults.clear()
    expire_marker(pipeline)
    pipeline.sweep()

    # THEN the lab is completed: the learner has their account and namespace
    item = pipeline.item(LAB)
    assert item is not None and item["deployment_status"] == "COMPLETED"
    assert ("ample-gull", "ves-io-admin-role") in pipeline.roles(JANE)
    assert pipeline.namespaces() == {"ample-gull"}
    assert marker(pipeline) is None

    # AND the lab still ends cleanly
    pipeline.end(LAB)
    assert pipeline.user(JANE) is None and pipeline.namespaces() == set()


def test_transient_teardown_failure_is_recovered_without_stream_retries(pipeline: Pipeline) -> None:
    # GIVEN a provisioned lab, and ns_remove failing (an outage of its runtime) when it ends
    pipeline.heartbeat(LAB)
    assert pipeline.deliver().errors == []
    outage = threading.Event()
    outage.set()
    handler = importlib.import_module("ns_remove.function").lambda_handler

    def ns_remove(event: dict[str, Any], context: Any) -> Any:
        if outage.is_set():
            raise ConnectionError("Service Unavailable")
        return handler(event, context)

    pipeline.invoke.registry.set("tops-ns-remove", ns_remove)

    # WHEN it ends
    pipeline.end(LAB)

    # THEN the namespace is still there, and a retry is scheduled with what teardown needs
    assert pipeline.namespaces() == {"ample-gull"}
    retry = marker(pipeline)
    assert retry is not None and retry["retry_action"] == "teardown"
    assert retry["retry_image"]["petname"] == "ample-gull"

    # WHEN the outage ends and the marker is swept
    outage.clear()
    expire_marker(pipeline)
    pipeline.sweep()

    # THEN nothing of the lab is left
    assert pipeline.namespaces() == set() and pipeline.user(JANE) is None
