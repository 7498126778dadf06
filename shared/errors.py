"""The error hierarchy every worker raises.

`retryable` tells the handler whether Lambda, SQS or the stream should try again.
"""

from __future__ import annotations

from collections.abc import Iterable


class TopsError(Exception):
    """Root of every error this project raises on purpose."""

    retryable: bool = False


class ConfigError(TopsError):
    """A missing or invalid environment variable or SSM parameter; lists every problem at once."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


class InputError(TopsError):
    """A bad event or payload. `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"invalid {field}: {message}")


class RetryableError(TopsError):
    """A transient failure: the caller or the event source should deliver again."""

    retryable = True


class StepError(TopsError):
    """A step of a workflow failed permanently; `step` names it."""

    def __init__(self, step: str, message: str, *, retryable: bool = False) -> None:
        self.step = step
        self.retryable = retryable
        super().__init__(f"{step} failed: {message}")
