from __future__ import annotations

from typing import Any

import pytest

from shared.errors import StepError
from shared.invoke import CalleeError
from tests.unit.udf_worker.fakes import FUNCTIONS, PRE, SEC, URLS, FakeTenants, FakeUser, Rig
from udf_worker.clients import STEP_RETRIES
from udf_worker.provision import ProvisionOutcome, provision

DEP = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"
STEP_FUNCTIONS = {
    "create_namespace": FUNCTIONS.ns_create,
    "create_user": FUNCTIONS.user_create,
    "pre_lambda": PRE,
}
ORDER = ["create_namespace", "create_user", "pre_lambda"]


def provision_fails(rig: Rig) -> dict[str, Any]:
    """Provision DEP, which must fail permanently; the item it left."""
    assert provision(DEP, rig.worker()) is ProvisionOutcome.FAILED
    item = rig.item(DEP)
    assert item is not None
    return item


def test_provision_insert_runs_every_step_in_order(rig: Rig) -> None:
    # GIVEN a new deployment of the example lab (namespace, user, pre_lambda)
    rig.start(DEP)

    # WHEN it is provisioned
    outcome = provision(DEP, rig.worker())

    # THEN the callees ran in order with the deployed payloads (plus the owner and the account
    # lookup), and every step is recorded
    assert outcome is ProvisionOutcome.COMPLETED
    assert rig.invoker.names() == [
        "tops-ns-create",
        "tops-user-create",
        "tops-user-create",
        "tops-udf-helper-example-pre",
    ]
    ns, lookup, user, pre = (payload for _, payload in rig.invoker.calls)
    assert ns == {
        "ssm_base_path": SEC,
        "namespace_name": "ample-gull",
        "owner": DEP,
        "description": f"Example lab: UDF lab e37500bc deployment {DEP}",
    }
    assert lookup == {"ssm_base_path": SEC, "email": "jane@example.com", "lookup": True}
    assert user == {
        "ssm_base_path": SEC,
        "first_name": "Lab User",
        "last_name": "3f2a9c1e",
        "email": "jane@example.com",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [
            {"namespace": "ample-gull", "role": "ves-io-admin-role"},
            {"namespace": "system", "role": "f5xc-web-app-scanning-user"},
        ],
    }
    assert pre == {"ssm_base_path": SEC, "petname": "ample-gull", "email": "jane@example.com"}
    item = rig.item(DEP)
    assert item is not None
    assert {
        k: item[k]
        for k in (
            "deployment_status",
            "create_namespace",
            "create_user",
            "pre_lambda",
            "tenant_url",
            "ssm_base_path",
            "user_preexisting",
        )
    } == {
        "deployment_status": "COMPLETED",
        "create_namespace": "SUCCESS",
        "create_user": "SUCCESS",
        "pre_lambda": "SUCCESS",
        "tenant_url": URLS[SEC],
        "ssm_base_path": SEC,
        "user_preexisting": False,
    }
    assert item["user_added_roles"] == {"ample-gull/ves-io-admin-role", "system/f5xc-web-app-scanning-user"}
    assert item["user_added_groups"] == {"xc-lab-users"}
    assert "failure_reason" not in item
    assert item["ttl"] == 1740838031  # never written by the worker


def test_provision_lab_without_user_ns_skips_namespace(rig: Rig) -> None:
    # GIVEN the NGINX One lab: no user namespace, no groups, no pre_lambda
    rig.start(DEP, lab_id="8b3bfc3a")

    provision(DEP, rig.worker())

    # THEN only the user is looked up and created, without an admin role, and the other steps are NA
    assert rig.invoker.names() == ["tops-user-create", "tops-user-create"]
    user = rig.invoker.calls[1][1]
    assert user["namespace_roles"] == [{"namespace": "default", "role": "f5xc-nginx-one-user"}]
    assert user["group_names"] == []
    item = rig.item(DEP)
    assert item is not None
    assert (item["create_namespace"], item["pre_lambda"]) == ("NA", "NA")
    assert item["deployment_status"] == "COMPLETED"
    assert "user_added_groups" not in item


