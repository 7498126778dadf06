"""Whether to issue, renew or leave the stored certificate alone (docs/acme.md §1).

Order of the rules:
1. re-issue regardless of date: forced; no certificate or key, or unreadable; key does not match;
   names or key type differ from the configuration; a staging issuer while production is configured;
   expired;
2. ACME Renewal Information (RFC 9773) when the CA offers it and answers with a usable window;
3. otherwise the lifetime rule: renew with `fraction` of the lifetime left (half under 10 days).

All functions here are pure: time, randomness and the ARI fetch are passed in.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from cryptography import x509

from acme_client import certs
from acme_client.config import DirectoryKind, is_staging
from acme_client.models import AriState, RunState
from shared import timeparse
from shared.timeparse import parse_timestamp

log = logging.getLogger(__name__)

SHORT_LIFETIME: Final = dt.timedelta(days=10)
ARI_MIN_RETRY: Final = dt.timedelta(minutes=1)
ARI_MAX_RETRY: Final = dt.timedelta(days=1)
ARI_ERROR_RETRY: Final = dt.timedelta(hours=6)
ARI_DEFAULT_RETRY: Final = dt.timedelta(hours=6)
# LE's suggestion: 1 min, 10 min, 100 min, then daily. The daily step is an hour short of a day so
# that a daily schedule firing a few seconds early is not pushed to the day after.
BACKOFF_STEPS: Final = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=10),
    dt.timedelta(minutes=100),
    dt.timedelta(hours=23),
)


@dataclass(frozen=True, slots=True)
class StoredCert(certs.LeafFirst):
    """The published pair as read from S3. `key_problem` says why the key is unusable, if it is."""

    chain: tuple[x509.Certificate, ...]
    key: certs.PrivateKey | None
    key_problem: str | None

    @property
    def key_type(self) -> str | None:
        return certs.key_type_of(self.leaf.public_key())

    @property
    def not_before(self) -> dt.datetime:
        return self.leaf.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        return self.leaf.not_valid_after_utc

    def days_left(self, now: dt.datetime) -> float:
        return round((self.not_after - now).total_seconds() / 86400, 2)

    def usable(self, now: dt.datetime) -> bool:
        """Still servable: not expired and its key is present and matches."""
        return self.key_problem is None and self.not_after > now


@dataclass(frozen=True, slots=True)
class Inspection:
    cert: StoredCert | None
    problem: str | None


def inspect_pair(fullchain_pem: bytes | None, key_pem: bytes | None) -> Inspection:
    """Parse what is stored; a problem is described, never raised (it is a reason to re-issue)."""
    if not fullchain_pem:
        return Inspection(None, "no certificate stored")
    try:
        chain = tuple(certs.load_chain(fullchain_pem))
    except ValueError as exc:
        return Inspection(None, f"stored certificate unreadable: {type(exc).__name__}")
    key: certs.PrivateKey | None = None
    problem: str | None = None
    if not key_pem:
        problem = "no private key stored"
    else:
        try:
            key = certs.load_key(key_pem)
        except (ValueError, TypeError) as exc:  # never include the key text
            problem = f"stored private key unreadable: {type(exc).__name__}"
        else:
            if not certs.same_public_key(key, chain[0]):
                problem = "stored private key does not match the certificate"
    return Inspection(StoredCert(chain, key, problem), problem)


@dataclass(frozen=True, slots=True)
class Wanted:
    names: tuple[str, ...]
    key_type: str
    directory_kind: DirectoryKind


@dataclass(frozen=True, slots=True)
class Decision:
    action: Literal["issue", "renew", "valid"]
    reason: str
    replaces: str | None = None  # the stored certificate's ARI certID

    @property
    def needs_order(self) -> bool:
        return self.action != "valid"


def hard_reason(
    inspection: Inspection,
    wanted: Wanted,
    now: dt.datetime,
    *,
    force: bool,
    stored_directory_kind: DirectoryKind | None = None,
) -> str | None:
    """A reason to re-issue whatever the date, or None."""
    cert = inspection.cert
    if force:
        return "forced by the event"
    if cert is None:
        return inspection.problem or "no certificate stored"
    changed = _unlike_wanted(cert, wanted, stored_directory_kind)
    if changed is not None:
        return changed
    if cert.not_after <= now:
        return f"certificate expired at {cert.not_after.isoformat()}"
    return None


def _unlike_wanted(
    cert: StoredCert, wanted: Wanted, stored_directory_kind: DirectoryKind | None
) -> str | None:
    """How the stored certificate differs from the configured one (key, names, key type, CA kind), or None."""
    if cert.key_problem:
        return cert.key_problem
    if sorted(cert.names) != sorted(n.lower() for n in wanted.names):
        return f"names changed: stored {sorted(cert.names)}, configured {sorted(wanted.names)}"
    if cert.key_type != wanted.key_type:
        return f"key type changed: stored {cert.key_type or 'unsupported'}, configured {wanted.key_type}"
    if not is_staging(wanted.directory_kind) and (
        certs.is_staging_issuer(cert.leaf) or is_staging(stored_directory_kind)
    ):
        return "stored certificate is from a staging CA while production is configured"
    return None


def lifetime_renewal_time(cert: StoredCert, fraction: float) -> dt.datetime:
    """When `fraction` of the lifetime is left (half of it for certificates under 10 days)."""
    lifetime = cert.not_after - cert.not_before
    share = 0.5 if lifetime < SHORT_LIFETIME else fraction
    return cert.not_after - lifetime * share


# --- ARI (RFC 9773) ---


@dataclass(frozen=True, slots=True)
class RenewalWindow:
    start: dt.datetime
    end: dt.datetime
    explanation_url: str | None = None


def parse_renewal_info(doc: Any) -> RenewalWindow | None:
    """The suggested window, or None when the answer is unusable (missing fields, end not after start)."""
    if not isinstance(doc, Mapping):
        return None
    window = doc.get("suggestedWindow")
    if not isinstance(window, Mapping):
        return None
    start, end = (
        parse_timestamp(window.get("start"), naive_is_utc=True),
        parse_timestamp(window.get("end"), naive_is_utc=True),
    )
    if start is None or end is None or end <= start:
        return None
    url = doc.get("explanationURL")
    return RenewalWindow(start, end, url if isinstance(url, str) else None)


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """Retry-After as a wait from `now` (shared.timeparse reads it); None when absent or unreadable."""
    seconds = timeparse.parse_retry_after(value, now.timestamp())
    return None if seconds is None else dt.timedelta(seconds=seconds)


def clamp_retry_after(delta: dt.timedelta | None, *, error: bool = False) -> dt.timedelta:
    """How long until ARI is asked again: the server's Retry-After clamped to [1 min, 1 day];
    6 hours when it gave none, and after an error."""
    if error:
        return ARI_ERROR_RETRY
    if delta is None:
        return ARI_DEFAULT_RETRY
    return min(max(delta, ARI_MIN_RETRY), ARI_MAX_RETRY)


def choose_renewal_time(window: RenewalWindow, rng: random.Random) -> dt.datetime:
    """A uniformly random point in the window (spreads the CA's load, RFC 9773 §4.2)."""
    span = (window.end - window.start).total_seconds()
    return window.start + dt.timedelta(seconds=rng.uniform(0, span))


AriFetch = Callable[[str], tuple[Any, str | None]]
"""GET a renewalInfo URL; returns (parsed JSON, Retry-After header). Raises on any failure."""


def ari_advice(
    fetch: AriFetch,
    base_url: str,
    cert_id: str,
    now: dt.datetime,
    rng: random.Random,
    cached: AriState | None,
) -> AriState:
    """Ask the CA (unless the cached answer for this certificate is still current) and choose a time.

    Never raises: a failed fetch is recorded (`error`) and asked again in 6 hours; the caller then
    falls back to the lifetime rule.
    """
    if cached is not None and cached.cert_id == cert_id and now < cached.next_check:
        return cached
    url = f"{base_url.rstrip('/')}/{cert_id}"
    try:
        doc, retry_after = fetch(url)
    except Exception as exc:  # ARI is advisory; any failure falls back to the lifetime rule
        log.warning("ARI request failed", extra={"url": url, "error": f"{type(exc).__name__}: {exc}"})
        return AriState(
            cert_id=cert_id,
            next_check=now + clamp_retry_after(None, error=True),
            error=f"{type(exc).__name__}: {exc}",
        )
    next_check = now + clamp_retry_after(parse_retry_after(retry_after, now))
    window = parse_renewal_info(doc)
    if window is None:
        log.warning("ARI answer has no usable window", extra={"url": url})
        return AriState(cert_id=cert_id, next_check=next_check, error="no usable suggestedWindow")
    chosen = choose_renewal_time(window, rng)
    if window.explanation_url:
        log.warning("CA explains its renewal window", extra={"explanation_url": window.explanation_url})
    return AriState(
        cert_id=cert_id,
        next_check=next_check,
        renew_at=chosen,
        window_start=window.start,
        window_end=window.end,
        explanation_url=window.explanation_url,
    )


def decide(
    inspection: Inspection,
    wanted: Wanted,
    now: dt.datetime,
    *,
    force: bool,
    fraction: float,
    schedule: dt.timedelta,
    ari: AriState | None = None,
    stored_directory_kind: DirectoryKind | None = None,
) -> Decision:
    """The decision for this run. `schedule` is the time to the next scheduled run."""
    cert = inspection.cert
    cert_id = certs.ari_cert_id(cert.leaf) if cert is not None else None
    reason = hard_reason(inspection, wanted, now, force=force, stored_directory_kind=stored_directory_kind)
    if reason is not None:
        return Decision("issue" if cert is None else "renew", reason, replaces=cert_id)
    assert cert is not None  # hard_reason returns a reason when there is no certificate
    days = cert.days_left(now)
    if ari is not None and ari.renew_at is not None and ari.cert_id == cert_id:
        window = f"{_day(ari.window_start)}..{_day(ari.window_end)}"
        if ari.renew_at <= now + schedule:
            return Decision(
                "renew",
                f"ARI window {window}: chosen time {ari.renew_at.isoformat()} is before the next run",
                replaces=cert_id,
            )
        return Decision(
            "valid", f"{days} days left; ARI window {window}, renewal at {ari.renew_at.isoformat()}"
        )
    due = lifetime_renewal_time(cert, fraction)
    if now >= due:
        return Decision(
            "renew",
            f"{days} days left, under the renewal threshold reached at {due.isoformat()}",
            replaces=cert_id,
        )
    return Decision("valid", f"{days} days left; renewal due at {due.isoformat()}")


def _day(value: dt.datetime | None) -> str:
    return value.isoformat() if value is not None else "?"


# --- failures and backoff ---


def backoff_delay(failures: int) -> dt.timedelta:
    """Wait after the `failures`-th consecutive failure (1-based)."""
    if failures <= 0:
        return dt.timedelta(0)
    return BACKOFF_STEPS[min(failures, len(BACKOFF_STEPS)) - 1]


def record_failure(
    state: RunState, now: dt.datetime, error: str, retry_after: dt.datetime | None = None
) -> RunState:
    """The state after one more failure: count, time, message and the earliest next attempt."""
    failures = state.failures + 1
    until = now + backoff_delay(failures)
    if retry_after is not None and retry_after > until:
        until = retry_after
    return replace(state, failures=failures, last_failure=now, last_error=error[:500], retry_not_before=until)


def record_costless_failure(
    state: RunState, now: dt.datetime, error: str, retry_after: dt.datetime | None = None
) -> RunState:
    """A failure that spent nothing at any CA (a configuration error, every CA unreachable or still
    rate-limited): remembered, but it neither counts nor starts the backoff. `retry_after` is set only
    when every CA asked to wait."""
    return replace(state, last_failure=now, last_error=error[:500], retry_not_before=retry_after)


def record_success(state: RunState, now: dt.datetime) -> RunState:
    """A clean slate for the name set; CA limits still in force and pending TXT values are kept."""
    limits = {url: when for url, when in state.ca_not_before.items() if when > now}
    return RunState(names=state.names, last_success=now, ca_not_before=limits, dns_pending=state.dns_pending)


def backing_off(state: RunState, now: dt.datetime) -> bool:
    return state.retry_not_before is not None and now < state.retry_not_before
