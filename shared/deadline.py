"""The one deadline type: a point on a monotonic clock that every wait, poll, retry and invoke obeys.

A worker's deadline is the earlier of its own (the Lambda context's remaining time, less a margin)
and its caller's: a synchronous caller sends its remaining budget in the payload (`budget_ms`), so a
callee gives up, with a retryable error, while the caller still has time to record the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from shared.errors import InputError

# The payload field that carries a synchronous caller's remaining budget, in milliseconds.
BUDGET_FIELD: Final = "budget_ms"
# Kept back from a Lambda context's remaining time: the handler's own return and its last log lines.
CONTEXT_MARGIN_S: Final = 3.0
# Kept back from a caller's budget: the answer's trip back through the Invoke API.
ANSWER_MARGIN_S: Final = 1.5
# Without a context (a test, a script), this much time.
DEFAULT_SECONDS: Final = 60.0


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point on `clock` (monotonic seconds); nothing waits or retries past it."""

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    @classmethod
    def from_context(
        cls, context: object, *, margin: float = CONTEXT_MARGIN_S, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """The context's remaining time less `margin` (at least half a second)."""
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        seconds = remaining_ms() / 1000.0 if callable(remaining_ms) else DEFAULT_SECONDS
        return cls.after(max(0.5, seconds - margin), clock)

    @classmethod
    def for_invocation(
        cls, event: Any, context: object, *, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """A directly invoked worker's deadline: its context's, or earlier when the caller's budget
        (`budget_ms` in the payload) ends sooner. Raises InputError for a malformed budget."""
        own = cls.from_context(context, clock=clock)
        budget = event.get(BUDGET_FIELD) if isinstance(event, Mapping) else None
        if budget is None:
            return own
        if isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0:
            raise InputError(BUDGET_FIELD, f"must be a positive number of milliseconds, got {budget!r:.40}")
        return own.earliest(cls.after(max(0.5, budget / 1000.0 - ANSWER_MARGIN_S), clock))

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.at

    def earlier(self, seconds: float) -> Deadline:
        """The same deadline moved `seconds` earlier: time kept back for later steps."""
        return replace(self, at=self.at - seconds)

    def earliest(self, other: Deadline | None) -> Deadline:
        """Whichever of the two comes first."""
        return self if other is None or self.at <= other.at else replace(self, at=other.at)

    def budget_ms(self) -> int:
        """The remaining time as the `budget_ms` a callee receives."""
        return int(self.remaining() * 1000)
