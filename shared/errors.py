"""The error hierarchy every worker raises.

`retryable` tells the handler whether Lambda, SQS or the stream should try again. Every message is
masked when the error is built (`shared.secret.mask_text`), so text from a library, a callee or an
HTTP body cannot carry a token or a key into a log, a state table or a result.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.secret import mask_text


class TopsError(Exception):
    """Root of every error this project raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str = "") -> None:
        super().__init__(mask_text(message))


class ConfigError(TopsError):
    """A missing or invalid environment variable or SSM parameter; lists every problem at once."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = [mask_text(problem) for problem in problems]
        super().__init__("invalid configuration: " + "; ".join(self.problems))


class InputError(TopsError):
    """A bad event or payload. `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = mask_text(message)
        super().__init__(f"invalid {field}: {message}")


class RetryableError(TopsError):
    """A transient failure: the caller or the event source should deliver again."""

    retryable = True


class OwnershipError(TopsError):
    """An object exists that the caller cannot prove it created, so it must not use, change or
    delete it (a namespace of another deployment, of a person, or a built-in one)."""


class StepError(TopsError):
    """A step of a workflow failed permanently; `step` names it."""

    def __init__(self, step: str, message: str, *, retryable: bool = False) -> None:
        self.step = step
        self.retryable = retryable
        super().__init__(f"{step} failed: {message}")
