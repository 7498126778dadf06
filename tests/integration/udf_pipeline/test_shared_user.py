from __future__ import annotations

import pytest

from tests.fixtures.pipeline import Deployment, Pipeline

pytestmark = pytest.mark.integration

JANE = "jane@example.com"
FIRST = Deployment("3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c", "fd6bfa98", JANE, "ample-gull")
SECOND = Deployment("9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "a09e1e9d", JANE, "brave-otter")


def test_pipeline_two_labs_same_learner_ending_first_leaves_second_working(pipeline: Pipeline) -> None:
    # GIVEN one learner running two labs in one tenant
    pipeline.heartbeat(FIRST, SECOND)
    assert pipeline.deliver().errors == []
    assert pipeline.roles(JANE) == {
        ("ample-gull", "ves-io-admin-role"),
        ("system", "xc-lab-mcn-ce"),
        ("brave-otter", "ves-io-admin-role"),
    }

    # WHEN the first lab ends (the second keeps sending heartbeats)
    pipeline.end(FIRST)
    pipeline.heartbeat(SECOND)
    pipeline.deliver()

    # THEN the second lab still has its account, role and namespace; only the first lab's are gone
    assert pipeline.roles(JANE) == {("brave-otter", "ves-io-admin-role")}
    assert pipeline.groups(JANE) == {"xc-lab-users"}
    assert pipeline.namespaces() == {"brave-otter"}
    second = pipeline.item(SECOND)
    assert second is not None and second["deployment_status"] == "COMPLETED"

    # WHEN the second ends too
    pipeline.end(SECOND)

    # THEN the account the pipeline created is gone with everything else
    assert pipeline.user(JANE) is None
    assert pipeline.namespaces() == set()


def test_pipeline_preexisting_account_keeps_account_minus_lab_roles(pipeline: Pipeline) -> None:
    # GIVEN the learner already has an account in the tenant, with a role and the lab's group
    pipeline.add_account(
        JANE,
        [("system", "ves-io-monitor-role")],
        ["xc-lab-users", "staff"],
        first_name="Jane",
        last_name="Doe",
    )

    # WHEN a lab is provisioned and later ends
    pipeline.heartbeat(FIRST)
    assert pipeline.deliver().errors == []
    item = pipeline.item(FIRST)
    assert item is not None and item["user_preexisting"] is True
    assert pipeline.roles(JANE) >= {("ample-gull", "ves-io-admin-role"), ("system", "xc-lab-mcn-ce")}
    pipeline.end(FIRST)

    # THEN the account is still there, with exactly its own roles and groups
    assert pipeline.user(JANE) is not None
    assert pipeline.roles(JANE) == {("system", "ves-io-monitor-role")}
    assert pipeline.groups(JANE) == {"xc-lab-users", "staff"}
    assert pipeline.namespaces() == set()


def test_pipeline_lab_without_user_namespace(pipeline: Pipeline) -> None:
    nginx = Deployment("5c4b3a29-0000-4000-8000-000000000001", "8b3bfc3a", JANE, "calm-heron")

    pipeline.heartbeat(nginx)
    assert pipeline.deliver().errors == []

    assert pipeline.namespaces() == set()
    assert pipeline.roles(JANE) == {("default", "f5xc-nginx-one-user")}
    pipeline.end(nginx)
    assert pipeline.user(JANE) is None