def test_provision_existing_account_is_recorded_preexisting(rig: Rig) -> None:
    # GIVEN the learner already has an account in the tenant with the lab's group
    rig.invoker.tenant(SEC).users["jane@example.com"] = FakeUser(groups={"xc-lab-users"})
    rig.start(DEP)

    provision(DEP, rig.worker())

    # THEN the item says so, and records only what this deployment set out to add
    item = rig.item(DEP)
    assert item is not None
    assert item["user_preexisting"] is True
    assert item["user_added_roles"] == {"ample-gull/ves-io-admin-role", "system/f5xc-web-app-scanning-user"}
    assert "user_added_groups" not in item


def test_provision_unknown_lab_fails_permanently_without_calls(rig: Rig) -> None:
    rig.start(DEP, lab_id="00000000")

    item = provision_fails(rig)

    assert rig.invoker.calls == []
    assert item["deployment_status"] == "FAILED"
    assert item["failed_step"] == "lab_config"
    assert "00000000" in item["failure_reason"]


def test_provision_invalid_lab_row_fails_naming_the_attribute(rig: Rig) -> None:
    rig.db.put_item(
        TableName="tops-udf-lab-config-test",
        Item={
            "lab_id": {"S": "badbad00"},
            "ssm_base_path": {"S": SEC},
            "group_names": {"L": []},
            "namespace_roles": {"L": []},
        },
    )
    rig.start(DEP, lab_id="badbad00")

    item = provision_fails(rig)

    assert item["failed_step"] == "lab_config"
    assert "user_ns" in item["failure_reason"]


def test_provision_invalid_petname_in_item_fails_validation(rig: Rig) -> None:
    rig.start(DEP, petname="Not_A_Label")

    item = provision_fails(rig)

    assert (item["failed_step"], item["deployment_status"]) == ("validate", "FAILED")
    assert "petname" in item["failure_reason"]
    assert rig.invoker.calls == []


def test_provision_missing_tenant_url_fails_at_tenant_step(rig: Rig) -> None:
    rig.tenants = FakeTenants(urls={})
    rig.start(DEP)

    item = provision_fails(rig)

    assert item["failed_step"] == "tenant"
    assert "tenant-url" in item["failure_reason"]
    assert "tenant_url" not in item
    assert rig.invoker.calls == []


@pytest.mark.parametrize("step", ORDER)
def test_provision_permanent_failure_at_step_is_recorded_and_stops(rig: Rig, step: str) -> None:
    # GIVEN the callee of `step` answers a permanent error
    rig.start(DEP)
    rig.invoker.fail(
        STEP_FUNCTIONS[step],
        CalleeError(STEP_FUNCTIONS[step], "status 400: bad thing", retryable=False, status=400),
    )

    # WHEN the deployment is provisioned
    item = provision_fails(rig)

    # THEN the step and the deployment are FAILED with the callee's reason; no later step ran
    assert item[step] == "FAILED"
    assert item["deployment_status"] == "FAILED"
    assert item["failed_step"] == step
    assert "bad thing" in item["failure_reason"]
    index = ORDER.index(step)
    calls = [STEP_FUNCTIONS[s] for s in ORDER[: index + 1]]
    if index > ORDER.index("create_user"):
        calls.insert(1, FUNCTIONS.user_create)  # the account lookup
    assert [f for f, _ in rig.invoker.calls] == calls
    for later in ORDER[index + 1 :]:
        assert later not in item
    if step == "create_namespace":
        assert rig.invoker.tenant(SEC).users == {}  # no user without their namespace


