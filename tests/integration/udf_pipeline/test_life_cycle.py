from __future__ import annotations

import pytest

from tests.fixtures.clock import FakeClock
from tests.fixtures.pipeline import Deployment, Pipeline
from tests.fixtures.xc import watched

pytestmark = pytest.mark.integration
NAMESPACES = "/api/web/namespaces"  # POST creates one

JANE = "jane@example.com"
LAB = Deployment("3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c", "e37500bc", JANE, "ample-gull")


def assert_provisioned(pipeline: Pipeline) -> None:
    item = pipeline.item(LAB)
    assert item is not None
    assert item["deployment_status"] == "COMPLETED", item.get("failure_reason")
    assert (item["create_namespace"], item["create_user"], item["pre_lambda"]) == ("SUCCESS",) * 3
    assert item["tenant_url"] == pipeline.xc.url
    assert item["user_preexisting"] is False
    assert "ample-gull" in pipeline.namespaces()
    assert pipeline.roles(JANE) == {
        ("ample-gull", "ves-io-admin-role"),
        ("system", "f5xc-web-app-scanning-user"),
    }
    assert pipeline.groups(JANE) == {"xc-lab-users"}
    user = pipeline.user(JANE)
    assert user is not None
    assert (user["first_name"], user["last_name"]) == ("Lab User", "3f2a9c1e")
    assert pipeline.objects("ample-gull") == {
        "http_loadbalancers": ["ample-gull-lb"],
        "origin_pools": ["ample-gull-origin"],
    }


def assert_nothing_left(pipeline: Pipeline) -> None:
    assert pipeline.item(LAB) is None
    assert pipeline.user(JANE) is None
    assert pipeline.namespaces() == set()
    assert pipeline.objects("ample-gull") == {}


def test_pipeline_heartbeats_provision_then_sweep_tears_everything_down(pipeline: Pipeline) -> None:
    # GIVEN a lab VM sending heartbeats
    pipeline.heartbeat(LAB, times=3)

    # WHEN the queue and the stream are delivered
    stats = pipeline.deliver()

    # THEN the tenant has the learner's namespace, account with roles, and the lab's objects
    assert stats.errors == []
    assert_provisioned(pipeline)
    # (user_create twice: the account lookup, then the create)
    assert pipeline.invoked() == [
        "tops-ns-create",
        "tops-user-create",
        "tops-user-create",
        "tops-udf-helper-example-pre",
    ]

    # WHEN the heartbeats stop, the ttl passes and the cleaner sweeps
    pipeline.invoke.clear()
    result = pipeline.end(LAB)

    # THEN the REMOVE tears the lab down: nothing of it is left in the tenant
    assert result["deleted"] == 1
    assert pipeline.invoked() == ["tops-user-remove", "tops-ns-remove"]
    assert_nothing_left(pipeline)


def test_pipeline_every_delivery_twice_ends_in_the_same_state(pipeline: Pipeline) -> None:
    # GIVEN every SQS batch and every stream record delivered twice
    pipeline.router.duplicate = True
    pipeline.heartbeat(LAB, times=2)

    # WHEN everything is delivered
    stats = pipeline.deliver()

    # THEN no error, and one provisioned lab
    assert stats.errors == []
    assert_provisioned(pipeline)
    assert pipeline.invoked().count("tops-user-create") == 2  # one lookup, one create

    # AND the teardown, delivered twice too, leaves nothing and fails nothing
    pipeline.expire(LAB)
    pipeline.router.fire_schedule()
    stats = pipeline.deliver()
    assert stats.errors == []
    assert_nothing_left(pipeline)


def test_pipeline_heartbeat_after_provisioning_only_extends_ttl(pipeline: Pipeline) -> None:
    pipeline.heartbeat(LAB)
    pipeline.deliver()
    before = pipeline.item(LAB)
    pipeline.invoke.clear()

    pipeline.heartbeat(LAB)
    pipeline.deliver()

    after = pipeline.item(LAB)
    assert before is not None and after is not None
    assert {k: v for k, v in after.items() if k not in ("ttl", "expiration", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("ttl", "expiration", "updated_at")
    }
    assert after["ttl"] >= before["ttl"]
    assert pipeline.invoked() == []


def test_pipeline_restart_with_same_dep_id_after_teardown_provisions_again(
    clocked_pipeline: Pipeline, clock: FakeClock
) -> None:
    # GIVEN a lab that ran and was torn down; the tenant holds the freed name (1.5 s of its time), a time
    # that passes once the restart's first create of the name has been refused
    pipeline = clocked_pipeline
    pipeline.xc.state.configure(namespace_reuse_block_ms=1500)
    pipeline.heartbeat(LAB)
    pipeline.deliver()
    pipeline.end(LAB)
    assert_nothing_left(pipeline)
    watched(pipeline.xc).on("POST", f"^{NAMESPACES}$", 409, lambda: clock.advance(1.5))

    # WHEN the deployment is started again: same dep_id, same petname
    pipeline.heartbeat(LAB)
    stats = pipeline.deliver()

    # THEN the name was refused once, then it is provisioned again with the same names
    assert stats.errors == []
    creates = [r.status for r in pipeline.xc.requests() if r.method == "POST" and r.path == NAMESPACES]
    assert creates == [200, 409, 200]
    assert_provisioned(pipeline)
