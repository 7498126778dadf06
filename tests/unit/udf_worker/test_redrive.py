"""udf_worker.redrive through core.handle_change: retry markers written on transient failures, and their
REMOVE records (the cleaner sweeps them once their ttl has passed) running the work again."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import StepError
from shared.invoke import CalleeError
from tests.unit.udf_worker.fakes import FUNCTIONS, SEC, Rig
from udf_worker import redrive
from udf_worker.clients import STEP_RETRIES
from udf_worker.core import handle_change
from udf_worker.errors import TeardownError
from udf_worker.models import StreamChange

DEP = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"
MARKER = DEP + "#retry"


def outage(rig: Rig, function: str) -> None:
    """The callee fails transiently on every attempt of one invocation."""
    rig.invoker.fail(
        function, CalleeError(function, "Unhandled: 503", retryable=True), times=STEP_RETRIES.max_attempts
    )


def sweep(rig: Rig) -> Any:
    """The cleaner deletes the marker once its ttl has passed; the worker handles the REMOVE."""
    old = rig.delete(MARKER)
    return handle_change(StreamChange("REMOVE", MARKER, old_image=old), rig.worker())


def teardown_met_an_outage(rig: Rig) -> None:
    """A provisioned lab ends while ns_remove has an outage: its teardown fails and a retry is pending."""
    rig.start(DEP)
    handle_change(StreamChange("INSERT", DEP), rig.worker())
    old = rig.delete(DEP)
    outage(rig, FUNCTIONS.ns_remove)
    with pytest.raises(TeardownError):
        handle_change(StreamChange("REMOVE", DEP, old_image=old), rig.worker())


def test_marker_insert_is_ignored(rig: Rig) -> None:
    assert handle_change(StreamChange("INSERT", MARKER), rig.worker()) == "ignored"
    assert rig.invoker.calls == []


def test_transient_provisioning_failure_is_completed_by_the_retry(rig: Rig) -> None:
    # GIVEN an INSERT whose user step met an outage longer than the invocation's own retries
    rig.start(DEP)
    outage(rig, FUNCTIONS.user_create)
    with pytest.raises(StepError):
        handle_change(StreamChange("INSERT", DEP), rig.worker())
    item: Any = rig.item(DEP)
    assert (item["deployment_status"], item["failure_retryable"]) == ("FAILED", True)

    # WHEN the marker's ttl passes and the cleaner sweeps it (no stream retry: as deployed)
    outcome = sweep(rig)

    # THEN provisioning resumed where it stopped and the learner has their account
    assert outcome == "completed"
    item = rig.item(DEP)
    assert item["deployment_status"] == "COMPLETED" and "failure_retryable" not in item
    assert "jane@example.com" in rig.invoker.tenant(SEC).users


def test_retry_after_a_permanent_failure_does_nothing(rig: Rig) -> None:
    # GIVEN a retry scheduled, then a permanent failure recorded (by a stream retry, say)
    rig.start(DEP, deployment_status="FAILED", failure_retryable=False)
    rig.db.put_item(
        TableName="tops-udf-lab-deployment-state-test",
        Item={
            "dep_id": {"S": MARKER},
            "retry_of": {"S": DEP},
            "retry_action": {"S": "provision"},
            "retry_attempt": {"N": "1"},
            "ttl": {"N": "1"},
        },
    )

    assert sweep(rig) == "failed"
    assert rig.invoker.calls == []


def test_retries_stop_after_the_configured_attempts(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN an outage that outlasts every retry
    rig.start(DEP)
    with pytest.raises(StepError):
        outage(rig, FUNCTIONS.ns_create)
        handle_change(StreamChange("INSERT", DEP), rig.worker())
    worker_attempts = rig.worker().max_retries
    for attempt in range(1, worker_attempts + 1):
        marker: Any = rig.item(MARKER)
        assert marker["retry_attempt"] == attempt
        assert marker["ttl"] == int(rig.clock.time()) + redrive.delay_s(attempt)
        outage(rig, FUNCTIONS.ns_create)
        with pytest.raises(StepError):
            sweep(rig)

    # THEN no further marker is written, and the give-up is logged as an error naming the deployment
    assert rig.item(MARKER) is None
    assert any(
        r.levelname == "ERROR" and r.getMessage().startswith("giving up") and getattr(r, "dep_id", "") == DEP
        for r in caplog.records
    )
    assert [redrive.delay_s(n) for n in range(1, 7)] == [60, 120, 240, 480, 900, 900]


def test_transient_teardown_failure_is_completed_by_the_retry(rig: Rig) -> None:
    # GIVEN a provisioned lab whose teardown meets an outage of ns_remove
    teardown_met_an_outage(rig)
    assert "ample-gull" in rig.invoker.tenant(SEC).namespaces

    # WHEN the retry marker is swept
    outcome = sweep(rig)

    # THEN the teardown ran again from the image the marker carried, and nothing is left
    assert outcome.startswith("removed")
    assert rig.invoker.tenant(SEC).namespaces == {} and rig.invoker.tenant(SEC).users == {}


def test_teardown_retry_of_a_restarted_deployment_is_skipped(rig: Rig) -> None:
    # GIVEN a teardown retry pending, and the deployment restarted with the same dep_id meanwhile
    teardown_met_an_outage(rig)
    rig.start(DEP)
    handle_change(StreamChange("INSERT", DEP), rig.worker())
    rig.invoker.calls.clear()

    # WHEN the old retry comes due
    assert sweep(rig) == "skipped"

    # THEN the restarted lab is left alone
    assert rig.invoker.calls == []
    assert "ample-gull" in rig.invoker.tenant(SEC).namespaces


def test_malformed_marker_is_ignored(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    result = handle_change(StreamChange("REMOVE", MARKER, old_image={"dep_id": MARKER}), rig.worker())
    assert result == "ignored"
    assert any(r.levelname == "ERROR" for r in caplog.records)