@pytest.mark.parametrize("step", ORDER)
def test_provision_persistent_retryable_failure_is_recorded_retry_scheduled_then_raised(
    rig: Rig,
    step: str,
) -> None:
    # GIVEN the step's callee failing transiently on every attempt of this invocation
    rig.start(DEP)
    error = CalleeError(STEP_FUNCTIONS[step], "Unhandled: timeout", retryable=True)
    rig.invoker.fail(STEP_FUNCTIONS[step], error, times=STEP_RETRIES.max_attempts)

    # WHEN it is provisioned
    with pytest.raises(StepError) as caught:
        provision(DEP, rig.worker())

    # THEN it was tried as often as the policy allows, with waits in between
    assert caught.value.retryable
    assert caught.value.step == step
    assert [f for f, _ in rig.invoker.calls].count(STEP_FUNCTIONS[step]) == STEP_RETRIES.max_attempts
    assert rig.clock.slept == [0.5, 1.0]
    # AND the failure is recorded as transient, with a retry marker due in a minute
    item = rig.item(DEP)
    assert item is not None
    assert (item[step], item["deployment_status"], item["failed_step"], item["failure_retryable"]) == (
        "FAILED",
        "FAILED",
        step,
        True,
    )
    marker: Any = rig.item(DEP + "#retry")
    assert (marker["retry_action"], marker["retry_attempt"]) == ("provision", 1)
    assert marker["ttl"] == int(rig.clock.time()) + 60


def test_provision_transient_failure_is_retried_within_the_invocation(rig: Rig) -> None:
    rig.start(DEP)
    rig.invoker.fail(PRE, CalleeError(PRE, "Unhandled: timeout", retryable=True))

    assert provision(DEP, rig.worker()) is ProvisionOutcome.COMPLETED

    assert rig.invoker.names()[-2:] == ["tops-udf-helper-example-pre"] * 2
    assert rig.item(DEP + "#retry") is None


def test_provision_no_retry_when_the_next_attempt_would_not_fit_in_the_budget(rig: Rig) -> None:
    # GIVEN 17.2 s left: one step fits (15 s, plus 2 s to record it), a wait and a second one do not
    rig.start(DEP, lab_id="8b3bfc3a")
    rig.time_left = 17.2
    rig.invoker.fail(FUNCTIONS.user_create, CalleeError(FUNCTIONS.user_create, "Unhandled", retryable=True))

    with pytest.raises(StepError):
        provision(DEP, rig.worker())

    assert len(rig.invoker.calls) == 1 and rig.clock.slept == []


def test_provision_permanent_failure_schedules_no_retry(rig: Rig) -> None:
    rig.start(DEP)
    rig.invoker.fail(PRE, CalleeError(PRE, "status 400: bad", retryable=False, status=400))

    item = provision_fails(rig)

    assert item["failure_retryable"] is False
    assert rig.item(DEP + "#retry") is None
    assert len(rig.invoker.calls) == 4  # the failed call was not repeated


@pytest.mark.parametrize("step", ORDER)
def test_provision_replay_after_retryable_failure_skips_done_steps(rig: Rig, step: str) -> None:
    # GIVEN a first delivery that failed retryably at `step`
    rig.start(DEP)
    rig.invoker.fail(
        STEP_FUNCTIONS[step],
        CalleeError(STEP_FUNCTIONS[step], "Unhandled", retryable=True),
        times=STEP_RETRIES.max_attempts,
    )
    with pytest.raises(StepError):
        provision(DEP, rig.worker())
    rig.invoker.calls.clear()

    # WHEN the stream delivers the INSERT again
    outcome = provision(DEP, rig.worker())

    # THEN the steps already SUCCESS are skipped and the deployment completes; the account lookup
    # runs once per deployment (the failed first call was the lookup itself when create_user failed)
    assert outcome is ProvisionOutcome.COMPLETED
    expected = [STEP_FUNCTIONS[s] for s in ORDER[ORDER.index(step) :]]
    if step != "pre_lambda":
        expected.insert(expected.index(FUNCTIONS.user_create), FUNCTIONS.user_create)
    assert [f for f, _ in rig.invoker.calls] == expected
    item = rig.item(DEP)
    assert item is not None
    assert item["deployment_status"] == "COMPLETED"
    assert "failure_reason" not in item and "failed_step" not in item


