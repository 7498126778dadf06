"""What every family of the fake tenant shares: the clock, the settings, the lock, and small helpers.

``StateBase`` holds what a reset keeps (tenant id, clock, ``XCConfig``, registered tokens) and the
one lock. The families (namespaces, objects, users, credentials) are mixins over it, each keeping
its own records; they forget them in ``_clear``, which each family extends and ``reset`` runs.

Time comes from an injectable ``Clock``: ``time()`` for wall-clock timestamps, ``monotonic()`` for
delays and ``sleep()`` for blocking calls, so tests can advance time without sleeping.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from devstack.xc.errors import InvalidArgumentError

DEFAULT_TENANT = "f5-xc-lab-test-abcdefgh"
DEFAULT_CALLER_EMAIL = "devstack-admin@example.com"

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


# --------------------------------------------------------------------------- clock


class Clock(Protocol):
    """Where the model gets its time; a fake one lets tests advance time instantly."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def rfc3339(epoch: float) -> str:
    """RFC3339 UTC with microseconds and ``Z``, as XC writes timestamps."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- config


@dataclass
class XCConfig:
    """Tunable behaviour. Everything tagged [inferred] in docs/xc-api.md (§11) lives here, with the default
    that matches what the workers expect. Change it with ``XCState.configure``."""

    # §6 timing, all in milliseconds, all 0 by default.
    namespace_visibility_delay_ms: int = 0
    object_visibility_delay_ms: int = 0
    object_visibility_delay_ms_by_plural: dict[str, int] = field(default_factory=dict)
    cascade_delete_delay_ms: int = 0
    namespace_reuse_block_ms: int = 0
    # Reference and delete rules (§2, §7.8), off by default.
    validate_refs: bool = False
    check_ref_tenant: bool = False
    enforce_fail_if_referred: bool = False
    # Certificates: reject a private key that does not belong to the leaf certificate.
    check_certificate_key_match: bool = True
    # Users (§7.2).
    validate_user_role_namespaces: bool = False
    duplicate_user_status: int = 409
    duplicate_user_message: str = "user {email} already exist"
    unknown_user_delete_status: int = 404
    # Credentials (§7.3): renewing an expired or revoked credential is refused by default.
    renew_expired_allowed: bool = False
    renew_inactive_allowed: bool = False
    renew_refused_status: int = 400


# --------------------------------------------------------------------------- helpers


def is_dns1035_label(name: object) -> bool:
    return isinstance(name, str) and _DNS1035.fullmatch(name) is not None


def kind_of(plural: str) -> str:
    """Type name of a naive plural (``origin_pools`` -> ``origin_pool``)."""
    return plural[:-1] if plural.endswith("s") else plural


def _require_dict(value: object, field_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidArgumentError(field_name, "must be a JSON object")
    return value


def _require_str(body: Mapping[str, Any], key: str, field_name: str | None = None) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(field_name or key, "is required and must be a non-empty string")
    return value


def _require_name(meta: Mapping[str, Any]) -> str:
    """``metadata.name``, which must be a DNS-1035 label (docs/xc-api.md §2)."""
    name = meta.get("name")
    if not is_dns1035_label(name):
        raise InvalidArgumentError("metadata.name", f"{name!r} is not a valid DNS-1035 label")
    assert isinstance(name, str)
    return name


def _require_string_map(meta: Mapping[str, Any], key: str) -> None:
    """``metadata.labels`` and ``annotations`` are string-to-string maps (§2): 400 otherwise."""
    value = meta.get(key)
    if value is None:
        return
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgumentError(f"metadata.{key}", "must map strings to strings")


def _positive_days(value: object, field_name: str) -> int:
    # Protobuf JSON writes int64 as a string, so accept both.
    if isinstance(value, bool):
        raise InvalidArgumentError(field_name, "must be a positive integer")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError(field_name, "must be a positive integer")
    return value


def _parse_roles(value: object, field_name: str) -> list[dict[str, str]]:
    """``[{namespace, role}]`` with both keys required; duplicates dropped, order kept."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgumentError(field_name, "must be a list of {namespace, role}")
    roles: list[dict[str, str]] = []
    for index, raw in enumerate(value):
        item = _require_dict(raw, f"{field_name}[{index}]")
        namespace = _require_str(item, "namespace", f"{field_name}[{index}].namespace")
        role = _require_str(item, "role", f"{field_name}[{index}].role")
        entry = {"namespace": namespace, "role": role}
        if entry not in roles:
            roles.append(entry)
    return roles


