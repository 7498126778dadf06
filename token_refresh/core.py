"""Renew the tenant's own credential when it is close to expiry, and prove that the renewal took."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from shared.deadline import Deadline
from shared.secret import mask
from shared.xc import credentials, poll
from shared.xc.client import XCRequester
from shared.xc.errors import XCAuthError, XCNotFoundError, XCTimeoutError
from token_refresh.config import Credential
from token_refresh.errors import (
    CredentialExpiredError,
    CredentialInactiveError,
    CredentialNotFoundError,
    CredentialStateError,
    ExpiryNotExtendedError,
    RenewRejectedError,
    TokenRejectedError,
)
from token_refresh.models import CredentialState, RefreshRequest, RefreshResult, RenewalPolicy

if TYPE_CHECKING:
    from shared.handler import MetricsSink

log = logging.getLogger(__name__)

# How long to keep reading the expiry back after a renew (XC shows it at once; this absorbs lag).
READBACK_SECONDS: Final = 10.0
# Clock skew between Lambda and XC that a renewal's new expiry may show.
SKEW: Final = timedelta(hours=1)

METRIC_DAYS_BEFORE: Final = "CredentialDaysLeftBefore"
METRIC_DAYS_AFTER: Final = "CredentialDaysLeftAfter"
METRIC_RENEWED: Final = "CredentialRenewed"


def utcnow() -> datetime:
    return datetime.now(UTC)


def needs_renewal(days_left: float, policy: RenewalPolicy, *, force: bool) -> bool:
    """Renew when asked to, or when less life remains than the threshold."""
    return force or days_left < policy.threshold_days


def refresh_token(
    request: RefreshRequest,
    credential: Credential,
    policy: RenewalPolicy,
    *,
    xc: XCRequester,
    metrics: MetricsSink | None = None,
    deadline: Deadline | None = None,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> RefreshResult:
    """Read the credential's expiry and state, renew it when due (or forced), and verify the new expiry.

    Raises TokenRejectedError (401/403), CredentialNotFoundError, CredentialStateError,
    CredentialExpiredError, CredentialInactiveError, RenewRejectedError, ExpiryNotExtendedError,
    or the XC client's errors (retryable ones after its own retries).
    """
    before = read_state(xc, credential, deadline=deadline)
    checked_at = now()
    days_before = before.days_left(checked_at)
    if metrics is not None:
        metrics.add_metric(METRIC_DAYS_BEFORE, "None", round(days_before, 3))
    log.info(
        "credential state",
        extra={
            "credential": credential.name,
            "kind": credential.kind,
            "active": before.active,
            "expires_at": before.expires_at.isoformat(),
            "days_left": round(days_before, 3),
        },
    )
    ensure_renewable(credential, before, checked_at)

    renewed = needs_renewal(days_before, policy, force=request.force)
    if not renewed:
        log.info(
            "renewal not due",
            extra={
                "credential": credential.name,
                "days_left": round(days_before, 3),
                "threshold_days": policy.threshold_days,
            },
        )
        after, days_after = before, days_before
    else:
        renew_started = now()
        with _token_guard(credential):
            answer = credentials.renew(
                xc, credential.kind, credential.name, policy.expiration_days, deadline=deadline
            )
        # protobuf JSON leaves out false booleans, so `{}` is a refusal too.
        if not (isinstance(answer, dict) and answer.get("status") is True):
            raise RenewRejectedError(
                credential.name,
                (
                    f"renewing {credential.kind} {credential.name} for {policy.expiration_days} days "
                    f"was refused: the tenant answered {mask(answer)!r:.200} instead of {{'status': true}}"
                ),
            )
        target = renew_started + timedelta(days=policy.expiration_days)
        after = _read_back(xc, credential, before, target, deadline=deadline, sleep=sleep)
        days_after = after.days_left(now())
        log.info(
            "credential renewed",
            extra={
                "credential": credential.name,
                "forced": request.force,
                "days_left_before": round(days_before, 3),
                "days_left_after": round(days_after, 3),
                "expires_at": after.expires_at.isoformat(),
            },
        )
    if metrics is not None:
        metrics.add_metric(METRIC_RENEWED, "Count", int(renewed))
        metrics.add_metric(METRIC_DAYS_AFTER, "None", round(days_after, 3))
    return RefreshResult(
        credential=credential.name,
        kind=credential.kind,
        renewed=renewed,
        forced=request.force,
        days_left_before=days_before,
        days_left_after=days_after,
        expires_at=after.expires_at,
    )


def read_state(
    xc: XCRequester, credential: Credential, *, deadline: Deadline | None = None
) -> CredentialState:
    """The credential's expiry and activity: from GET by name, else from the list.

    The list is the fallback for a 404 or a GET body without a readable expiry, because the two
    endpoints differ in shape per kind (docs/xc-api.md §7.3) and the list is what the original client read.
    """
    body: Any = None
    with _token_guard(credential):
        try:
            body = credentials.get(xc, credential.kind, credential.name, deadline=deadline)
        except XCNotFoundError:
            log.debug("credential get answered 404, trying the list", extra={"credential": credential.name})
    state = _state(credential, body) if isinstance(body, dict) else None
    if state is not None:
        return state
    with _token_guard(credential):
        items = credentials.list_(xc, credential.kind, deadline=deadline)
    found = [item for item in items if isinstance(item, dict) and item.get("name") == credential.name]
    if not found:
        if body is None:
            raise CredentialNotFoundError(
                credential.name,
                (
                    f"the tenant has no {credential.kind} named {credential.name!r}; check SSM parameter "
                    f"{credential.name_parameter} (and {credential.base_path}/token-type)"
                ),
            )
        raise CredentialStateError(
            credential.name,
            (f"the tenant did not report a readable expiry for {credential.kind} {credential.name}"),
        )
    state = _state(credential, found[0])
    if state is None:
        raise CredentialStateError(
            credential.name,
            (f"the tenant did not report a readable expiry for {credential.kind} {credential.name}"),
        )
    return state


def ensure_renewable(credential: Credential, state: CredentialState, now: datetime) -> None:
    """Raise the specific error an operator needs when the credential cannot renew itself."""
    replace = (
        f"Create a new {credential.kind.replace('_', ' ')[:-1]} in the XC console "
        f"(Administration > Credentials), then store its name in SSM {credential.name_parameter} and "
        f"its token in {credential.value_parameter}."
    )
    if state.active is False:
        raise CredentialInactiveError(
            credential.name,
            (
                f"{credential.kind} {credential.name} is inactive (revoked); renewing cannot reactivate it. "
                f"Activate it in the XC console, or: {replace}"
            ),
        )
    if state.expires_at <= now:
        raise CredentialExpiredError(
            credential.name,
            (
                f"{credential.kind} {credential.name} expired at {state.expires_at.isoformat()}; an expired "
                f"credential cannot renew itself. {replace}"
            ),
        )


def _read_back(
    xc: XCRequester,
    credential: Credential,
    before: CredentialState,
    target: datetime,
    *,
    deadline: Deadline | None,
    sleep: Callable[[float], None],
) -> CredentialState:
    """Read the expiry until it moved forward (or already reached the renewal's target)."""
    last: list[CredentialState] = []

    def moved() -> CredentialState | None:
        state = read_state(xc, credential, deadline=deadline)
        last.append(state)
        if state.expires_at > before.expires_at or state.expires_at >= target - SKEW:
            return state
        return None

    limit = Deadline.after(READBACK_SECONDS, deadline.clock if deadline else time.monotonic)
    try:
        return poll.wait_until(
            moved,
            deadline=limit.earliest(deadline),
            pending=f"the new expiry of {credential.name}",
            interval=1.0,
            sleep=sleep,
        )
    except XCTimeoutError as exc:
        seen = last[-1].expires_at.isoformat() if last else "nothing"
        raise ExpiryNotExtendedError(
            credential.name,
            (
                f"renew of {credential.kind} {credential.name} answered success, but its expiry did not move "
                f"forward: was {before.expires_at.isoformat()}, read back {seen}"
            ),
        ) from exc


def _state(credential: Credential, body: dict[str, Any]) -> CredentialState | None:
    expiry, active = credentials.state_of(credential.kind, body)
    if expiry is None:
        return None
    return CredentialState(expires_at=expiry, active=active if isinstance(active, bool) else None)


@contextmanager
def _token_guard(credential: Credential) -> Iterator[None]:
    """Turn a 401/403 into the error that tells the operator what to do."""
    try:
        yield
    except XCAuthError as exc:
        if exc.status == 401:
            why = (
                f"the tenant rejected the token in SSM {credential.value_parameter} (401): credential "
                f"{credential.name} has probably expired or been revoked, and cannot renew itself. Create "
                f"a new credential in the XC console and store its name in {credential.name_parameter} "
                f"and its token in {credential.value_parameter}."
            )
        else:
            why = (
                f"the tenant refused {exc.method} on {credential.kind} ({exc.status}): the token in "
                f"{credential.value_parameter} lacks the role to read or renew {credential.name}."
            )
        raise TokenRejectedError(credential.name, why) from exc
