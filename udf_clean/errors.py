"""The errors udf_clean raises."""

from __future__ import annotations

from shared.errors import RetryableError
from udf_clean.models import SweepResult


class SweepError(RetryableError):
    """Some expired items could not be deleted; the next run (a minute later) tries them again."""

    def __init__(self, result: SweepResult, failures: list[str]) -> None:
        self.result = result
        self.failures = failures
        super().__init__(
            f"{len(failures)} expired items not deleted ({result.to_body()}): " + "; ".join(failures[:5])
        )