def _role_map(roles: list[dict[str, str]]) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = {}
    for role in roles:
        result.setdefault(role["namespace"], {"roles": []})["roles"].append(role["role"])
    return result


def _deleted_item(name: str, object_type: str, uid: str) -> dict[str, str]:
    return {"object_name": name, "object_type": object_type, "object_uid": uid, "error_message": ""}


# --------------------------------------------------------------------------- the base


class StateBase:
    """The lock, the clock, the settings and the registered tokens of one fake tenant."""

    def __init__(
        self,
        tenant: str = DEFAULT_TENANT,
        *,
        clock: Clock | None = None,
        config: XCConfig | None = None,
    ) -> None:
        self.tenant = tenant
        self.clock: Clock = clock or SystemClock()
        self.config = config or XCConfig()
        self._lock = threading.RLock()
        self._static_tokens: dict[str, str] = {}
        self._clear()

    def _clear(self) -> None:
        """Forget every record: each family extends this (calling ``super()._clear()``) for its own."""

    def reset(self) -> None:
        """Back to a fresh tenant (built-in namespaces only). Keeps static tokens and config."""
        with self._lock:
            self._clear()

    def configure(self, **changes: Any) -> XCConfig:
        """Change ``XCConfig`` values; unknown keys or wrong types raise ``InvalidArgumentError``."""
        known = {f.name: f for f in dataclasses.fields(XCConfig)}
        with self._lock:
            current = self.config
            for key, value in changes.items():
                if key not in known:
                    raise InvalidArgumentError(key, "unknown config key")
                expected = type(getattr(current, key))
                if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
                    raise InvalidArgumentError(key, "must be an integer")
                if expected is not int and not isinstance(value, expected):
                    raise InvalidArgumentError(key, f"must be of type {expected.__name__}")
                if expected is dict and not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                    for k, v in value.items()
                ):
                    raise InvalidArgumentError(key, "must map strings to integers")
            self.config = dataclasses.replace(current, **copy.deepcopy(changes))
            return self.config

    def _now(self) -> float:
        return self.clock.time()

    def _mono(self) -> float:
        return self.clock.monotonic()

    def _system_metadata(self, uid: str, created: float, modified: float, creator: str) -> dict[str, Any]:
        return {
            "uid": uid,
            "creation_timestamp": rfc3339(created),
            "modification_timestamp": rfc3339(modified),
            "tenant": self.tenant,
            "creator_class": "devstack",
            "creator_id": creator,
            "owner_view": None,
            "deletion_timestamp": None,
            "finalizers": [],
            "labels": {},
        }

    def _summary(self, name: str, namespace: str, uid: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """A list item (§3): the summary of a namespace or config object."""
        return {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "tenant": self.tenant,
            "description": metadata.get("description", ""),
            "labels": copy.deepcopy(metadata.get("labels", {})),
            "annotations": copy.deepcopy(metadata.get("annotations", {})),
            "disabled": bool(metadata.get("disable", False)),
            "owner_view": None,
        }

    @staticmethod
    def _stored_metadata(meta: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        """``metadata`` as kept and returned: bound to ``namespace``, free fields defaulted."""
        stored = copy.deepcopy(dict(meta))
        stored["namespace"] = namespace
        stored.setdefault("labels", {})
        stored.setdefault("annotations", {})
        stored.setdefault("description", "")
        stored.setdefault("disable", False)
        return stored
