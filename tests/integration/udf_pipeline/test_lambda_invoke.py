"""The devstack Lambda invoke endpoint, through boto3's real `lambda.invoke`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.lambda_invoke import LambdaInvokeServer, default_routes, split_function
from shared import invoke as shared_invoke
from shared.deadline import Deadline
from shared.invoke import CalleeError

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
seen: list[tuple[Any, Any]] = []
echoed = threading.Event()  # set by every run of `echo`


def echo(event: Any, context: Any) -> Any:
    seen.append((event, context))
    echoed.set()
    return {
        "statusCode": 200,
        "body": {
            "echo": event,
            "function": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }


def boom(event: Any, context: Any) -> Any:
    raise ValueError("the handler failed")


def slow(event: Any, context: Any) -> Any:
    # Three times its 0.1 s timeout: a sleep never ends early, so the run always outlives the timeout (the
    # server judges the timeout once the handler has returned, as it does not interrupt it).
    time.sleep(0.3)
    return {"statusCode": 200, "body": {}}


def unserializable(event: Any, context: Any) -> Any:
    return {"statusCode": 200, "body": {1, 2}}


@pytest.fixture
def server() -> Iterator[LambdaInvokeServer]:
    seen.clear()
    echoed.clear()
    routes = {"tops-echo": echo, "tops-boom": boom, "tops-slow": slow, "tops-bad-result": unserializable}
    with LambdaInvokeServer(routes, timeout_s=30, timeouts={"tops-slow": 0.1}) as running:
        yield running


@pytest.fixture
def client(server: LambdaInvokeServer) -> Any:
    return boto3.client("lambda", region_name="us-east-1", endpoint_url=server.url)


def call(client: Any, function: str, payload: Any, **kwargs: Any) -> dict[str, Any]:
    response = client.invoke(FunctionName=function, Payload=json.dumps(payload).encode(), **kwargs)
    response["body"] = response["Payload"].read()
    return dict(response)


def test_invoke_by_arn_with_env_suffix_runs_the_handler(client: Any) -> None:
    # GIVEN a route for tops-echo
    # WHEN boto3 invokes the dev function by ARN
    response = call(client, ARN + "tops-echo-dev", {"a": 1})

    # THEN the handler ran in process with the payload and a counting-down context
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    body = json.loads(response["body"])
    assert body["body"]["echo"] == {"a": 1}
    assert body["body"]["function"] == "tops-echo-dev"
    assert 0 < body["body"]["remaining_ms"] <= 30_000


def test_invoke_handler_error_is_unhandled_function_error(client: Any) -> None:
    response = call(client, "tops-boom", {})

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["body"])
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the handler failed"
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]


def test_invoke_through_shared_invoke_maps_errors(server: LambdaInvokeServer) -> None:
    client = boto3.client("lambda", region_name="us-east-1", endpoint_url=server.url)

    echoed = shared_invoke.invoke(client, ARN + "tops-echo", {"x": 2}, deadline=Deadline.after(30))["echo"]
    assert echoed["x"] == 2 and 0 < echoed["budget_ms"] <= 30_000
    with pytest.raises(CalleeError) as caught:
        shared_invoke.invoke(client, ARN + "tops-boom", {}, deadline=Deadline.after(30))
    assert caught.value.retryable
    assert "the handler failed" in str(caught.value)


def test_invoke_past_timeout_answers_task_timed_out(client: Any) -> None:
    response = call(client, "tops-slow", {})

    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out" in json.loads(response["body"])["errorMessage"]


def test_invoke_unserializable_result_is_marshal_error(client: Any) -> None:
    response = call(client, "tops-bad-result", {})

    assert json.loads(response["body"])["errorType"] == "Runtime.MarshalError"


def test_invoke_unknown_function_is_resource_not_found(client: Any) -> None:
    with pytest.raises(ClientError) as caught:
        call(client, ARN + "tops-nothing-here", {})

    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_invoke_event_and_dry_run_types(client: Any, server: LambdaInvokeServer) -> None:
    assert call(client, "tops-echo", {"n": 1}, InvocationType="DryRun")["StatusCode"] == 204
    assert call(client, "tops-echo", {"n": 2}, InvocationType="Event")["StatusCode"] == 202
    # the Event invocation runs after its answer: wait for the handler to have run (a bound for a busy
    # machine, not a timing: the wait ends when it has)
    assert echoed.wait(60), "the Event invocation never ran"
    assert [event for event, _ in seen] == [{"n": 2}]


def test_invoke_module_that_does_not_import_is_import_module_error(client: Any) -> None:
    with LambdaInvokeServer({"tops-broken": "no_such_package.function"}) as broken:
        other = boto3.client("lambda", region_name="us-east-1", endpoint_url=broken.url)
        response = call(other, "tops-broken", {})

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["body"])["errorType"] == "Runtime.ImportModuleError"


def test_invoke_records_every_invocation(client: Any, server: LambdaInvokeServer) -> None:
    call(client, "tops-echo", {"n": 1})
    call(client, "tops-boom", {})

    assert [(i.route, i.error) for i in server.invocations] == [
        ("tops-echo", None),
        ("tops-boom", "ValueError"),
    ]


def test_default_routes_follow_the_manifest_and_deployed_names() -> None:
    routes = default_routes()

    assert routes["tops-ns-create"] == "ns_create.function"
    assert routes["tops-udf-cleaner"] == "udf_clean.function"
    assert routes["tops-udf-worker"] == "udf_worker.function"
    assert routes["tops-udf-helper-apilab-pre"] == "udf_helpers.labs.apilab"
    assert routes["tops-acme-client"] == "acme_client.function"


def test_default_server_resolves_per_tenant_and_env_names() -> None:
    server = LambdaInvokeServer()

    assert server.registry.route("tops-token-refresh-sec-dev") == ("tops-token-refresh", 60.0)
    assert server.registry.route(ARN + "tops-udf-helper-waaplab-pre-dev")[0] == "tops-udf-helper-waaplab-pre"
    assert server.registry.route("tops-acme-client-mcn") == ("tops-acme-client", 180.0)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("tops-ns-create", ("tops-ns-create", None)),
        (ARN + "tops-ns-create-dev", ("tops-ns-create-dev", None)),
        (ARN + "tops-ns-create:live", ("tops-ns-create", "live")),
        ("tops-ns-create:3", ("tops-ns-create", "3")),
    ],
)
def test_split_function_names_and_arns(function: str, expected: tuple[str, str | None]) -> None:
    assert split_function(function) == expected
