"""udf_clean settings: the deployed `DEPLOYMENT_STATE_TABLE` only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import DEPLOYMENT_STATE_TABLE, EnvReader


@dataclass(frozen=True, slots=True)
class CleanConfig:
    table: str


def load_config(environ: Mapping[str, str]) -> CleanConfig:
    """Raises ConfigError when the table name is missing."""
    env = EnvReader(environ)
    table = env.text(DEPLOYMENT_STATE_TABLE)
    env.done()
    return CleanConfig(table=table)
