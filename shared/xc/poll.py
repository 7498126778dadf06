"""Waiting for a condition with an explicit deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from shared.xc.errors import XCTimeoutError

T = TypeVar("T")

# A created namespace or object takes about a second to become readable (xc-api.md §6); checking
# sooner only adds 404s. Pollers of visibility start at this interval.
VISIBILITY_INTERVAL = 1.0


def wait_until(
    check: Callable[[], T | None], *, deadline: float, pending: str, interval: float = 0.2,
    max_interval: float = 2.0, factor: float = 1.6, sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `check` until it returns something other than None/False; return that.

    Starts with short intervals and backs off; always sleeps between checks; never sleeps past
    `deadline` (a `clock()` value). Raises XCTimeoutError naming `pending` when time runs out.
    Errors raised by `check` propagate: it decides what "not yet" means.
    """
    started = clock()
    delay = interval
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        now = clock()
        if now >= deadline:
            raise XCTimeoutError(pending, now - started)
        sleep(min(delay, deadline - now))
        delay = min(max_interval, delay * factor)
        if clock() >= deadline:  # no time left for another check (a call at the deadline is refused)
            raise XCTimeoutError(pending, clock() - started)


def deadline_from_context(context: object, *, margin: float = 3.0, default: float = 60.0,
                          clock: Callable[[], float] = time.monotonic) -> float:
    """A `clock()` deadline from a Lambda context's remaining time, less a safety margin."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining_ms() / 1000.0 if callable(remaining_ms) else default
    return clock() + max(0.5, seconds - margin)
