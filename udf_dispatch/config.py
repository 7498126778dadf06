"""udf_dispatch settings from its environment.

`DEPLOYMENT_STATE_TABLE` is the deployed variable (`UDF_QUEUE` is also set on the function and is
not used). The two new optional settings default to today's behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from shared.config import DEPLOYMENT_STATE_TABLE, EnvReader

# Seconds from now to the item's `ttl` on every heartbeat (docs/deployment.md §4.1: 300).
TTL_EXTENSION_SECONDS: Final = "TTL_EXTENSION_SECONDS"
# Whether the event source mapping has `ReportBatchItemFailures`. The deployed mapping does not, so
# by default any failed record fails the whole invocation (SQS then redelivers the batch).
REPORT_BATCH_ITEM_FAILURES: Final = "REPORT_BATCH_ITEM_FAILURES"

DEFAULT_TTL_EXTENSION: Final = 300


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    table: str
    ttl_extension_seconds: int = DEFAULT_TTL_EXTENSION
    report_batch_item_failures: bool = False


def load_config(environ: Mapping[str, str]) -> DispatchConfig:
    """Read and validate the settings. Raises ConfigError listing every problem."""
    env = EnvReader(environ)
    table = env.text(DEPLOYMENT_STATE_TABLE)
    ttl = env.integer(TTL_EXTENSION_SECONDS, DEFAULT_TTL_EXTENSION, minimum=1, maximum=86_400)
    partial = env.flag(REPORT_BATCH_ITEM_FAILURES, False)
    env.done()
    return DispatchConfig(table=table, ttl_extension_seconds=ttl, report_batch_item_failures=partial)
