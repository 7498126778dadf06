"""acme_client's values: the request, the run state kept in S3, the deadline and the result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from shared.errors import InputError
from shared.timeparse import parse_timestamp

Action = Literal["issued", "renewed", "valid", "failed"]


@dataclass(frozen=True, slots=True)
class RenewRequest:
    """What the event asks. The schedule's event carries nothing; `force` re-issues regardless of date."""

    force: bool = False
    source: str = "schedule"


def parse_event(event: Any) -> RenewRequest:
    """Accept the EventBridge scheduled event (ignored, as deployed) or `{"force": true}`, top level or in
    `detail`. Raises InputError naming `force` when it is not a boolean."""
    if event is None:
        return RenewRequest()
    if not isinstance(event, Mapping):
        raise InputError("event", f"must be a JSON object, got {type(event).__name__}")
    detail = event.get("detail")
    raw = event.get("force")
    field_name = "force"
    if raw is None and isinstance(detail, Mapping):
        raw, field_name = detail.get("force"), "detail.force"
    if raw is None:
        source = "schedule" if event.get("detail-type") == "Scheduled Event" or not event else "event"
        return RenewRequest(force=False, source=source)
    if not isinstance(raw, bool):
        raise InputError(field_name, f"must be true or false, got {raw!r}")
    return RenewRequest(force=raw, source="event")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_iso(value: Any) -> dt.datetime | None:
    # a hand-edited or damaged state object must not stop the run: unreadable counts as absent
    return parse_timestamp(value, naive_is_utc=True)


@dataclass(frozen=True, slots=True)
class AriState:
    """The last ACME Renewal Information answer for one certificate (RFC 9773)."""

    cert_id: str
    next_check: dt.datetime
    renew_at: dt.datetime | None = None
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    explanation_url: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "cert_id": self.cert_id,
            "next_check": _iso(self.next_check),
            "renew_at": _iso(self.renew_at),
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "explanation_url": self.explanation_url,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AriState | None:
        next_check = _from_iso(doc.get("next_check"))
        if not isinstance(doc.get("cert_id"), str) or next_check is None:
            return None
        return cls(
            cert_id=doc["cert_id"],
            next_check=next_check,
            renew_at=_from_iso(doc.get("renew_at")),
            window_start=_from_iso(doc.get("window_start")),
            window_end=_from_iso(doc.get("window_end")),
            explanation_url=doc.get("explanation_url"),
            error=doc.get("error"),
        )


@dataclass(frozen=True, slots=True)
class PendingTxt:
    """TXT values a run is about to write, journaled first: if that run is killed before its cleanup, the
    next run after `expires` (when the writer's Lambda deadline has surely passed) removes them."""

    record: str
    zone_id: str
    values: tuple[str, ...]
    expires: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "zone_id": self.zone_id,
            "values": list(self.values),
            "expires": _iso(self.expires),
        }

    @classmethod
    def from_json(cls, doc: Any) -> PendingTxt | None:
        if not isinstance(doc, Mapping):
            return None
        expires = _from_iso(doc.get("expires"))
        values = doc.get("values")
        record, zone_id = doc.get("record"), doc.get("zone_id")
        if (
            expires is None
            or not isinstance(values, list)
            or not isinstance(record, str)
            or not isinstance(zone_id, str)
        ):
            return None
        return cls(record, zone_id, tuple(str(v) for v in values), expires)


@dataclass(frozen=True, slots=True)
class RunState:
    """What one run leaves for the next (S3, outside the cert prefix): failures for the configured name
    set, the backoff, each CA's own Retry-After, the ARI answer, and TXT values not yet cleaned up."""

    names: tuple[str, ...] = ()
    failures: int = 0
    last_failure: dt.datetime | None = None
    last_error: str | None = None
    retry_not_before: dt.datetime | None = None
    last_success: dt.datetime | None = None
    ari: AriState | None = None
    ca_not_before: Mapping[str, dt.datetime] = field(default_factory=dict)  # directory URL -> time
    dns_pending: tuple[PendingTxt, ...] = ()

    def for_names(self, names: tuple[str, ...]) -> RunState:
        """Failures count per name set: a changed set starts clean (the ARI answer is per certificate,
        CA limits and leftover TXT values are not per name set)."""
        if sorted(self.names) == sorted(names):
            return self
        return RunState(
            names=names,
            last_success=self.last_success,
            ari=self.ari,
            ca_not_before=self.ca_not_before,
            dns_pending=self.dns_pending,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "names": list(self.names),
            "failures": self.failures,
            "last_failure": _iso(self.last_failure),
            "last_error": self.last_error,
            "retry_not_before": _iso(self.retry_not_before),
            "last_success": _iso(self.last_success),
            "ari": self.ari.to_json() if self.ari else None,
            "ca_not_before": {url: when.isoformat() for url, when in sorted(self.ca_not_before.items())},
            "dns_pending": [entry.to_json() for entry in self.dns_pending],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RunState:
        ari = doc.get("ari")
        failures = doc.get("failures")
        limits = doc.get("ca_not_before")
        ca_not_before = {}
        if isinstance(limits, Mapping):
            for url, raw in limits.items():
                when = _from_iso(raw) if isinstance(url, str) else None
                if when is not None:
                    ca_not_before[url] = when
        pending = doc.get("dns_pending")
        entries = [PendingTxt.from_json(item) for item in pending] if isinstance(pending, list) else []
        return cls(
            names=tuple(str(n) for n in doc.get("names") or ()),
            failures=failures if isinstance(failures, int) and failures >= 0 else 0,
            last_failure=_from_iso(doc.get("last_failure")),
            last_error=doc.get("last_error") if isinstance(doc.get("last_error"), str) else None,
            retry_not_before=_from_iso(doc.get("retry_not_before")),
            last_success=_from_iso(doc.get("last_success")),
            ari=AriState.from_json(ari) if isinstance(ari, Mapping) else None,
            ca_not_before=ca_not_before,
            dns_pending=tuple(entry for entry in entries if entry is not None),
        )


class ResultBody(TypedDict):
    action: Action
    reason: str
    days_left: float | None
    not_after: str | None
    names: list[str]
    serial: str | None
    ca: str | None


class Response(TypedDict):
    statusCode: int
    body: ResultBody


@dataclass(frozen=True, slots=True)
class RunResult:
    """What the run did. `failed` means a renewal failed while the published certificate is still valid:
    reported (500, error log, metric) without raising, so Lambda does not re-run it at once."""

    action: Action
    reason: str
    names: tuple[str, ...]
    not_after: dt.datetime | None = None
    serial: str | None = None
    days_left: float | None = None
    ca: str | None = None  # directory URL of the CA that issued the published certificate, when known

    def to_response(self) -> Response:
        body: ResultBody = {
            "action": self.action,
            "reason": self.reason,
            "days_left": self.days_left,
            "not_after": _iso(self.not_after),
            "names": list(self.names),
            "serial": self.serial,
            "ca": self.ca,
        }
        return {"statusCode": 500 if self.action == "failed" else 200, "body": body}
