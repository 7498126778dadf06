"""What the provisioning and teardown steps depend on, as Protocols, with the real adapters.

`Worker` bundles them; the handler builds it from boto3 clients and the unit tests from fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import load_tenant_url
from shared.errors import InputError
from shared.invoke import CalleeError, LambdaClient, invoke
from udf_worker.config import Functions
from udf_worker.models import LabConfig, parse_lab_config
from udf_worker.state import LabTable, StateTable

log = logging.getLogger(__name__)

# Lambda API errors that another attempt cannot fix.
_PERMANENT_INVOKE_ERRORS: Final = frozenset({
    "ResourceNotFoundException", "AccessDeniedException", "InvalidParameterValueException",
    "RequestTooLargeException", "InvalidRequestContentException", "UnsupportedMediaTypeException",
})


class Invoker(Protocol):
    def invoke(self, function: str, payload: dict[str, Any]) -> Any:
        """Invoke synchronously; return the callee's `body`. Raises CalleeError (with `retryable`)."""
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

    def invoke(self, function: str, payload: dict[str, Any]) -> Any:
        try:
            return invoke(self._client, function, payload)
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
    """Everything the steps use. `time_left` gives the seconds left in this invocation."""

    state: StateTable
    labs: LabCatalog
    tenants: TenantDirectory
    invoker: Invoker
    functions: Functions
    time_left: Callable[[], float] = field(default=lambda: 900.0)
    min_step_seconds: float = 15.0
