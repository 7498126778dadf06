"""Namespaces (docs/xc-api.md §7.1): create, get, list and cascade_delete, with the §6 delays.

A namespace keeps its ``metadata`` as sent (``labels``, ``annotations``, ``description``), so the
workers' ownership label ``tops-dep-id`` comes back in GET and in list summaries.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.xc.errors import AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError
from devstack.xc.models.base import (
    StateBase,
    _deleted_item,
    _require_dict,
    _require_name,
    _require_string_map,
    rfc3339,
)

BUILTIN_NAMESPACES: tuple[str, ...] = ("system", "shared", "default")


@dataclass(slots=True)
class _Namespace:
    name: str
    metadata: dict[str, Any]
    uid: str
    created_at: float
    modified_at: float
    visible_at: float
    builtin: bool = False
    creator: str = ""
    deleting_since: float | None = None


class NamespacesMixin(StateBase):
    """The tenant's namespaces, the built-ins included."""

    _namespaces: dict[str, _Namespace]
    _ns_blocked_until: dict[str, float]

    def _clear(self) -> None:
        super()._clear()
        self._namespaces = {}
        self._ns_blocked_until = {}
        now = self.clock.time()
        for name in BUILTIN_NAMESPACES:
            self._namespaces[name] = _Namespace(
                name=name,
                metadata=self._stored_metadata({"name": name}, ""),
                uid=str(uuid.uuid4()),
                created_at=now,
                modified_at=now,
                visible_at=float("-inf"),
                builtin=True,
                creator="ves-io",
            )

    def _drop_namespace_contents(self, name: str) -> list[dict[str, str]]:
        """Delete what lives in namespace ``name`` (a family holding such records extends this);
        returns one cascade_delete item per record deleted."""
        return []

    def _namespace_system_metadata(self, ns: _Namespace) -> dict[str, Any]:
        meta = self._system_metadata(ns.uid, ns.created_at, ns.modified_at, ns.creator)
        if ns.deleting_since is not None:
            meta["deletion_timestamp"] = rfc3339(ns.deleting_since)
        return meta

    def _visible_namespace(self, name: str) -> _Namespace | None:
        ns = self._namespaces.get(name)
        if ns is None or self._mono() < ns.visible_at:
            return None
        return ns

    def _existing_namespace(self, name: str) -> _Namespace:
        ns = self._namespaces.get(name)
        if ns is None:
            raise NotFoundError(f"namespace {name!r} not found")
        return ns

    def create_namespace(self, body: Mapping[str, Any], *, creator: str = "") -> dict[str, Any]:
        """``POST /api/web/namespaces``: 409/6 on duplicate, 409/10 while the name is being deleted."""
        meta = _require_dict(body.get("metadata"), "metadata")
        name = _require_name(meta)
        _require_string_map(meta, "labels")
        _require_string_map(meta, "annotations")
        _require_dict(body.get("spec", {}), "spec")
        with self._lock:
            existing = self._namespaces.get(name)
            if existing is not None and existing.deleting_since is not None:
                raise ConflictError(f"namespace {name} is being deleted")
            if existing is not None:
                raise AlreadyExistsError()
            if self._mono() < self._ns_blocked_until.get(name, float("-inf")):
                raise ConflictError(f"namespace {name} is being deleted")
            now = self._now()
            ns = _Namespace(
                name=name,
                metadata=self._stored_metadata(meta, ""),
                uid=str(uuid.uuid4()),
                created_at=now,
                modified_at=now,
                visible_at=self._mono() + self.config.namespace_visibility_delay_ms / 1000,
                creator=creator,
            )
            self._namespaces[name] = ns
            return {
                "metadata": copy.deepcopy(ns.metadata),
                "spec": {},
                "system_metadata": self._namespace_system_metadata(ns),
            }

    def get_namespace(self, name: str) -> dict[str, Any]:
        """``GET /api/web/namespaces/{name}``: 404 while missing or not yet visible."""
        with self._lock:
            ns = self._visible_namespace(name)
            if ns is None:
                raise NotFoundError(f"namespace {name!r} not found")
            return {
                "metadata": copy.deepcopy(ns.metadata),
                "spec": {},
                "system_metadata": self._namespace_system_metadata(ns),
                "create_form": None,
                "replace_form": None,
                "status": [],
                "referring_objects": [],
                "deleted_referred_objects": [],
                "disabled_referred_objects": [],
            }

    def list_namespaces(self, *, report_fields: bool = False) -> dict[str, Any]:
        """``GET /api/web/namespaces``: visible namespaces as summaries."""
        with self._lock:
            items = []
            for ns in self._namespaces.values():
                if self._mono() < ns.visible_at:
                    continue
                item = self._summary(ns.name, "", ns.uid, ns.metadata)
                if report_fields:
                    item["metadata"] = copy.deepcopy(ns.metadata)
                    item["system_metadata"] = self._namespace_system_metadata(ns)
                    item["get_spec"] = {}
                items.append(item)
            return {"items": items, "errors": []}

    def cascade_delete_namespace(self, name: str) -> dict[str, Any]:
        """``POST /api/web/namespaces/{name}/cascade_delete``: delete every object, then the namespace.

        Blocks for ``cascade_delete_delay_ms`` (without holding the lock); the name then
        stays unusable for ``namespace_reuse_block_ms``. Built-ins answer 400, a missing
        namespace 404, one already being deleted 409/10.
        """
        if name in BUILTIN_NAMESPACES:
            raise InvalidArgumentError("name", f"namespace {name} is built in and cannot be deleted")
        with self._lock:
            ns = self._existing_namespace(name)
            if ns.deleting_since is not None:
                raise ConflictError(f"namespace {name} is being deleted")
            ns.deleting_since = self._now()
        try:
            delay = self.config.cascade_delete_delay_ms / 1000
            if delay > 0:
                self.clock.sleep(delay)
        except BaseException:
            with self._lock:
                ns.deleting_since = None
            raise
        with self._lock:
            items = self._drop_namespace_contents(name)
            items.append(_deleted_item(name, "namespace", ns.uid))
            del self._namespaces[name]
            self._ns_blocked_until[name] = self._mono() + self.config.namespace_reuse_block_ms / 1000
            return {"items": items}
