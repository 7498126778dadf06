"""Synchronous Lambda invoke of another worker, and the check of what it returned.

The caller's deadline travels with the payload (`budget_ms`), so the callee gives up in time for its
answer to arrive; and the caller never waits past its deadline, whatever the callee does: the invoke
runs in a thread that is abandoned, not waited for, when the deadline comes first.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, Unpack

from shared.deadline import BUDGET_FIELD, Deadline
from shared.errors import TopsError
from shared.secret import mask

if TYPE_CHECKING:
    from mypy_boto3_lambda.type_defs import InvocationRequestTypeDef

log = logging.getLogger(__name__)

# A backstop only: the caller's deadline ends every wait first (see `invoke`).
INVOKE_READ_TIMEOUT: Final = 75.0

T = TypeVar("T")


class LambdaClient(Protocol):
    """The one call made here, with boto3-stubs' own signature: the boto3 client fits (mypy checks it
    where `lambda_client` returns one), and so does a test's recorder."""

    def invoke(self, **kwargs: Unpack[InvocationRequestTypeDef]) -> Mapping[str, Any]: ...


class CalleeError(TopsError):
    """The invoked function failed: a FunctionError (crash, timeout: retryable) or a non-200 result."""

    def __init__(
        self, function: str, message: str, *, retryable: bool, status: int | None = None, body: Any = None
    ) -> None:
        self.function = function
        self.status = status
        self.body = body
        self.retryable = retryable
        super().__init__(f"{short_name(function)} failed: {message}")


def short_name(function: str) -> str:
    return function.rsplit(":", 1)[-1] if function.startswith("arn:") else function


def lambda_client() -> LambdaClient:
    from shared import aws

    # One attempt: a read timeout must not silently invoke the callee a second time.
    return aws.client("lambda", read_timeout=INVOKE_READ_TIMEOUT, max_attempts=1)


def within(deadline: Deadline, call: Callable[[], T], *, what: str) -> T:
    """`call()`'s result, or TimeoutError when it has not returned by `deadline`.

    The call runs in a daemon thread; on timeout the thread is left to finish on its own (its result
    is dropped), because a blocked socket read cannot be interrupted from here.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"call {what}", daemon=True)
    thread.start()
    thread.join(timeout=deadline.remaining())
    if thread.is_alive():
        raise TimeoutError(what)
    if failure:
        raise failure[0]
    return outcome[0]


def invoke(client: LambdaClient, function: str, payload: dict[str, Any], *, deadline: Deadline) -> Any:
    """Invoke `function` (name or ARN) with RequestResponse; return the `body` of a 200 result.

    The payload carries the time left before `deadline` as `budget_ms`. Raises CalleeError with the
    callee's own message otherwise, or (retryable) when no answer came before `deadline`: the
    callee may still be running, and its work is safe to repeat.
    """
    body = json.dumps({**payload, BUDGET_FIELD: deadline.budget_ms()}).encode()
    try:
        response = within(
            deadline,
            lambda: client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=body),
            what=function,
        )
    except TimeoutError:
        raise CalleeError(
            function, "no answer before the caller's deadline (it may still be running)", retryable=True
        ) from None
    raw = response["Payload"].read()
    try:
        result = json.loads(raw) if raw else None
    except ValueError:
        result = None
    if response.get("FunctionError"):
        text = raw[:300].decode("utf-8", "replace")
        detail = result.get("errorMessage") if isinstance(result, dict) else text
        kind = result.get("errorType", "error") if isinstance(result, dict) else "error"
        raise CalleeError(function, f"{kind}: {detail}", retryable=True, body=mask(result))
    if not isinstance(result, dict) or result.get("statusCode") != 200:
        status = result.get("statusCode") if isinstance(result, dict) else None
        answer = result.get("body") if isinstance(result, dict) else result
        message = answer.get("message") if isinstance(answer, dict) else answer
        retryable = bool(answer.get("retryable")) if isinstance(answer, dict) else False
        raise CalleeError(
            function, f"status {status}: {message}", retryable=retryable, status=status, body=mask(answer)
        )
    log.debug("invoked", extra={"function": short_name(function)})
    return result.get("body")
