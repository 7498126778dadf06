"""Synchronous Lambda invoke of another worker, and the check of what it returned."""

from __future__ import annotations

import json
import logging
from typing import Any, Final, Protocol

from shared.errors import TopsError
from shared.secret import mask

log = logging.getLogger(__name__)

# Callees run for up to 60 s (their timeout); wait a little longer than that for the answer.
INVOKE_READ_TIMEOUT: Final = 75.0


class LambdaClient(Protocol):
    def invoke(self, **kwargs: Any) -> dict[str, Any]: ...


class CalleeError(TopsError):
    """The invoked function failed: a FunctionError (crash, timeout: retryable) or a non-200 result."""

    def __init__(self, function: str, message: str, *, retryable: bool, status: int | None = None,
                 body: Any = None) -> None:
        self.function = function
        self.status = status
        self.body = body
        self.retryable = retryable
        super().__init__(f"{_short_name(function)} failed: {message}")


def _short_name(function: str) -> str:
    return function.rsplit(":", 1)[-1] if function.startswith("arn:") else function


def lambda_client() -> Any:
    from shared import aws

    # One attempt: a read timeout must not silently invoke the callee a second time.
    return aws.client("lambda", read_timeout=INVOKE_READ_TIMEOUT, max_attempts=1)


def invoke(client: LambdaClient, function: str, payload: dict[str, Any]) -> Any:
    """Invoke `function` (name or ARN) with RequestResponse; return the `body` of a 200 result.

    Raises CalleeError with the callee's own message otherwise.
    """
    response = client.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
    )
    raw = response["Payload"].read()
    try:
        result = json.loads(raw) if raw else None
    except ValueError:
        result = None
    if response.get("FunctionError"):
        detail = result.get("errorMessage") if isinstance(result, dict) else raw[:300]
        kind = result.get("errorType", "error") if isinstance(result, dict) else "error"
        raise CalleeError(function, f"{kind}: {detail}", retryable=True, body=mask(result))
    if not isinstance(result, dict) or result.get("statusCode") != 200:
        status = result.get("statusCode") if isinstance(result, dict) else None
        body = result.get("body") if isinstance(result, dict) else result
        message = body.get("message") if isinstance(body, dict) else body
        retryable = bool(body.get("retryable")) if isinstance(body, dict) else False
        raise CalleeError(function, f"status {status}: {message}", retryable=retryable, status=status,
                          body=mask(body))
    log.debug("invoked", extra={"function": _short_name(function)})
    return result.get("body")
