"""Namespaces (`/api/web/namespaces`). There is no plain DELETE: cascade_delete removes everything."""

from __future__ import annotations

from typing import Any, Final

from shared.xc import lists
from shared.xc.client import Timeout, XCRequester, build_path

PREFIX: Final = "/api/web/namespaces"
# cascade_delete blocks while the tenant deletes every object: over 30 s since late 2023.
CASCADE_TIMEOUT: Final[Timeout] = (5.0, 90.0)


def create(xc: XCRequester, name: str, description: str = "", *, deadline: float | None = None) -> Any:
    body = {
        "metadata": {"name": name, "namespace": "", "description": description, "labels": {},
                     "annotations": {}, "disable": False},
        "spec": {},
    }
    return xc.request("POST", PREFIX, json=body, deadline=deadline)


def get(xc: XCRequester, name: str, *, deadline: float | None = None) -> Any:
    return xc.request("GET", build_path(PREFIX, name), deadline=deadline)


def list_(xc: XCRequester, *, deadline: float | None = None) -> list[dict[str, Any]]:
    return lists.items(xc.request("GET", PREFIX, deadline=deadline), "namespaces")


def cascade_delete(xc: XCRequester, name: str, *, deadline: float | None = None) -> Any:
    """Delete the namespace and every object in it. Safe to repeat: a second call answers 404."""
    return xc.request(
        "POST", build_path(PREFIX, name, "cascade_delete"), json={"name": name},
        idempotent=True, timeout=CASCADE_TIMEOUT, deadline=deadline,
    )
