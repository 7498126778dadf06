"""Fault injection, latency, rate limiting and the request log: kept apart from the rules.

The HTTP layer asks ``Faults.check()`` before (or, for ``after`` faults, instead of
answering with) the model's result, and records every ``/api`` call with
``Faults.record()``. Nothing here knows about XC objects.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from devstack.xc.errors import error_body

# Pseudo-status that means "close the connection without answering".
DROP = 0


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One ``/api`` call as the emulator saw it. The Authorization header is never kept.

    ``status`` is what the client got (0 for a dropped connection); ``fault`` says why
    it was not the model's answer: ``"injected"``, ``"rate_limited"`` or ``"dropped"``.
    """

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    timestamp: float
    duration_ms: float = 0.0
    fault: str | None = None


@dataclass(slots=True)
class FaultRule:
    """Answer the next matching calls with ``statuses``, one status per call, in order."""

    id: int
    method: str
    path_regex: str
    statuses: deque[int]
    retry_after: int | None = None
    body: Any = None
    after: bool = False
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path_regex)

    def matches(self, method: str, path: str) -> bool:
        method_matches = self.method in ("*", method.upper())
        return method_matches and self._pattern.search(path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path_regex,
            "remaining": list(self.statuses),
            "retry_after": self.retry_after,
            "body": self.body,
            "after": self.after,
            "hits": self.hits,
        }


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to answer instead of the model's result."""

    status: int
    reason: Literal["injected", "rate_limited", "dropped"]
    headers: dict[str, str]
    body: Any
    after: bool = False

    @property
    def drop(self) -> bool:
        return self.status == DROP


class Faults:
    """Injected faults, fixed latency, an optional sliding-window rate limiter and the request log."""

    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._latency_ms = 0
        self._rate_limit: tuple[int, float] | None = None
        self._accepted: deque[float] = deque()
        self._requests: list[RequestRecord] = []

    # ------------------------------------------------------------------ faults

    def add(
        self,
        method: str,
        path_regex: str,
        status: int | Sequence[int],
        count: int = 1,
        retry_after: int | None = None,
        body: Any = None,
        *,
        after: bool = False,
    ) -> FaultRule:
        """Answer the next ``count`` calls matching ``method`` (or ``"*"``) and ``path_regex``
        (``re.search`` on the path) with ``status``; a sequence of statuses is used one per
        call, in order, and ``count`` is then ignored.

        ``status`` 0 (``DROP``) closes the connection without an answer. ``retry_after``
        adds a ``Retry-After`` header (seconds). ``body`` replaces the XC-shaped error body:
        a dict is sent as JSON, a string as plain text. With ``after=True`` the model
        handles the call first (state changes) and the client still gets the fault.
        """
        statuses = [status] if isinstance(status, int) else list(status)
        if isinstance(status, int):
            if count < 1:
                raise ValueError("count must be at least 1")
            statuses = statuses * count
        if not statuses:
            raise ValueError("at least one status is required")
        for value in statuses:
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not (value == DROP or 400 <= value <= 599)
            ):
                raise ValueError(f"unsupported fault status {value!r}; use 0 (drop) or 400-599")
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        with self._lock:
            rule = FaultRule(
                id=self._next_id,
                method=method.upper(),
                path_regex=path_regex,
                statuses=deque(statuses),
                retry_after=retry_after,
                body=body,
                after=after,
            )
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._rules.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    # ------------------------------------------------------------------ latency and rate limit

    @property
    def latency_ms(self) -> int:
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        self._latency_ms = value

    def set_latency(self, ms: int) -> None:
        self.latency_ms = ms

    def apply_latency(self) -> None:
        """Sleep the fixed latency (called before each ``/api`` call is handled)."""
        if self._latency_ms > 0:
            self._sleep(self._latency_ms / 1000)

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """``(calls, window_s)`` or None."""
        return self._rate_limit

    def set_rate_limit(self, calls: int | None, window_s: float = 1.0) -> None:
        """Allow at most ``calls`` calls per sliding ``window_s`` seconds; None turns it off."""
        with self._lock:
            if calls is None:
                self._rate_limit = None
            else:
                if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
                    raise ValueError("calls must be a positive integer")
                if window_s <= 0:
                    raise ValueError("window_s must be positive")
                self._rate_limit = (calls, float(window_s))
            self._accepted.clear()

    def _rate_limited(self) -> int | None:
        """Seconds to wait when over the limit, else None (and the call takes a slot)."""
        if self._rate_limit is None:
            return None
        calls, window = self._rate_limit
        now = self._monotonic()
        while self._accepted and self._accepted[0] <= now - window:
            self._accepted.popleft()
        if len(self._accepted) >= calls:
            return max(1, math.ceil(self._accepted[0] + window - now))
        self._accepted.append(now)
        return None

    # ------------------------------------------------------------------ decision

    def check(self, method: str, path: str) -> FaultAction | None:
        """The fault to answer this call with, if any: injected faults first, then the rate limiter."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                status = rule.statuses.popleft()
                rule.hits += 1
                if not rule.statuses:
                    self._rules.remove(rule)
                if status == DROP:
                    return FaultAction(status=DROP, reason="dropped", headers={}, body=None)
                headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
                body = error_body(status, "injected fault") if rule.body is None else rule.body
                return FaultAction(
                    status=status, reason="injected", headers=headers, body=body, after=rule.after
                )
            wait = self._rate_limited()
            if wait is not None:
                return FaultAction(
                    status=429,
                    reason="rate_limited",
                    headers={"Retry-After": str(wait)},
                    body=error_body(429, "rate limit exceeded, retry later"),
                )
            return None

    # ------------------------------------------------------------------ request log

    def record(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        status: int,
        *,
        started: float | None = None,
        duration_ms: float = 0.0,
        fault: str | None = None,
    ) -> RequestRecord:
        entry = RequestRecord(
            method=method,
            path=path,
            query=dict(query),
            body=body,
            status=status,
            timestamp=self._wall() if started is None else started,
            duration_ms=duration_ms,
            fault=fault,
        )
        with self._lock:
            self._requests.append(entry)
        return entry

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """No faults, no latency, no rate limit, empty log."""
        self.clear()
        self.clear_requests()
        self.set_rate_limit(None)
        self._latency_ms = 0
