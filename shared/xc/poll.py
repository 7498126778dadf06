"""Waiting for a condition with an explicit deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from shared.deadline import Deadline
from shared.xc.errors import XCTimeoutError

T = TypeVar("T")

# A created namespace or object takes about a second to become readable (docs/xc-api.md §6); checking
# sooner only adds 404s. Pollers of visibility start at this interval.
VISIBILITY_INTERVAL = 1.0


def wait_until(
    check: Callable[[], T | None],
    *,
    deadline: Deadline,
    pending: str,
    interval: float = 0.2,
    max_interval: float = 2.0,
    factor: float = 1.6,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `check` until it returns something other than None/False; return that.

    Starts with short intervals and backs off; always sleeps between checks; never sleeps past
    `deadline`. Raises XCTimeoutError naming `pending` when time runs out. Errors raised by `check`
    propagate: it decides what "not yet" means.
    """
    started = deadline.clock()
    delay = interval
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if deadline.expired():
            raise XCTimeoutError(pending, deadline.clock() - started)
        sleep(min(delay, deadline.remaining()))
        delay = min(max_interval, delay * factor)
        if deadline.expired():  # no time left for another check (a call at the deadline is refused)
            raise XCTimeoutError(pending, deadline.clock() - started)
