"""When to try the next CA of the list, and which CAs a run may try (pure functions).

A run falls back when a CA is down (unreachable, 5xx, `serverInternal`), rate-limits the request
(429 `rateLimited`, or a 503 whose Retry-After does not fit the run), or refuses the names
(`rejectedIdentifier`, `unsupportedIdentifier`, `caa`: another CA may be allowed where this one is not).
It does not fall back on failures that another CA would meet just the same and that cost authorization
failures there too (a wrong TXT value, DNS trouble, a configuration error, the run's deadline).
The configured list never mixes staging and production CAs (config.py), so no fallback can move a
production certificate to a staging CA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final

from acme_client.config import CaConfig
from acme_client.errors import AcmeProblemError, CaUnavailableError, RateLimitedError, ValidationFailedError

REFUSED_NAMES: Final = frozenset({"rejectedIdentifier", "unsupportedIdentifier", "caa"})
DEFAULT_RATE_LIMIT_WAIT: Final = dt.timedelta(hours=1)  # a 429 without a Retry-After


def fallback_reason(error: BaseException) -> str | None:
    """Why another CA should be tried after `error` (already translated), or None when it should not."""
    if isinstance(error, RateLimitedError):
        return "rate limited"
    if isinstance(error, CaUnavailableError):
        return "unreachable"
    if isinstance(error, AcmeProblemError):
        if error.code in REFUSED_NAMES:
            return f"refused the names ({error.code})"
        if error.retryable:
            return "unavailable"
    if isinstance(error, ValidationFailedError) and error.codes & REFUSED_NAMES:
        return f"refused the names ({', '.join(sorted(error.codes & REFUSED_NAMES))})"
    return None


def rate_limit_until(error: RateLimitedError, now: dt.datetime) -> dt.datetime:
    """Until when the CA that answered `error` is left alone."""
    return error.retry_after if error.retry_after is not None else now + DEFAULT_RATE_LIMIT_WAIT


def candidates(
    cas: Sequence[CaConfig], limits: Mapping[str, dt.datetime], now: dt.datetime
) -> list[tuple[int, CaConfig]]:
    """(position, CA) to try, in order: every CA except those that asked to wait past `now`. The first
    CA is always preferred again once its wait is over."""
    return [(position, ca) for position, ca in enumerate(cas) if limits.get(ca.directory_url, now) <= now]


def every_ca_waiting_until(
    cas: Sequence[CaConfig], limits: Mapping[str, dt.datetime], now: dt.datetime
) -> dt.datetime | None:
    """When every configured CA asked to wait: the earliest time one of them allows again; else None."""
    waits = [limits.get(ca.directory_url) for ca in cas]
    if not waits or any(when is None or when <= now for when in waits):
        return None
    return min(when for when in waits if when is not None)
