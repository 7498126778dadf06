"""The one shape of every worker's handler: two decorators, in the manner of Powertools' own.

`direct_worker` serves the workers another function invokes synchronously (ns_create, ns_remove,
user_create, user_remove, the lab helpers). It owns, in order: reading the payload, binding its log
keys, the worker's settings when it has any, the deadline (the caller's `budget_ms` included), the
tenant call (SSM read, XC client, the 401 token re-read) and the error policy below.

`event_worker` serves the workers an event source or a schedule invokes (cert_mgmt, token_refresh,
acme_client, udf_clean, udf_dispatch, udf_worker). It owns reading the event, the settings, the
tenant call when the worker declares one, the deadline and the event error policy.

Both put `logger.inject_lambda_context` around the handler (state cleared at each invocation) and
mask any exception that no code path expected (`UnexpectedError`, raised and retryable). A worker's
function.py is then its core call under one decorator.

Directly invoked workers: success is `{"statusCode": 200, "body": ...}` as the deployed callers
expect. A permanent error becomes a non-200 result whose body names the error (and the field, for
bad input). A retryable error is raised, so the synchronous caller sees a FunctionError and can retry.

Event-driven workers: every error is logged once (type, detail, field, retryable) and raised, so the
event source (S3, EventBridge, SQS, the stream) delivers the event again.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar, overload

from shared.deadline import CONTEXT_MARGIN_S, Deadline
from shared.errors import ConfigError, InputError, OwnershipError, RetryableError, TopsError
from shared.xc.errors import XCHTTPError

# Powertools' metrics decorator warns on stderr when a run published no metric; a run that failed
# before measuring anything has nothing to publish, and its error is already logged.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.config import Tenant
    from shared.xc.client import XCClient


class TenantRequest(Protocol):
    """A directly invoked worker's request: it names its tenant's SSM base path."""

    @property
    def ssm_base_path(self) -> str: ...


class MetricsSink(Protocol):
    """The metric call a worker's core makes: Powertools' `Metrics` fits, and so does a test's recorder."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...


R = TypeVar("R")  # what `parse` returns
Q = TypeVar("Q", bound=TenantRequest)  # a directly invoked worker's request
C = TypeVar("C")  # the worker's settings
T = TypeVar("T")  # what the handler returns
Keys = Callable[[Q], Mapping[str, object]]
Config = Callable[[Mapping[str, str]], C]
TenantPath = Callable[[R, C], str]
DirectHandler = Callable[[Any, "LambdaContext"], dict[str, Any]]


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


def unexpected(logger: logging.Logger | Any, exc: Exception, message: str) -> UnexpectedError:
    """Log an unexpected exception once, with its traceback (masked by the log), and give the masked
    UnexpectedError to raise in its place, `from None`."""
    logger.exception(f"{message} unexpectedly", extra={"error": type(exc).__name__})
    return UnexpectedError(f"{type(exc).__name__}: {exc}")


def run_direct(logger: logging.Logger | Any, work: Callable[[], Any]) -> dict[str, Any]:
    """Run a directly invoked worker's core call under the shared error policy."""
    try:
        return ok(work())
    except TopsError as exc:
        if exc.retryable:
            logger.error("failed, retryable", extra={"error": type(exc).__name__, "detail": str(exc)})
            raise
        logger.error(
            "failed",
            extra={"error": type(exc).__name__, "detail": str(exc), "field": getattr(exc, "field", None)},
        )
        return failure(exc)
    except Exception as exc:
        raise unexpected(logger, exc, "failed") from None


def run_event(logger: logging.Logger | Any, work: Callable[[], T], *, message: str = "failed") -> T:
    """Run an event-driven worker's call: every error is logged once, as `message`, and raised."""
    try:
        return work()
    except TopsError as exc:
        logger.error(
            message,
            extra={
                "error": type(exc).__name__,
                "detail": str(exc),
                "retryable": exc.retryable,
                "field": getattr(exc, "field", None),
            },
        )
        raise
    except Exception as exc:
        raise unexpected(logger, exc, message) from None


def raw_event(event: Any) -> Any:
    """The `parse` of a worker that reads its event only once its settings are known, or not at all."""
    return event


def _call_with_tenant(
    base_path: str, call: Callable[[Tenant, XCClient], T], *, extra: Sequence[str], force_fetch: bool = False
) -> T:
    # Imported on use: the XC client is a noticeable import that workers without a tenant never need.
    from shared.tenant import call_with_tenant

    return call_with_tenant(base_path, call, extra=extra, force_fetch=force_fetch)


# --------------------------------------------------------------------------- directly invoked


@overload
def direct_worker(
    logger: Logger,
    *,
    parse: Callable[[Any], Q],
    keys: Keys[Q],
    ssm_params: Sequence[str] = (),
    bound_keys: Mapping[str, object] | None = None,
) -> Callable[[Callable[[Q, Tenant, XCClient, Deadline], Any]], DirectHandler]: ...


