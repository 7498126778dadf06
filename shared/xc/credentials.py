"""API credentials and service credentials (namespace `system`), as token_refresh needs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from shared.deadline import Deadline
from shared.timeparse import parse_timestamp
from shared.xc import lists
from shared.xc.client import XCRequester, build_path

Kind = Literal["api_credentials", "service_credentials"]
PREFIX: Final = "/api/web/namespaces/system"
# SSM `token-type` values (docs/deployment.md §3) to the API family.
KIND_BY_TOKEN_TYPE: Final[dict[str, Kind]] = {"apicred": "api_credentials", "svccred": "service_credentials"}


def list_(xc: XCRequester, kind: Kind, *, deadline: Deadline | None = None) -> list[dict[str, Any]]:
    return lists.items(xc.request("GET", build_path(PREFIX, kind), deadline=deadline), kind)


def get(xc: XCRequester, kind: Kind, name: str, *, deadline: Deadline | None = None) -> Any:
    return xc.request("GET", build_path(PREFIX, kind, name), deadline=deadline)


def renew(xc: XCRequester, kind: Kind, name: str, days: int, *, deadline: Deadline | None = None) -> Any:
    """Set the expiry to now + `days`. Repeating it is harmless, so it is retried like a PUT."""
    return xc.request(
        "POST",
        build_path(PREFIX, "renew", kind),
        json={"name": name, "namespace": "system", "expiration_days": days},
        idempotent=True,
        deadline=deadline,
    )


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from XC as an aware datetime (shared.timeparse), or None."""
    return parse_timestamp(value)


def state_of(kind: Kind, item: dict[str, Any]) -> tuple[datetime | None, bool | None]:
    """(expiry, active) from a list item or a get body; the field names differ per endpoint."""
    if "object" in item:  # api_credentials get: {object: {spec: {gc_spec: {...}}}}
        gc = item.get("object", {}).get("spec", {}).get("gc_spec", {})
        return parse_time(gc.get("expiration_timestamp")), gc.get("active")
    expiry = item.get("expiry_timestamp") or item.get("expiration_timestamp")
    return parse_time(expiry), item.get("active")
