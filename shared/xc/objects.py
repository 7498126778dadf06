"""Config objects of any type in a namespace: `/api/config/namespaces/{ns}/{plural}[/{name}]`.

Plurals are the type name plus a literal "s" (`origin_pools`, `http_loadbalancers`, `certificates`).
"""

from __future__ import annotations

from typing import Any, Final

from shared.deadline import Deadline
from shared.xc import lists
from shared.xc.client import XCRequester, build_path

PREFIX: Final = "/api/config/namespaces"


def create(
    xc: XCRequester,
    namespace: str,
    plural: str,
    body: dict[str, Any],
    *,
    idempotent: bool | None = None,
    deadline: Deadline | None = None,
) -> Any:
    """POST a new object. Pass `idempotent=True` when the caller treats a 409 as "already there":
    then a 503 or a dropped connection is retried too."""
    return xc.request(
        "POST", build_path(PREFIX, namespace, plural), json=body, idempotent=idempotent, deadline=deadline
    )


def get(xc: XCRequester, namespace: str, plural: str, name: str, *, deadline: Deadline | None = None) -> Any:
    return xc.request("GET", build_path(PREFIX, namespace, plural, name), deadline=deadline)


def list_(
    xc: XCRequester, namespace: str, plural: str, *, deadline: Deadline | None = None
) -> list[dict[str, Any]]:
    body = xc.request("GET", build_path(PREFIX, namespace, plural), deadline=deadline)
    return lists.items(body, f"{namespace}/{plural}")


def replace(
    xc: XCRequester,
    namespace: str,
    plural: str,
    name: str,
    body: dict[str, Any],
    *,
    deadline: Deadline | None = None,
) -> Any:
    return xc.request("PUT", build_path(PREFIX, namespace, plural, name), json=body, deadline=deadline)


def delete(
    xc: XCRequester,
    namespace: str,
    plural: str,
    name: str,
    *,
    fail_if_referred: bool = False,
    deadline: Deadline | None = None,
) -> Any:
    body = {"name": name, "namespace": namespace, "fail_if_referred": fail_if_referred}
    return xc.request("DELETE", build_path(PREFIX, namespace, plural, name), json=body, deadline=deadline)
