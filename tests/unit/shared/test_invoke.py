from __future__ import annotations

import io
import json
from typing import Any

import pytest

from shared.deadline import Deadline
from shared.invoke import CalleeError, invoke
from tests.fixtures.clock import FakeClock

# A minute away on a clock that never moves: however long after collection a test runs, it has a minute.
LATER = Deadline.after(60, FakeClock())


class FakeLambda:
    def __init__(self, payload: Any, function_error: str | None = None) -> None:
        self.payload = payload
        self.function_error = function_error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(self.payload).encode()),
        }
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_invoke_returns_body_of_200():
    client = FakeLambda({"statusCode": 200, "body": {"created": True}})
    body = invoke(client, "arn:aws:lambda:us-east-1:1:function:tops-ns-create", {"a": 1}, deadline=LATER)
    assert body == {"created": True}
    call = client.calls[0]
    assert call["InvocationType"] == "RequestResponse" and json.loads(call["Payload"])["a"] == 1


def test_invoke_non_200_is_permanent_failure_with_callee_message():
    client = FakeLambda(
        {
            "statusCode": 400,
            "body": {
                "error": "InputError",
                "message": "invalid email: x",
                "field": "email",
                "retryable": False,
            },
        }
    )
    with pytest.raises(CalleeError) as info:
        invoke(client, "arn:aws:lambda:us-east-1:1:function:tops-user-create", {}, deadline=LATER)
    assert not info.value.retryable and info.value.status == 400
    assert str(info.value) == "tops-user-create failed: status 400: invalid email: x"


def test_invoke_function_error_is_retryable():
    client = FakeLambda({"errorMessage": "Task timed out", "errorType": "Sandbox.Timedout"}, "Unhandled")
    with pytest.raises(CalleeError) as info:
        invoke(client, "tops-ns-create", {}, deadline=LATER)
    assert info.value.retryable and "Sandbox.Timedout: Task timed out" in str(info.value)


def test_invoke_retryable_flag_from_body_and_masking():
    client = FakeLambda({"statusCode": 502, "body": {"message": "m", "retryable": True, "token": "abc"}})
    with pytest.raises(CalleeError) as info:
        invoke(client, "f", {}, deadline=LATER)
    assert info.value.retryable and info.value.body["token"] == "***"


def test_invoke_garbage_result_is_failure():
    client = FakeLambda("not a dict")
    with pytest.raises(CalleeError, match="status None"):
        invoke(client, "f", {}, deadline=LATER)


def test_invoke_sends_the_callers_remaining_budget():
    client = FakeLambda({"statusCode": 200, "body": {}})
    invoke(client, "f", {"a": 1}, deadline=Deadline.after(20, FakeClock()))
    budget = json.loads(client.calls[0]["Payload"])["budget_ms"]
    assert budget == 20_000


def test_invoke_never_waits_past_the_deadline_for_a_callee_that_does_not_answer():
    import threading

    # GIVEN a callee that does not answer until it is released
    release = threading.Event()

    class Stuck(FakeLambda):
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            release.wait(30)
            return super().invoke(**kwargs)

    # WHEN it is invoked with little time left
    try:
        with pytest.raises(CalleeError) as info:
            invoke(Stuck({"statusCode": 200, "body": {}}), "tops-ns-create", {}, deadline=Deadline.after(0.2))
    finally:
        release.set()
    # THEN the caller gets a retryable failure at its deadline, in time to record it
    assert info.value.retryable and "no answer before the caller's deadline" in str(info.value)
