"""A fake XC tenant holding credentials, for token_refresh core tests (implements XCRequester)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.deadline import Deadline
from shared.xc.errors import from_status

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PREFIX = "/api/web/namespaces/system"


def rfc3339(when: datetime) -> str:
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class FakeCredentialXC:
    kind: str
    name: str
    expires_at: datetime
    active: bool = True
    renew_answer: Any = None  # None: {"status": True} and the expiry moves
    renew_moves: bool = True
    get_status: int | None = None  # answer GET by name with this error status
    fail_status: int | None = None  # answer every call with this error status
    in_list: bool = True
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    now: datetime = NOW

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotent: bool | None = None, timeout: Any = None, deadline: Deadline | None = None) -> Any:
        self.calls.append((method, path, json))
        if self.fail_status:
            raise self._error(self.fail_status, method, path)
        if method == "GET" and path == f"{PREFIX}/{self.kind}/{self.name}":
            if self.get_status:
                raise self._error(self.get_status, method, path)
            return self._get_body()
        if method == "GET" and path == f"{PREFIX}/{self.kind}":
            return {"items": [self._item()] if self.in_list else [], "errors": []}
        if method == "POST" and path == f"{PREFIX}/renew/{self.kind}":
            assert json["name"] == self.name and json["namespace"] == "system"
            if self.renew_answer is not None:
                return self.renew_answer
            if self.renew_moves:
                self.expires_at = self.now + timedelta(days=json["expiration_days"])
            return {"status": True}
        raise self._error(404, method, path)

    def renew_calls(self) -> int:
        return sum(1 for method, path, _ in self.calls if method == "POST" and "/renew/" in path)

    def _item(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": "system", "uid": "u-1", "type": "SERVICE_API_TOKEN",
                "active": self.active, "create_timestamp": rfc3339(self.now - timedelta(days=30)),
                "expiry_timestamp": rfc3339(self.expires_at), "user_email": "svc@example.com"}

    def _get_body(self) -> dict[str, Any]:
        if self.kind == "service_credentials":
            return self._item()
        return {"object": {"metadata": {"name": self.name, "namespace": "system"},
                           "spec": {"gc_spec": {"type": "API_TOKEN", "active": self.active,
                                                "expiration_timestamp": rfc3339(self.expires_at)}},
                           "system_metadata": {}}}

    @staticmethod
    def _error(status: int, method: str, path: str) -> Exception:
        return from_status(status)(status=status, method=method, url=f"https://t.example{path}",
                                   body='{"code": 16, "message": "denied"}')


class RecordingMetrics:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.values[name] = value