def test_provision_completed_deployment_replayed_does_nothing(rig: Rig) -> None:
    rig.start(DEP)
    provision(DEP, rig.worker())
    rig.invoker.calls.clear()

    assert provision(DEP, rig.worker()) is ProvisionOutcome.COMPLETED
    assert rig.invoker.calls == []


def test_provision_item_already_gone_does_nothing(rig: Rig) -> None:
    assert provision(DEP, rig.worker()) is ProvisionOutcome.GONE
    assert rig.invoker.calls == []


def test_provision_item_deleted_mid_provision_stops(rig: Rig) -> None:
    # GIVEN the lab ends (the sweeper deletes the item) while the namespace is being created
    rig.start(DEP)
    rig.invoker.before(FUNCTIONS.ns_create, lambda payload: rig.delete(DEP))

    # WHEN provisioning goes on
    outcome = provision(DEP, rig.worker())

    # THEN it stops before changing anything more: the account lookup (which changes nothing) ran,
    # no user was created, no helper ran, and no half item was written back
    assert outcome is ProvisionOutcome.GONE
    assert rig.invoker.names() == ["tops-ns-create", "tops-user-create"]
    assert rig.invoker.calls[1][1]["lookup"] is True
    assert rig.invoker.tenant(SEC).users == {}
    assert rig.item(DEP) is None


def test_provision_records_each_step_before_its_callee_runs_in_four_writes(rig: Rig) -> None:
    # GIVEN a new deployment of the example lab, and a look at the item whenever a callee starts
    rig.start(DEP)
    seen: dict[str, dict[str, Any]] = {}

    def look(name: str) -> Any:
        def hook(payload: dict[str, Any]) -> None:
            seen.setdefault("lookup" if payload.get("lookup") else name, rig.item(DEP) or {})

        return hook

    rig.invoker.before(FUNCTIONS.ns_create, look("ns"))
    rig.invoker.before(FUNCTIONS.user_create, look("user"))
    rig.invoker.before(PRE, look("pre"))
    writes: list[str] = []
    rig.db.meta.events.register(
        "before-parameter-build.dynamodb.UpdateItem",
        lambda params, **_: writes.append(params["UpdateExpression"]),
    )

    # WHEN it is provisioned
    assert provision(DEP, rig.worker()) is ProvisionOutcome.COMPLETED

    # THEN each callee that changes the tenant found its step (and all before it) on the item
    assert (
        seen["ns"]["deployment_status"],
        seen["ns"]["create_namespace"],
        seen["ns"]["ssm_base_path"],
        seen["ns"]["tenant_url"],
    ) == ("IN_PROGRESS", "IN_PROGRESS", SEC, URLS[SEC])
    assert seen["lookup"]["create_namespace"] == "IN_PROGRESS"  # the lookup changes nothing: no write
    assert (
        seen["user"]["create_namespace"],
        seen["user"]["create_user"],
        seen["user"]["user_preexisting"],
    ) == ("SUCCESS", "IN_PROGRESS", False)
    assert seen["user"]["user_added_roles"] == {
        "ample-gull/ves-io-admin-role",
        "system/f5xc-web-app-scanning-user",
    }
    assert (seen["pre"]["create_user"], seen["pre"]["pre_lambda"]) == ("SUCCESS", "IN_PROGRESS")
    # AND that took one write per such callee and one for COMPLETED
    assert len(writes) == 4


def test_provision_item_deleted_during_user_create_stops_with_intent_recorded(rig: Rig) -> None:
    # GIVEN the lab ends while user_create runs (after the account lookup)
    rig.start(DEP)
    old: dict[str, Any] = {}

    def end_lab(payload: dict[str, Any]) -> None:
        if not payload.get("lookup"):
            old.update(rig.delete(DEP))

    rig.invoker.before(FUNCTIONS.user_create, end_lab)

    # WHEN provisioning learns the item is gone
    outcome = provision(DEP, rig.worker())

    # THEN it stops; the REMOVE's old image already says the pipeline owns the account it was about
    # to create and what it set out to add, so teardown can undo the call whatever its answer
    assert outcome is ProvisionOutcome.GONE
    assert rig.invoker.names() == ["tops-ns-create", "tops-user-create", "tops-user-create"]
    assert (old["create_user"], old["user_preexisting"]) == ("IN_PROGRESS", False)
    assert old["user_added_roles"] == {"ample-gull/ves-io-admin-role", "system/f5xc-web-app-scanning-user"}


