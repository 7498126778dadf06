"""acme_client's typed errors. Each carries data, not only text, and never a key or an HMAC secret."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from shared.errors import RetryableError, TopsError


class AcmeError(TopsError):
    """Root of the errors raised while talking to the CA."""


class AcmeProblemError(AcmeError):
    """The CA answered with an RFC 7807 problem. `code` is the ACME error name (`badCSR`, `caa`...)."""

    def __init__(
        self, code: str | None, detail: str, *, subproblems: Sequence[str] = (), status: int | None = None
    ) -> None:
        self.code = code
        self.detail = detail
        self.subproblems = tuple(subproblems)
        self.status = status
        self.retryable = code == "serverInternal" or (status is not None and status >= 500)
        text = f"ACME {code or 'error'}: {detail}"
        if self.subproblems:
            text += " [" + "; ".join(self.subproblems) + "]"
        super().__init__(text)


class RateLimitedError(AcmeError):
    """HTTP 429 `rateLimited` or 503 with Retry-After that does not fit in this run; `retry_after` is when
    the CA allows the next attempt. Not retried by Lambda: the next scheduled run tries again."""

    def __init__(self, detail: str, retry_after: dt.datetime | None) -> None:
        self.detail = detail
        self.retry_after = retry_after
        when = retry_after.isoformat() if retry_after else "unknown"
        super().__init__(f"ACME rate limited until {when}: {detail}")


class CaUnavailableError(RetryableError, AcmeError):
    """The CA could not be reached (refused, reset, timed out, TLS failure): another CA may be tried."""


class ValidationFailedError(AcmeError):
    """One or more authorizations became invalid; `problems` maps each identifier to the CA's reason and
    `codes` holds the ACME error names seen (`unauthorized`, `dns`, `caa`, ...)."""

    def __init__(self, problems: dict[str, str], codes: frozenset[str] = frozenset()) -> None:
        self.problems = dict(problems)
        self.codes = codes
        super().__init__("DNS-01 validation failed: " + "; ".join(f"{k}: {v}" for k, v in problems.items()))


class DeadlineError(RetryableError):
    """The run's time budget ran out before `step` could finish; the next run retries."""

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(f"time budget exhausted during {step}")


class DelegationError(TopsError):
    """`_acme-challenge.<DOMAIN>` does not point at CHALLENGE_RECORD: answering would only fail."""

    def __init__(self, source: str, expected: str, found: str | None) -> None:
        self.source, self.expected, self.found = source, expected, found
        super().__init__(
            f"{source} must be a CNAME to {expected} (CHALLENGE_RECORD) but "
            + (f"points at {found}" if found else "has no CNAME")
        )


class PropagationError(RetryableError):
    """The TXT values were not visible on every authoritative server in time; nothing was answered."""

    def __init__(self, name: str, missing: dict[str, str]) -> None:
        self.name = name
        self.missing = dict(missing)
        super().__init__(
            f"TXT {name} not visible in time: " + "; ".join(f"{k}: {v}" for k, v in missing.items())
        )


class DnsUpdateError(TopsError):
    """Route53 refused or never applied a change to the challenge record."""


class ZoneNotFoundError(DnsUpdateError):
    """No hosted zone holds CHALLENGE_RECORD, or CHALLENGE_ZONE_ID is not listed: a configuration error."""


class StoreError(TopsError):
    """The cert bucket could not be read or written (a 403 on read is fatal by contract)."""


class PublishError(TopsError):
    """The issued certificate or key failed validation; nothing was written."""


class StagingRefusedError(TopsError):
    """A staging certificate would replace a valid production one."""


class BackoffError(TopsError):
    """A renewal is needed but earlier failures (or a CA Retry-After) say to wait until `until`."""

    def __init__(self, failures: int, until: dt.datetime, last_error: str | None) -> None:
        self.failures, self.until, self.last_error = failures, until, last_error
        super().__init__(
            f"backing off after {failures} failure(s) until {until.isoformat()}"
            + (f"; last error: {last_error}" if last_error else "")
        )
