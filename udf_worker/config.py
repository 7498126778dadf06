"""udf_worker settings from its environment.

The six table and function variables are the deployed ones (the functions as ARNs). Two new optional
settings: `REPORT_BATCH_ITEM_FAILURES` says whether the stream mapping reports batch item failures
(the deployed one does not, so a failed record must fail the invocation), and `MIN_STEP_SECONDS`
is the time that must be left in the invocation to start invoking a step; with less, the step is
recorded as failed (retryable) rather than being cut off by the Lambda timeout half-way.
`RETRY_ATTEMPTS` bounds the later retries of a transiently failed deployment (udf_worker.redrive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from shared.config import (
    DEPLOYMENT_STATE_TABLE,
    LAB_CONFIGURATION_TABLE,
    NS_CREATE_LAMBDA_FUNCTION,
    NS_REMOVE_LAMBDA_FUNCTION,
    USER_CREATE_LAMBDA_FUNCTION,
    USER_REMOVE_LAMBDA_FUNCTION,
    EnvReader,
)

REPORT_BATCH_ITEM_FAILURES: Final = "REPORT_BATCH_ITEM_FAILURES"
MIN_STEP_SECONDS: Final = "MIN_STEP_SECONDS"
DEFAULT_MIN_STEP_SECONDS: Final = 15.0
RETRY_ATTEMPTS: Final = "RETRY_ATTEMPTS"
DEFAULT_RETRY_ATTEMPTS: Final = 5


@dataclass(frozen=True, slots=True)
class Functions:
    """The tenant workers, by name or ARN."""

    ns_create: str
    ns_remove: str
    user_create: str
    user_remove: str


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    state_table: str
    lab_table: str
    functions: Functions
    report_batch_item_failures: bool = False
    min_step_seconds: float = DEFAULT_MIN_STEP_SECONDS
    max_retries: int = DEFAULT_RETRY_ATTEMPTS


def load_config(environ: Mapping[str, str]) -> WorkerConfig:
    """Read and validate the settings. Raises ConfigError listing every problem."""
    env = EnvReader(environ)
    state_table = env.text(DEPLOYMENT_STATE_TABLE)
    lab_table = env.text(LAB_CONFIGURATION_TABLE)
    functions = Functions(
        ns_create=env.text(NS_CREATE_LAMBDA_FUNCTION),
        ns_remove=env.text(NS_REMOVE_LAMBDA_FUNCTION),
        user_create=env.text(USER_CREATE_LAMBDA_FUNCTION),
        user_remove=env.text(USER_REMOVE_LAMBDA_FUNCTION),
    )
    partial = env.flag(REPORT_BATCH_ITEM_FAILURES, False)
    min_step = env.number(MIN_STEP_SECONDS, DEFAULT_MIN_STEP_SECONDS, minimum=0.0, maximum=900.0)
    retries = env.integer(RETRY_ATTEMPTS, DEFAULT_RETRY_ATTEMPTS, minimum=0, maximum=20)
    env.done()
    return WorkerConfig(
        state_table=state_table,
        lab_table=lab_table,
        functions=functions,
        report_batch_item_failures=partial,
        min_step_seconds=min_step,
        max_retries=retries,
    )
