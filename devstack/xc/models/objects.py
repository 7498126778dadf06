"""Config objects of any plural (docs/xc-api.md §2, §3, §7.4-7.8): CRUD, references, certificates.

``/api/config/namespaces/{ns}/{plural}[/{name}]`` for every plural of lowercase letters, digits
and ``_``. Certificates get their own rules (``certificates.py``); references are found anywhere
in a spec and, when the settings ask for it, checked.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from devstack.xc.errors import AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError
from devstack.xc.models.base import (
    _deleted_item,
    _require_dict,
    _require_name,
    _require_string_map,
    kind_of,
)
from devstack.xc.models.certificates import _CertificateMaterial, prepare_certificate_spec
from devstack.xc.models.namespaces import NamespacesMixin

_PLURAL = re.compile(r"^[a-z][a-z0-9_]*$")
_REF_KEYS = frozenset({"name", "namespace", "tenant", "kind", "uid"})
# Reference keys whose target type is not simply the key with an "s" appended.
_REF_KEY_PLURALS: dict[str, str] = {
    "pool": "origin_pools",
    "origin_pool": "origin_pools",
    "policies": "service_policys",
    "service_policies": "service_policys",
    "service_policy": "service_policys",
    "certificate": "certificates",
}


@dataclass(slots=True)
class _Object:
    plural: str
    namespace: str
    name: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    uid: str
    created_at: float
    modified_at: float
    visible_at: float
    creator: str = ""
    chain_pem: bytes | None = None
    key_pem: bytes | None = None


def iter_refs(
    value: object, path: str = "spec", key: str | None = None
) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """Every object reference in ``value``: (field path, parent key, reference).

    A reference is a dict holding string ``name`` and ``namespace`` and nothing but
    ``tenant``, ``kind`` and ``uid`` besides.
    """
    if isinstance(value, dict):
        if (
            isinstance(value.get("name"), str)
            and isinstance(value.get("namespace"), str)
            and set(value) <= _REF_KEYS
        ):
            yield path, key, value
            return
        for child_key, child in value.items():
            yield from iter_refs(child, f"{path}.{child_key}", str(child_key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from iter_refs(child, f"{path}[{index}]", key)


def ref_target_plural(ref: Mapping[str, Any], key: str | None) -> str:
    """The plural a reference points at: from ``kind`` when given, else from its key."""
    kind = ref.get("kind")
    if isinstance(kind, str) and kind:
        base = kind.rsplit(".", 1)[-1]
        return _REF_KEY_PLURALS.get(base, base + "s")
    if key is None:
        return ""
    if key in _REF_KEY_PLURALS:
        return _REF_KEY_PLURALS[key]
    return key if key.endswith("s") else key + "s"


class ObjectsMixin(NamespacesMixin):
    """Config objects, by namespace and plural; certificates keep their decoded material."""

    _objects: dict[str, dict[str, dict[str, _Object]]]

    def _clear(self) -> None:
        super()._clear()
        self._objects = {}

    def _drop_namespace_contents(self, name: str) -> list[dict[str, str]]:
        items = super()._drop_namespace_contents(name)
        for plural, objects in self._objects.pop(name, {}).items():
            for obj in objects.values():
                items.append(_deleted_item(obj.name, kind_of(plural), obj.uid))
        return items

    @staticmethod
    def _check_plural(plural: str) -> None:
        if not _PLURAL.fullmatch(plural):
            raise NotFoundError(f"unknown object type {plural!r}")

    def _object_visibility_delay(self, plural: str) -> float:
        delays = self.config.object_visibility_delay_ms_by_plural
        return delays.get(plural, self.config.object_visibility_delay_ms) / 1000

    def _find_object(self, namespace: str, plural: str, name: str) -> _Object | None:
        return self._objects.get(namespace, {}).get(plural, {}).get(name)

    def _object_not_found(self, namespace: str, plural: str, name: str) -> NotFoundError:
        return NotFoundError(f"no view ves.io.schema.views.{kind_of(plural)}.Object entry {namespace}/{name}")

    def _validate_refs(self, namespace: str, spec: Mapping[str, Any]) -> None:
        for path, key, ref in iter_refs(spec):
            tenant = ref.get("tenant")
            if self.config.check_ref_tenant and tenant not in (None, "", self.tenant):
                raise InvalidArgumentError(f"{path}.tenant", f"{tenant!r} is not this tenant ({self.tenant})")
            if not self.config.validate_refs:
                continue
            target_ns = ref["namespace"] or namespace
            plural = ref_target_plural(ref, key)
            target = self._find_object(target_ns, plural, ref["name"])
            if target is None or self._mono() < target.visible_at:
                raise InvalidArgumentError(
                    path, f"referenced {kind_of(plural)} {target_ns}/{ref['name']} does not exist"
                )

    def _referrers(self, namespace: str, plural: str, name: str) -> list[_Object]:
        found = []
        for objects_by_plural in self._objects.values():
            for objects in objects_by_plural.values():
                for obj in objects.values():
                    for _, key, ref in iter_refs(obj.spec):
                        if (
                            ref["name"] == name
                            and (ref["namespace"] or obj.namespace) == namespace
                            and ref_target_plural(ref, key) == plural
                        ):
                            found.append(obj)
                            break
        return found

    def _ref_to(self, obj: _Object) -> dict[str, Any]:
        return {
            "kind": kind_of(obj.plural),
            "name": obj.name,
            "namespace": obj.namespace,
            "uid": obj.uid,
            "tenant": self.tenant,
        }

    def _prepare_spec(
        self, plural: str, spec: dict[str, Any]
    ) -> tuple[dict[str, Any], _CertificateMaterial | None]:
        """Validate type-specific rules; returns the spec to store and any certificate material."""
        if plural != "certificates":
            return copy.deepcopy(spec), None
        return prepare_certificate_spec(spec, check_key_match=self.config.check_certificate_key_match)

    def _envelope(self, obj: _Object) -> dict[str, Any]:
        return {
            "metadata": copy.deepcopy(obj.metadata),
            "spec": copy.deepcopy(obj.spec),
            "system_metadata": self._system_metadata(obj.uid, obj.created_at, obj.modified_at, obj.creator),
        }

    def _parse_write(
        self, namespace: str, body: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str, dict[str, Any]]:
        meta = _require_dict(body.get("metadata"), "metadata")
        name = _require_name(meta)
        body_ns = meta.get("namespace")
        if body_ns not in (None, "") and body_ns != namespace:
            raise InvalidArgumentError(
                "metadata.namespace", f"{body_ns!r} does not match the namespace in the path ({namespace!r})"
            )
        _require_string_map(meta, "labels")
        _require_string_map(meta, "annotations")
        spec = _require_dict(body.get("spec", {}), "spec")
        return meta, name, spec

    def create_object(
        self, namespace: str, plural: str, body: Mapping[str, Any], *, creator: str = ""
    ) -> dict[str, Any]:
        """``POST /api/config/namespaces/{ns}/{plural}``.

        Binds the namespace from the path when ``metadata.namespace`` is missing; 400 when
        it differs, 404 when the namespace does not exist, 409/6 on duplicate.
        """
        self._check_plural(plural)
        meta, name, spec = self._parse_write(namespace, body)
        stored_spec, material = self._prepare_spec(plural, spec)
        with self._lock:
            if self._existing_namespace(namespace).deleting_since is not None:
                raise ConflictError(f"namespace {namespace} is being deleted")
            if self._find_object(namespace, plural, name) is not None:
                raise AlreadyExistsError()
            self._validate_refs(namespace, stored_spec)
            now = self._now()
            obj = _Object(
                plural=plural,
                namespace=namespace,
                name=name,
                metadata=self._stored_metadata(meta, namespace),
                spec=stored_spec,
                uid=str(uuid.uuid4()),
                created_at=now,
                modified_at=now,
                visible_at=self._mono() + self._object_visibility_delay(plural),
                creator=creator,
                chain_pem=material.chain_pem if material else None,
                key_pem=material.key_pem if material else None,
            )
            self._objects.setdefault(namespace, {}).setdefault(plural, {})[name] = obj
            return self._envelope(obj)

    def get_object(self, namespace: str, plural: str, name: str) -> dict[str, Any]:
        """``GET .../{plural}/{name}``: full envelope; 404/5 while missing or not yet visible."""
        self._check_plural(plural)
        with self._lock:
            obj = self._find_object(namespace, plural, name)
            if obj is None or self._mono() < obj.visible_at:
                raise self._object_not_found(namespace, plural, name)
            referrers = self._referrers(namespace, plural, name)
            result = self._envelope(obj)
            if plural == "certificates":
                for back_ref in ("http_loadbalancers", "tcp_loadbalancers"):
                    result["spec"][back_ref] = [self._ref_to(r) for r in referrers if r.plural == back_ref]
            result.update(
                {
                    "create_form": None,
                    "replace_form": None,
                    "status": [],
                    "referring_objects": [self._ref_to(r) for r in referrers],
                    "deleted_referred_objects": [],
                    "disabled_referred_objects": [],
                }
            )
            return result

    def list_objects(self, namespace: str, plural: str, *, report_fields: bool = False) -> dict[str, Any]:
        """``GET .../{plural}``: visible objects as summaries; full fields with ``report_fields``."""
        self._check_plural(plural)
        with self._lock:
            if self._visible_namespace(namespace) is None:
                raise NotFoundError(f"namespace {namespace!r} not found")
            items = []
            for obj in self._objects.get(namespace, {}).get(plural, {}).values():
                if self._mono() < obj.visible_at:
                    continue
                item = self._summary(obj.name, obj.namespace, obj.uid, obj.metadata)
                if report_fields:
                    item.update(self._envelope(obj))
                    item["get_spec"] = item.pop("spec")
                items.append(item)
            return {"items": items, "errors": []}

    def replace_object(
        self, namespace: str, plural: str, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PUT .../{plural}/{name}``: full replacement; keeps uid, bumps modification time."""
        self._check_plural(plural)
        meta = _require_dict(body.get("metadata"), "metadata")
        if meta.get("name") not in (None, "", name):
            raise InvalidArgumentError("metadata.name", "does not match the name in the path")
        meta = {**meta, "name": name}
        meta, name, spec = self._parse_write(namespace, {**body, "metadata": meta})
        stored_spec, material = self._prepare_spec(plural, spec)
        with self._lock:
            obj = self._find_object(namespace, plural, name)
            if obj is None:
                raise self._object_not_found(namespace, plural, name)
            self._validate_refs(namespace, stored_spec)
            obj.metadata = self._stored_metadata(meta, namespace)
            obj.spec = stored_spec
            obj.modified_at = max(self._now(), obj.modified_at)
            if material is not None:
                obj.chain_pem, obj.key_pem = material.chain_pem, material.key_pem
            return self._envelope(obj)

    def delete_object(
        self, namespace: str, plural: str, name: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``DELETE .../{plural}/{name}``; the body is optional. Returns ``{}``.

        With ``enforce_fail_if_referred`` on, ``fail_if_referred: true`` on a referenced
        object answers 409/10.
        """
        self._check_plural(plural)
        fail_if_referred = bool(body.get("fail_if_referred")) if body else False
        with self._lock:
            obj = self._find_object(namespace, plural, name)
            if obj is None:
                raise self._object_not_found(namespace, plural, name)
            if self.config.enforce_fail_if_referred and fail_if_referred:
                referrers = self._referrers(namespace, plural, name)
                if referrers:
                    names = ", ".join(f"{kind_of(r.plural)} {r.namespace}/{r.name}" for r in referrers)
                    raise ConflictError(f"{kind_of(plural)} {namespace}/{name} is referred by {names}")
            del self._objects[namespace][plural][name]
            return {}

    def certificate_material(self, namespace: str, name: str) -> tuple[bytes, bytes | None]:
        """Test helper: the decoded chain and key uploaded for a certificate (key None for blindfold)."""
        with self._lock:
            obj = self._find_object(namespace, "certificates", name)
            if obj is None or obj.chain_pem is None:
                raise KeyError(f"certificate {namespace}/{name}")
            return obj.chain_pem, obj.key_pem

    def object_names(self, namespace: str, plural: str) -> list[str]:
        """Test helper: names stored (visible or not) under a namespace and plural."""
        with self._lock:
            return list(self._objects.get(namespace, {}).get(plural, {}))
