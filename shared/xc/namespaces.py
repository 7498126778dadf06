"""Namespaces (`/api/web/namespaces`). There is no plain DELETE: cascade_delete removes everything.

A namespace made for a UDF deployment carries the deployment's id in the label `tops-dep-id`
(`metadata.labels`, which XC stores and returns): the proof, readable by any later call, that the
deployment created it. Nothing else records ownership, and a 409 proves none.
"""

from __future__ import annotations

from typing import Any, Final

from shared.deadline import Deadline
from shared.xc import lists
from shared.xc.client import Timeout, XCRequester, build_path

PREFIX: Final = "/api/web/namespaces"
OWNER_LABEL: Final = "tops-dep-id"
# cascade_delete blocks while the tenant deletes every object: over 30 s since late 2023.
CASCADE_TIMEOUT: Final[Timeout] = (5.0, 90.0)


def create(
    xc: XCRequester,
    name: str,
    description: str = "",
    *,
    owner: str | None = None,
    deadline: Deadline | None = None,
) -> Any:
    """POST the namespace, labelled with `owner` (a deployment id) when given."""
    labels = {OWNER_LABEL: owner} if owner else {}
    body = {
        "metadata": {
            "name": name,
            "namespace": "",
            "description": description,
            "labels": labels,
            "annotations": {},
            "disable": False,
        },
        "spec": {},
    }
    return xc.request("POST", PREFIX, json=body, deadline=deadline)


def get(xc: XCRequester, name: str, *, deadline: Deadline | None = None) -> Any:
    return xc.request("GET", build_path(PREFIX, name), deadline=deadline)


def owner_of(body: Any) -> str | None:
    """The owner label of a namespace GET body (`metadata.labels`), or None."""
    metadata = body.get("metadata") if isinstance(body, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    owner = labels.get(OWNER_LABEL) if isinstance(labels, dict) else None
    return owner if isinstance(owner, str) and owner else None


def list_(xc: XCRequester, *, deadline: Deadline | None = None) -> list[dict[str, Any]]:
    return lists.items(xc.request("GET", PREFIX, deadline=deadline), "namespaces")


def cascade_delete(xc: XCRequester, name: str, *, deadline: Deadline | None = None) -> Any:
    """Delete the namespace and every object in it. Safe to repeat: a second call answers 404."""
    return xc.request(
        "POST",
        build_path(PREFIX, name, "cascade_delete"),
        json={"name": name},
        idempotent=True,
        timeout=CASCADE_TIMEOUT,
        deadline=deadline,
    )
