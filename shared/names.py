"""The one place where names, emails, identifiers and `{namespace, role}` bindings are validated."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from shared.errors import InputError

DNS1035_MAX: Final = 63
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# Deliberately plausible-shape only: one @, a dotted domain, no spaces or control characters.
# A DNS name of two or more labels; `_` is allowed because record names such as `_acme-challenge` use it.
_HOST_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(\.{_HOST_LABEL})+$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
EMAIL_MAX: Final = 254
ROLE_MAX: Final = 128
MAX_ROLES: Final = 100
# The tenant's own namespaces, and the prefix XC keeps for itself: never a lab's namespace.
RESERVED_NAMESPACES: Final = frozenset({"system", "shared", "default"})
RESERVED_PREFIX: Final = "ves-"
# A deployment id goes into a namespace label value (the owner label): at most 63 characters,
# letters and digits at both ends, '-', '_' and '.' inside. UDF deployment ids are UUIDs.
DEPLOYMENT_ID_MAX: Final = 63
_DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def dns_label(field: str, value: Any) -> str:
    """Check an XC namespace or object name: a DNS-1035 label of at most 63 characters."""
    if not isinstance(value, str) or not value:
        raise InputError(field, f"must be a non-empty string, got {_show(value)}")
    if len(value) > DNS1035_MAX:
        raise InputError(field, f"must be at most {DNS1035_MAX} characters, got {len(value)}: {_show(value)}")
    if not _DNS1035.match(value):
        raise InputError(
            field,
            "must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, "
            f"not ending with '-'), got {_show(value)}",
        )
    return value


def lab_namespace(field: str, value: Any) -> str:
    """Check a namespace name that a lab may create, use or delete: a DNS-1035 label that is not
    `system`, `shared` or `default` and does not start with `ves-`."""
    name = dns_label(field, value)
    if name in RESERVED_NAMESPACES or name.startswith(RESERVED_PREFIX):
        raise InputError(
            field,
            f"{name!r} is reserved: system, shared, default and names starting with "
            f"{RESERVED_PREFIX!r} belong to the tenant, never to a lab",
        )
    return name


def deployment_id(field: str, value: Any) -> str:
    """Check a deployment id, which also serves as a label value: at most 63 letters, digits, '-',
    '_' or '.', starting and ending with a letter or digit."""
    if not isinstance(value, str) or not value:
        raise InputError(field, f"must be a non-empty string, got {_show(value)}")
    if len(value) > DEPLOYMENT_ID_MAX or not _DEPLOYMENT_ID.match(value):
        raise InputError(
            field,
            f"must be at most {DEPLOYMENT_ID_MAX} letters, digits, '-', '_' or '.', "
            f"starting and ending with a letter or digit, got {_show(value)}",
        )
    return value


def hostname(field: str, value: Any) -> str:
    """Check a lowercase DNS name such as `lab-sec.f5demos.com` (no trailing dot)."""
    if not isinstance(value, str) or not _HOSTNAME.match(value):
        raise InputError(field, f"must be a DNS name like 'lab-sec.f5demos.com', got {_show(value)}")
    return value


def email(field: str, value: Any) -> str:
    """Check the plausible shape of an email address."""
    if not isinstance(value, str) or not value:
        raise InputError(field, f"must be a non-empty string, got {_show(value)}")
    if len(value) > EMAIL_MAX or not _EMAIL.match(value):
        raise InputError(field, f"must be an email address, got {_show(value)}")
    return value


def text(field: str, value: Any, *, max_len: int = 256, required: bool = True) -> str:
    """Check a free-text or identifier field: a string, non-empty when required, bounded."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InputError(field, f"must be a string, got {_show(value)}")
    if required and not value.strip():
        raise InputError(field, f"must be a non-empty string, got {_show(value)}")
    if len(value) > max_len:
        raise InputError(field, f"must be at most {max_len} characters, got {len(value)}")
    return value


def string_list(field: str, value: Any, *, max_items: int = 100) -> tuple[str, ...]:
    """Check an optional list of non-empty strings (None means empty)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(field, f"must be a list of strings, got {_show(value)}")
    if len(value) > max_items:
        raise InputError(field, f"must have at most {max_items} entries, got {len(value)}")
    return tuple(text(f"{field}[{i}]", v) for i, v in enumerate(value))


def sorted_unique(values: Iterable[str]) -> tuple[str, ...]:
    """Each value once, sorted: role and group lists always come out in the same order."""
    return tuple(sorted(set(values)))


class RoleBody(TypedDict):
    namespace: str
    role: str


@dataclass(frozen=True, slots=True, order=True)
class NamespaceRole:
    """One `{namespace, role}` binding; ordered so that role lists are sorted the same way every time."""

    namespace: str
    role: str

    def to_body(self) -> RoleBody:
        return {"namespace": self.namespace, "role": self.role}


def namespace_roles(field: str, value: Any) -> tuple[NamespaceRole, ...]:
    """Check an optional list of `{namespace, role}` (None means empty): the namespace a DNS-1035 label
    (the built-ins `system`, `shared` and `default` are labels too), the role a non-empty string.

    Returns each binding once, sorted. Raises InputError naming the entry and key at fault.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(field, f"must be a list of {{namespace, role}} objects, got {type(value).__name__}")
    if len(value) > MAX_ROLES:
        raise InputError(field, f"must have at most {MAX_ROLES} entries, got {len(value)}")
    roles = []
    for index, raw in enumerate(value):
        where = f"{field}[{index}]"
        entry = mapping(where, raw)
        roles.append(
            NamespaceRole(
                namespace=dns_label(f"{where}.namespace", entry.get("namespace")),
                role=text(f"{where}.role", entry.get("role"), max_len=ROLE_MAX).strip(),
            )
        )
    return tuple(sorted(set(roles)))


def mapping(field: str, value: Any) -> dict[str, Any]:
    """Check that a payload or body is a JSON object."""
    if not isinstance(value, dict):
        raise InputError(field, f"must be a JSON object, got {_show(value)}")
    return value