@overload
def direct_worker(
    logger: Logger,
    *,
    parse: Callable[[Any], Q],
    keys: Keys[Q],
    config: Config[C],
    ssm_params: Sequence[str] = (),
    bound_keys: Mapping[str, object] | None = None,
) -> Callable[[Callable[[Q, C, Tenant, XCClient, Deadline], Any]], DirectHandler]: ...


def direct_worker(
    logger: Logger,
    *,
    parse: Callable[[Any], Q],
    keys: Keys[Q],
    config: Config[Any] | None = None,
    ssm_params: Sequence[str] = (),
    bound_keys: Mapping[str, object] | None = None,
) -> Callable[[Callable[..., Any]], DirectHandler]:
    """Make `handler(request, [config,] tenant, xc, deadline) -> body` a directly invoked worker's
    `lambda_handler(event, context)`.

    Per invocation: bind `bound_keys` (known before the payload is read); `parse(event)` into the
    request (InputError naming the field); bind `keys(request)`; `config(os.environ)` when given;
    the deadline (`Deadline.for_invocation`: the context's, or the caller's `budget_ms` when sooner);
    then `handler` runs with the tenant under `request.ssm_base_path` (with the further SSM
    parameters `ssm_params`, re-read once after a 401) and its return value is the 200 body. Every
    error goes through `run_direct`.
    """

    def decorate(handler: Callable[..., Any]) -> DirectHandler:
        @logger.inject_lambda_context(clear_state=True)
        @functools.wraps(handler)
        def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
            if bound_keys:
                logger.append_keys(**bound_keys)

            def work() -> Any:
                request = parse(event)
                logger.append_keys(**keys(request))
                loaded = () if config is None else (config(os.environ),)
                deadline = Deadline.for_invocation(event, context)
                return _call_with_tenant(
                    request.ssm_base_path,
                    lambda tenant, xc: handler(request, *loaded, tenant, xc, deadline),
                    extra=ssm_params,
                )

            return run_direct(logger, work)

        return lambda_handler

    return decorate


# --------------------------------------------------------------------------- event-driven


@overload
def event_worker(
    logger: Logger,
    *,
    parse: Callable[[Any], R],
    config: Config[C],
    failure: str = "failed",
    correlation_id_path: str | None = None,
    log_event: bool | None = None,
    margin: float = CONTEXT_MARGIN_S,
) -> Callable[[Callable[[R, C, Deadline], T]], Callable[[Any, LambdaContext], T]]: ...


@overload
def event_worker(
    logger: Logger,
    *,
    parse: Callable[[Any], R],
    config: Config[C],
    tenant: TenantPath[R, C],
    ssm_params: Sequence[str] = (),
    force_fetch: bool = False,
    failure: str = "failed",
    correlation_id_path: str | None = None,
    log_event: bool | None = None,
    margin: float = CONTEXT_MARGIN_S,
) -> Callable[[Callable[[R, C, Tenant, XCClient, Deadline], T]], Callable[[Any, LambdaContext], T]]: ...


def event_worker(
    logger: Logger,
    *,
    parse: Callable[[Any], Any],
    config: Config[Any],
    tenant: TenantPath[Any, Any] | None = None,
    ssm_params: Sequence[str] = (),
    force_fetch: bool = False,
    failure: str = "failed",
    correlation_id_path: str | None = None,
    log_event: bool | None = None,
    margin: float = CONTEXT_MARGIN_S,
) -> Callable[[Callable[..., Any]], Callable[[Any, LambdaContext], Any]]:
    """Make `handler(request, config, [tenant, xc,] deadline)` an event-driven worker's
    `lambda_handler(event, context)`.

    Per invocation: `parse(event)` into the request; `config(os.environ)`; when `tenant` is given,
    the tenant under `tenant(request, config)` (with `ssm_params`, bypassing the SSM cache when
    `force_fetch`; re-read once after a 401); the deadline (`Deadline.from_context`, less `margin`
    seconds); then `handler`, whose return value is the invocation's. Every error is logged once as
    `failure` and raised (`run_event`). `correlation_id_path` and `log_event` go to
    `logger.inject_lambda_context`.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[[Any, LambdaContext], Any]:
        @logger.inject_lambda_context(
            correlation_id_path=correlation_id_path, log_event=log_event, clear_state=True
        )
        @functools.wraps(handler)
        def lambda_handler(event: Any, context: LambdaContext) -> Any:
            def work() -> Any:
                request = parse(event)
                loaded = config(os.environ)
                if tenant is None:
                    return handler(request, loaded, Deadline.from_context(context, margin=margin))
                return _call_with_tenant(
                    tenant(request, loaded),
                    lambda found, xc: handler(
                        request, loaded, found, xc, Deadline.from_context(context, margin=margin)
                    ),
                    extra=ssm_params,
                    force_fetch=force_fetch,
                )

            return run_event(logger, work, message=failure)

        return lambda_handler

    return decorate
