from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fixtures.pipeline import Deployment, Pipeline

pytestmark = pytest.mark.integration

JANE = "jane@example.com"
LAB = Deployment("3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c", "e37500bc", JANE, "ample-gull")


@dataclass(frozen=True)
class Fault:
    step: str
    method: str
    path: str
    status: int

    @property
    def retryable(self) -> bool:
        return self.status >= 500


FAULTS = [
    Fault("create_namespace", "POST", r"^/api/web/namespaces$", 403),
    Fault("create_namespace", "POST", r"^/api/web/namespaces$", 503),
    Fault("create_user", "POST", r"/user_roles$", 400),
    Fault("create_user", "POST", r"/user_roles$", 503),
    Fault("pre_lambda", "POST", r"/origin_pools$", 400),
    Fault("pre_lambda", "POST", r"/origin_pools$", 503),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.step}-{f.status}")
def test_pipeline_failure_at_step_is_recorded_and_teardown_leaves_nothing(
    pipeline: Pipeline,
    fault: Fault,
) -> None:
    # GIVEN the tenant failing the step's call, persistently (deployed: no stream retries)
    pipeline.xc.faults.add(fault.method, fault.path, fault.status, count=20)
    pipeline.heartbeat(LAB)

    # WHEN the deployment is delivered
    stats = pipeline.deliver()

    # THEN the step and the deployment are FAILED with the callee's reason, and nothing later ran
    item = pipeline.item(LAB)
    assert item is not None
    assert (item["deployment_status"], item["failed_step"]) == ("FAILED", fault.step)
    assert item[fault.step] == "FAILED"
    assert str(fault.status) in item["failure_reason"] or "injected" in item["failure_reason"]
    if fault.step == "create_namespace":
        assert pipeline.user(JANE) is None  # no user without their namespace
        assert "create_user" not in item
    if fault.step == "create_user":
        assert "pre_lambda" not in item
    # a retryable failure fails the invocation (and the record is dropped: 0 retries, as deployed)
    assert bool(stats.dropped) == fault.retryable

    # WHEN the tenant recovers and the lab ends
    pipeline.xc.faults.clear()
    pipeline.end(LAB)

    # THEN teardown leaves nothing behind
    assert pipeline.item(LAB) is None
    assert pipeline.user(JANE) is None
    assert pipeline.namespaces() == set()


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.retryable], ids=lambda f: f.step)
def test_pipeline_transient_failure_with_stream_retries_completes(pipeline: Pipeline, fault: Fault) -> None:
    # GIVEN a stream mapping with retries (the authors' planned hardening) and a short outage
    pipeline.router.stream_max_retries = 2
    pipeline.xc.faults.add(fault.method, fault.path, fault.status, count=3)
    pipeline.heartbeat(LAB)

    # WHEN the deployment is delivered
    stats = pipeline.deliver()

    # THEN the retry skips the steps already done and completes the lab
    assert stats.dropped == []
    item = pipeline.item(LAB)
    assert item is not None
    assert item["deployment_status"] == "COMPLETED"
    assert "failure_reason" not in item
    assert pipeline.invoked().count("tops-ns-create") == 1 or fault.step == "create_namespace"
