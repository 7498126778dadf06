"""The error policy of directly invoked workers, written once.

Success is `{"statusCode": 200, "body": ...}` as the deployed callers expect. A permanent error
becomes a non-200 result whose body names the error (and the field, for bad input). A retryable
error is raised, so the synchronous caller sees a FunctionError and can retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypedDict

from shared.errors import ConfigError, InputError, OwnershipError, RetryableError, TopsError
from shared.xc.errors import XCHTTPError


class ErrorBody(TypedDict, total=False):
    error: str
    message: str
    field: str
    status: int
    retryable: bool


def ok(body: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": body}


def failure(exc: TopsError) -> dict[str, Any]:
    """The non-200 result for a permanent error (400 bad input, 409 not ours, 500 configuration,
    502 refused by XC). The message was masked when the error was built."""
    body: ErrorBody = {"error": type(exc).__name__, "message": str(exc), "retryable": False}
    if isinstance(exc, InputError):
        status = 400
        body["field"] = exc.field
    elif isinstance(exc, ConfigError):
        status = 500
    elif isinstance(exc, OwnershipError):
        status = 409
    elif isinstance(exc, XCHTTPError):
        status = 502
        body["status"] = exc.status
    else:
        status = 500
    return {"statusCode": status, "body": body}


class UnexpectedError(RetryableError):
    """An exception no code path expected (a library's own error, a bug). Its text is masked here,
    because the Lambda runtime hands it to the caller as `errorMessage` and prints it to the log
    outside Python's logging. Retryable: its cause is unknown."""


def run_direct(logger: logging.Logger | Any, work: Callable[[], Any]) -> dict[str, Any]:
    """Run a directly invoked worker's core call under the shared error policy."""
    try:
        return ok(work())
    except TopsError as exc:
        if exc.retryable:
            logger.error("failed, retryable", extra={"error": type(exc).__name__, "detail": str(exc)})
            raise
        logger.error("failed", extra={"error": type(exc).__name__, "detail": str(exc),
                                      "field": getattr(exc, "field", None)})
        return failure(exc)
    except Exception as exc:
        logger.exception("failed unexpectedly", extra={"error": type(exc).__name__})
        raise UnexpectedError(f"{type(exc).__name__}: {exc}") from None
