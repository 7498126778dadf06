"""What the provisioning and teardown steps depend on, as Protocols, with the real adapters.

`Worker` bundles them; the handler builds it from boto3 clients and the unit tests from fakes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import load_tenant_url
from shared.deadline import Deadline
from shared.errors import InputError, RetryableError, TopsError
from shared.invoke import CalleeError, LambdaClient, invoke, short_name
from shared.xc.retry import RetryPolicy, backoff
from udf_worker.config import Functions
from udf_worker.models import LabConfig, parse_lab_config
from udf_worker.state import LabTable, StateTable

log = logging.getLogger(__name__)

# Lambda API errors that another attempt cannot fix.
_PERMANENT_INVOKE_ERRORS: Final = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "InvalidParameterValueException",
        "RequestTooLargeException",
        "InvalidRequestContentException",
        "UnsupportedMediaTypeException",
    }
)


# Kept back from the invocation's deadline for recording a step's outcome after its callee answered.
RECORD_RESERVE_S: Final = 2.0
# Transient callee failures are tried again inside the invocation: a blip need not wait for a marker.
STEP_RETRIES: Final = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=4.0)


class Invoker(Protocol):
    def invoke(self, function: str, payload: dict[str, Any], *, deadline: Deadline) -> Any:
        """Invoke synchronously within `deadline`; return the callee's `body`. Raises CalleeError
        (with `retryable`)."""
        ...


class TenantDirectory(Protocol):
    def tenant_url(self, ssm_base_path: str) -> str:
        """The tenant URL under a base path. Raises ConfigError (missing) or RetryableError."""
        ...


class LabCatalog(Protocol):
    def get(self, lab_id: str) -> LabConfig | None:
        """The validated lab row, or None when unknown. Raises InputError for an invalid row."""
        ...


class LambdaInvoker:
    """shared.invoke over a boto3 Lambda client; SDK and API errors become CalleeError too."""

    def __init__(self, client: LambdaClient) -> None:
        self._client = client

    def invoke(self, function: str, payload: dict[str, Any], *, deadline: Deadline) -> Any:
        try:
            return invoke(self._client, function, payload, deadline=deadline)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            retryable = code not in _PERMANENT_INVOKE_ERRORS
            raise CalleeError(function, f"{code}: {exc}", retryable=retryable) from exc
        except BotoCoreError as exc:
            # A read timeout or a dropped connection: the callee may still be running. Its work is
            # idempotent, so the retry of this record may safely invoke it again.
            raise CalleeError(function, f"{type(exc).__name__}: {exc}", retryable=True) from exc


class SsmTenants:
    """The tenant URL from SSM through shared.config (cached 300 s); the worker never reads the token."""

    def tenant_url(self, ssm_base_path: str) -> str:
        return load_tenant_url(ssm_base_path)


class TableLabCatalog:
    """Lab rows from the configuration table, validated, cached for one invocation."""

    def __init__(self, table: LabTable) -> None:
        self._table = table
        self._cache: dict[str, LabConfig | None] = {}

    def get(self, lab_id: str) -> LabConfig | None:
        if lab_id not in self._cache:
            item = self._table.get(lab_id)
            self._cache[lab_id] = parse_lab_config({"lab_id": lab_id, **item}) if item else None
        return self._cache[lab_id]


def lenient_lab(labs: LabCatalog, lab_id: str | None) -> LabConfig | None:
    """The lab row for teardown, where an invalid or missing row must not stop the rest."""
    if not lab_id:
        return None
    try:
        return labs.get(lab_id)
    except InputError as exc:
        log.warning("lab configuration row is invalid", extra={"lab_id": lab_id, "reason": str(exc)})
        return None


@dataclass
class Worker:
    """Everything the steps use, and the invocation's deadline."""

    state: StateTable
    labs: LabCatalog
    tenants: TenantDirectory
    invoker: Invoker
    functions: Functions
    deadline: Deadline = field(default_factory=lambda: Deadline.after(900.0))
    min_step_seconds: float = 15.0
    max_retries: int = 5  # later retries through markers (udf_worker.redrive)
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    now: Callable[[], float] = time.time  # wall clock, for a marker's ttl

    def check_time(self, what: str) -> None:
        """Raise RetryableError when too little time is left to start `what` and record its outcome."""
        left = self.deadline.earlier(RECORD_RESERVE_S).remaining()
        if left < self.min_step_seconds:
            raise RetryableError(
                f"only {left:.1f}s left in this invocation, {self.min_step_seconds:.0f}s "
                f"needed to start {what}"
            )

    def call(self, function: str, payload: dict[str, Any]) -> Any:
        """Invoke `function` within this invocation's deadline, less the time kept back to record the
        outcome; a transient failure is tried again while there is time for a whole step.

        Raises RetryableError when too little time is left to start, CalleeError otherwise.
        """
        deadline = self.deadline.earlier(RECORD_RESERVE_S)
        attempt = 0
        while True:
            attempt += 1
            self.check_time(short_name(function))
            try:
                return self.invoker.invoke(function, payload, deadline=deadline)
            except TopsError as exc:
                delay = backoff(STEP_RETRIES, attempt, self.jitter())
                if (
                    not exc.retryable
                    or attempt >= STEP_RETRIES.max_attempts
                    or deadline.remaining() - delay < self.min_step_seconds
                ):
                    raise
                log.warning(
                    "callee failed, retrying",
                    extra={
                        "function": short_name(function),
                        "attempt": attempt,
                        "delay_s": round(delay, 2),
                        "reason": str(exc),
                    },
                )
                self.sleep(delay)
