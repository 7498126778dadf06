"""token_refresh request, result and error types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from shared.errors import InputError


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """Renew when fewer than `threshold_days` remain, setting the expiry to now + `expiration_days`."""

    threshold_days: float = 6.0
    expiration_days: int = 7


@dataclass(frozen=True, slots=True)
class RefreshRequest:
    """What the event asks for. A scheduled event asks nothing: renew only when due."""

    force: bool = False


def parse_event(event: Any) -> RefreshRequest:
    """Read `force` from the event's top level or its EventBridge `detail`; InputError names the field.

    A scheduled EventBridge event has neither, so it yields the default request.
    """
    if event is None:
        return RefreshRequest()
    if not isinstance(event, dict):
        raise InputError("event", f"must be a JSON object, got {type(event).__name__}")
    detail = event.get("detail")
    for field, source in (("force", event), ("detail.force", detail)):
        if isinstance(source, dict) and "force" in source:
            value = source["force"]
            if not isinstance(value, bool):
                raise InputError(field, f"must be true or false, got {value!r:.40}")
            return RefreshRequest(force=value)
    return RefreshRequest()


@dataclass(frozen=True, slots=True)
class CredentialState:
    """Expiry and activity of a credential as the tenant reports them (`active` None when not said)."""

    expires_at: datetime
    active: bool | None

    def days_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds() / 86400.0


class RefreshBody(TypedDict):
    credential: str
    renewed: bool
    days_left_before: float
    days_left_after: float
    expires_at: str


@dataclass(frozen=True, slots=True)
class RefreshResult:
    credential: str
    kind: str
    renewed: bool
    forced: bool
    days_left_before: float
    days_left_after: float
    expires_at: datetime

    def body(self) -> RefreshBody:
        return {
            "credential": self.credential,
            "renewed": self.renewed,
            "days_left_before": round(self.days_left_before, 3),
            "days_left_after": round(self.days_left_after, 3),
            "expires_at": self.expires_at.isoformat(),
        }
