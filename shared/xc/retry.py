"""The retry policy, as pure functions so that it is tested directly.

- 429: always retried, waiting `Retry-After` when given plus a random share of it, so that callers
  throttled together do not come back together; bounded by the caller's deadline, not by a count.
- 502, 503, 504, a read timeout or a dropped connection: retried only for operations that are
  safe to repeat (GET, PUT, DELETE, and the POSTs a resource module marks idempotent).
- A connection that failed before the request was sent: always retried.
- Anything else (400s, 500 on a create, ...) is not retried here.
Backoff: 0.5 s x 2^n, capped at 5 s, with jitter; a bounded number of attempts for transient
errors; never past the deadline (without one, a bounded total time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from shared import timeparse

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
TRANSIENT_STATUSES: Final = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5  # for transient errors; throttling is bounded by time only
    base_delay: float = 0.5
    max_delay: float = 5.0
    max_retry_after: float = 20.0  # a longer server hint is not waited for: the error is raised
    retry_after_spread: float = 0.5  # jitter on top of Retry-After: up to this share of it ...
    min_spread: float = 1.0  # ... and at least this many seconds
    max_elapsed: float = 40.0  # the most time spent retrying one call that has no deadline


def should_retry(*, status: int | None, idempotent: bool, connect_failed: bool = False) -> bool:
    """Whether this outcome may be retried. `status` is None for a transport failure."""
    if status is None:
        return connect_failed or idempotent
    if status == 429:
        return True
    return idempotent and status in TRANSIENT_STATUSES


def backoff(policy: RetryPolicy, attempt: int, jitter: float) -> float:
    """Delay before retry number `attempt` (1-based); `jitter` in [0, 1) spreads it over its upper half."""
    delay = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    return delay / 2 + delay / 2 * jitter


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait (shared.timeparse reads it; `now` defaults to the clock)."""
    return timeparse.parse_retry_after(value, time.time() if now is None else now)


def next_delay(
    policy: RetryPolicy,
    *,
    attempt: int,
    throttled: bool,
    retry_after: float | None,
    jitter: float,
    elapsed: float,
    remaining: float | None,
) -> float | None:
    """How long to wait before the next attempt, or None when the policy says stop.

    `throttled` (a 429) lifts the attempt count: only the deadline (`remaining`, or `max_elapsed`
    without one) ends the wait. `jitter` in [0, 1) spreads the backoff, and adds up to
    `retry_after_spread` of a `Retry-After` hint (at least `min_spread` seconds) on top of it.
    """
    if attempt >= policy.max_attempts and not throttled:
        return None
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return None
        delay = retry_after + jitter * max(policy.min_spread, retry_after * policy.retry_after_spread)
    else:
        delay = backoff(policy, attempt, jitter)
    if remaining is None:
        return None if elapsed + delay > policy.max_elapsed else delay
    return None if delay >= remaining else delay
