from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from shared.batch import BatchFailedError
from shared.errors import ConfigError, InputError
from shared.invoke import CalleeError
from tests.fixtures.events import load_event
from tests.fixtures.tables import LAB_TABLE, STATE_TABLE
from tests.unit.udf_worker.fakes import FUNCTIONS, PRE, Rig
from udf_worker import function

BASE = "/tenantOps-dev/sec-lab"
DEP = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"


@pytest.fixture
def env(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> Rig:
    """The handler's environment: tables, the WAAP lab row, the tenant URL in SSM, a fake invoker."""
    for name, value in {
        "DEPLOYMENT_STATE_TABLE": STATE_TABLE,
        "LAB_CONFIGURATION_TABLE": LAB_TABLE,
        "NS_CREATE_LAMBDA_FUNCTION": FUNCTIONS.ns_create,
        "NS_REMOVE_LAMBDA_FUNCTION": FUNCTIONS.ns_remove,
        "USER_CREATE_LAMBDA_FUNCTION": FUNCTIONS.user_create,
        "USER_REMOVE_LAMBDA_FUNCTION": FUNCTIONS.user_remove,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("REPORT_BATCH_ITEM_FAILURES", "MIN_STEP_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    boto3.resource("dynamodb", region_name="us-east-1").Table(LAB_TABLE).put_item(
        Item={
            "lab_id": "d3c24766",
            "description": "WAAP Lab",
            "ssm_base_path": BASE,
            "group_names": ["xc-lab-users"],
            "namespace_roles": [],
            "user_ns": True,
            "pre_lambda": PRE,
            "post_lambda": None,
        }
    )
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=f"{BASE}/tenant-url", Value="https://f5-xc-lab-sec.console.ves.volterra.io", Type="String"
    )
    monkeypatch.setattr(function, "LambdaInvoker", lambda client: rig.invoker)
    monkeypatch.setattr(function.time, "sleep", rig.clock.sleep)  # retries inside the invocation
    return rig


def insert_event(
    dep_id: str = DEP, sequence: str = "100000000012345678901", petname: str = "ample-gull"
) -> Any:
    event = load_event("udf_worker_insert")
    record = event["Records"][0]
    record["dynamodb"]["Keys"]["dep_id"]["S"] = dep_id
    record["dynamodb"]["NewImage"]["dep_id"]["S"] = dep_id
    record["dynamodb"]["NewImage"]["petname"]["S"] = petname
    record["dynamodb"]["SequenceNumber"] = sequence
    return event


def started(rig: Rig, dep_id: str = DEP, petname: str = "ample-gull") -> None:
    rig.start(dep_id, lab_id="d3c24766", petname=petname)


def test_lambda_handler_insert_provisions(env: Rig, lambda_context: Any) -> None:
    # GIVEN dispatch has inserted the item
    started(env)

    # WHEN its INSERT record arrives
    result = function.lambda_handler(load_event("udf_worker_insert"), lambda_context)

    # THEN the deployment is provisioned with the tenant URL from SSM
    assert result == {"batchItemFailures": []}
    item: Any = env.item(DEP)
    assert item["deployment_status"] == "COMPLETED"
    assert item["tenant_url"] == "https://f5-xc-lab-sec.console.ves.volterra.io"
    assert env.invoker.names() == [
        "tops-ns-create",
        "tops-user-create",
        "tops-user-create",
        "tops-udf-helper-example-pre",
    ]


def test_lambda_handler_insert_delivered_twice_ends_in_same_state(env: Rig, lambda_context: Any) -> None:
    started(env)
    function.lambda_handler(load_event("udf_worker_insert"), lambda_context)
    first = env.item(DEP)
    calls = len(env.invoker.calls)

    function.lambda_handler(load_event("udf_worker_insert"), lambda_context)

    assert env.item(DEP) == first
    assert len(env.invoker.calls) == calls


def test_lambda_handler_modify_is_ignored(env: Rig, lambda_context: Any) -> None:
    started(env)

    result = function.lambda_handler(load_event("udf_worker_modify"), lambda_context)

    assert result == {"batchItemFailures": []}
    assert env.invoker.calls == []
    item: Any = env.item(DEP)
    assert item["deployment_status"] == "STARTING"


@pytest.mark.parametrize("name", ["udf_worker_remove", "udf_worker_remove_ttl"])
def test_lambda_handler_remove_tears_down_from_old_image(env: Rig, lambda_context: Any, name: str) -> None:
    # GIVEN the learner's account and namespace exist, as the old image says the pipeline made them
    env.invoker.tenant(BASE).namespaces["ample-gull"] = DEP
    env.invoker._user_create(
        env.invoker.tenant(BASE), {"email": "jane@example.com", "group_names": ["xc-lab-users"]}
    )

    # WHEN the REMOVE arrives (sweeper or DynamoDB TTL)
    result = function.lambda_handler(load_event(name), lambda_context)

    # THEN the user is deleted, then the namespace
    assert result == {"batchItemFailures": []}
    assert env.invoker.names() == ["tops-user-remove", "tops-ns-remove"]
    assert env.invoker.tenant(BASE).users == {}
    assert env.invoker.tenant(BASE).namespaces == {}


def test_lambda_handler_remove_without_old_image_fails(env: Rig, lambda_context: Any) -> None:
    event = load_event("udf_worker_remove")
    del event["Records"][0]["dynamodb"]["OldImage"]

    with pytest.raises(BatchFailedError):
        function.lambda_handler(event, lambda_context)


def test_lambda_handler_permanent_failure_is_recorded_not_raised(env: Rig, lambda_context: Any) -> None:
    started(env)
    env.invoker.fail(
        FUNCTIONS.user_create, CalleeError(FUNCTIONS.user_create, "status 400: bad", retryable=False)
    )

    result = function.lambda_handler(load_event("udf_worker_insert"), lambda_context)

    assert result == {"batchItemFailures": []}
    item: Any = env.item(DEP)
    assert (item["deployment_status"], item["create_user"]) == ("FAILED", "FAILED")


def test_lambda_handler_transient_failure_is_retried_inside_the_invocation(
    env: Rig,
    lambda_context: Any,
) -> None:
    # GIVEN ns_create failing once, transiently
    started(env)
    env.invoker.fail(FUNCTIONS.ns_create, CalleeError(FUNCTIONS.ns_create, "Unhandled", retryable=True))

    # WHEN the INSERT is handled
    result = function.lambda_handler(load_event("udf_worker_insert"), lambda_context)

    # THEN the step was tried again after a short wait, and the deployment completed
    assert result == {"batchItemFailures": []}
    assert env.invoker.names()[:2] == ["tops-ns-create", "tops-ns-create"]
    assert len(env.clock.slept) == 1
    item: Any = env.item(DEP)
    assert item["deployment_status"] == "COMPLETED"


def test_lambda_handler_persistent_transient_failure_fails_the_invocation_and_schedules_a_retry(
    env: Rig,
    lambda_context: Any,
) -> None:
    started(env)
    outage = CalleeError(FUNCTIONS.ns_create, "Unhandled", retryable=True)
    env.invoker.fail(FUNCTIONS.ns_create, outage, times=3)

    with pytest.raises(BatchFailedError):
        function.lambda_handler(load_event("udf_worker_insert"), lambda_context)

    item: Any = env.item(DEP)
    assert (item["create_namespace"], item["failure_retryable"]) == ("FAILED", True)
    marker: Any = env.item(DEP + "#retry")
    assert (marker["retry_of"], marker["retry_action"], marker["retry_attempt"]) == (DEP, "provision", 1)


def two_inserts() -> Any:
    event = insert_event("dep-a", "100", "pet-a")
    event["Records"].append(insert_event("dep-b", "200", "pet-b")["Records"][0])
    return event


def test_lambda_handler_batch_with_partial_responses_reports_failed_sequence(
    env: Rig,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN partial batch responses on, and the first of two deployments failing transiently
    monkeypatch.setenv("REPORT_BATCH_ITEM_FAILURES", "true")
    started(env, "dep-a", "pet-a")
    started(env, "dep-b", "pet-b")
    real = env.invoker.invoke

    def flaky(function_name: str, payload: dict[str, Any], *, deadline: Any) -> Any:
        if payload.get("namespace_name") == "pet-a":
            raise CalleeError(function_name, "Unhandled", retryable=True)
        return real(function_name, payload, deadline=deadline)

    monkeypatch.setattr(env.invoker, "invoke", flaky)

    # WHEN the batch is handled
    result = function.lambda_handler(two_inserts(), lambda_context)

    # THEN only the failed record's sequence number is reported; the other completed
    assert result == {"batchItemFailures": [{"itemIdentifier": "100"}]}
    item: Any = env.item("dep-b")
    assert item["deployment_status"] == "COMPLETED"


def test_lambda_handler_batch_without_partial_responses_raises_on_any_failure(
    env: Rig,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started(env, "dep-a", "pet-a")
    started(env, "dep-b", "pet-b")
    outage = CalleeError(FUNCTIONS.ns_create, "Unhandled", retryable=True)
    env.invoker.fail(FUNCTIONS.ns_create, outage, times=3)

    with pytest.raises(BatchFailedError) as caught:
        function.lambda_handler(two_inserts(), lambda_context)

    assert caught.value.failed == 1


def test_lambda_handler_missing_settings_is_config_error(
    env: Rig,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("USER_REMOVE_LAMBDA_FUNCTION")
    monkeypatch.setenv("MIN_STEP_SECONDS", "lots")

    with pytest.raises(ConfigError) as caught:
        function.lambda_handler(copy.deepcopy(load_event("udf_worker_insert")), lambda_context)

    assert len(caught.value.problems) == 2


def test_lambda_handler_event_that_is_no_stream_batch_is_one_input_error(
    env: Rig,
    lambda_context: Any,
) -> None:
    # GIVEN a started deployment and an SQS message delivered to the stream's function (every shape
    # the check refuses: tests/unit/shared/test_batch.py)
    started(env)
    # WHEN the handler runs
    with pytest.raises(InputError) as caught:
        function.lambda_handler(load_event("udf_dispatch_heartbeat"), lambda_context)
    # THEN one InputError names the field, and nothing was called or changed
    assert caught.value.field == "Records[0].eventSource"
    assert env.invoker.calls == []
    item: Any = env.item(DEP)
    assert item["deployment_status"] == "STARTING"