def test_provision_replay_after_lost_create_answer_keeps_the_pipeline_owner(rig: Rig) -> None:
    # GIVEN a first delivery whose user_create took effect but whose answer was lost
    rig.start(DEP)

    def create_then_lose_answer(payload: dict[str, Any]) -> None:
        if not payload.get("lookup"):
            rig.invoker._user_create(rig.invoker.tenant(SEC), payload)
            raise CalleeError(FUNCTIONS.user_create, "Unhandled: read timeout", retryable=True)

    rig.invoker.before(FUNCTIONS.user_create, create_then_lose_answer)
    with pytest.raises(StepError):
        provision(DEP, rig.worker())
    rig.invoker.before(FUNCTIONS.user_create, lambda payload: None)
    rig.invoker.calls.clear()

    # WHEN the INSERT is delivered again (user_create now answers "existed")
    assert provision(DEP, rig.worker()) is ProvisionOutcome.COMPLETED

    # THEN no second lookup ran, and the account stays recorded as the pipeline's own
    assert rig.invoker.names() == ["tops-user-create", "tops-udf-helper-example-pre"]
    item: Any = rig.item(DEP)
    assert item["user_preexisting"] is False
    assert item["user_added_groups"] == {"xc-lab-users"}


def test_provision_namespace_of_another_deployment_fails_without_any_role(rig: Rig) -> None:
    # GIVEN the petname's namespace exists, made by another deployment
    rig.invoker.tenant(SEC).namespaces["ample-gull"] = "other-deployment"
    rig.start(DEP)

    # WHEN this deployment is provisioned
    item = provision_fails(rig)

    # THEN it fails permanently at the namespace, saying why; no user step ran, so no role was granted
    assert (item["deployment_status"], item["failed_step"], item["create_namespace"]) == (
        "FAILED",
        "create_namespace",
        "FAILED",
    )
    assert "not created by deployment" in item["failure_reason"]
    assert rig.invoker.names() == ["tops-ns-create"]
    assert rig.invoker.tenant(SEC).users == {}


@pytest.mark.parametrize("petname", ["system", "shared", "default", "ves-io-shared"])
def test_provision_reserved_petname_fails_validation_without_calls(rig: Rig, petname: str) -> None:
    rig.start(DEP, petname=petname)

    item = provision_fails(rig)

    assert (item["failed_step"], item["deployment_status"]) == ("validate", "FAILED")
    assert "reserved" in item["failure_reason"]
    assert rig.invoker.calls == []


def test_provision_too_little_time_left_defers_step_to_a_retry(rig: Rig) -> None:
    # GIVEN an invocation with 5 s left (less than the 15 s a step needs to start)
    rig.start(DEP)
    rig.time_left = 5.0

    # WHEN provisioning reaches its first invoke
    with pytest.raises(StepError) as caught:
        provision(DEP, rig.worker())

    # THEN nothing was invoked, and the deployment says why it stopped
    assert caught.value.retryable
    assert rig.invoker.calls == []
    item = rig.item(DEP)
    assert item is not None
    assert item["deployment_status"] == "FAILED"
    assert "left in this invocation" in item["failure_reason"]
    assert "create_namespace" not in item


def test_provision_handed_over_ownership_is_not_overwritten(rig: Rig) -> None:
    # GIVEN another deployment's teardown handed this one the account it created (user_preexisting false)
    rig.start(DEP, user_preexisting=False)
    rig.invoker.tenant(SEC).users["jane@example.com"] = FakeUser(groups={"xc-lab-users"})

    # WHEN this deployment's user_create finds the account existing
    provision(DEP, rig.worker())

    # THEN it stays the owner
    item: Any = rig.item(DEP)
    assert item["user_preexisting"] is False
