"""API and service credentials (docs/xc-api.md §7.3), and the tokens that authenticate callers.

A credential of a token type authenticates with its token until it expires or is revoked; tokens
registered with ``add_token`` are always valid. The two kinds share one store but answer with the
per-endpoint shapes and expiry names of §7.3.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devstack.xc.errors import InvalidArgumentError, NotFoundError, UnauthenticatedError, error_for_status
from devstack.xc.models.base import (
    DEFAULT_CALLER_EMAIL,
    StateBase,
    _parse_roles,
    _positive_days,
    _require_dict,
    _require_str,
    _role_map,
    is_dns1035_label,
    rfc3339,
)

CREDENTIAL_KINDS: tuple[str, ...] = ("api_credentials", "service_credentials")
CREDENTIAL_TYPES: frozenset[str] = frozenset(
    {
        "API_CERTIFICATE",
        "KUBE_CONFIG",
        "API_TOKEN",
        "SERVICE_API_TOKEN",
        "SERVICE_API_CERTIFICATE",
        "SERVICE_KUBE_CONFIG",
        "SITE_GLOBAL_KUBE_CONFIG",
        "SCIM_API_TOKEN",
        "SERVICE_SITE_GLOBAL_KUBE_CONFIG",
    }
)
TOKEN_CREDENTIAL_TYPES: frozenset[str] = frozenset({"API_TOKEN", "SERVICE_API_TOKEN", "SCIM_API_TOKEN"})
# Service-credential one-of keys (current spec) -> the legacy ``type`` value.
SERVICE_CREDENTIAL_ONE_OF: dict[str, str] = {
    "api_token": "SERVICE_API_TOKEN",
    "api_certificate": "SERVICE_API_CERTIFICATE",
    "vk8s_kubeconfig": "SERVICE_KUBE_CONFIG",
    "site_kubeconfig": "SERVICE_SITE_GLOBAL_KUBE_CONFIG",
}
DEFAULT_EXPIRATION_DAYS = 90
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a token belongs to."""

    email: str
    credential: tuple[str, str] | None = None
    user_type: str = "USER"


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """A snapshot of a credential for tests (includes the token)."""

    kind: str
    name: str
    type: str
    active: bool
    created_at: float
    expires_at: float
    user_email: str
    token: str | None
    namespace_roles: tuple[tuple[str, str], ...]
    user_group_names: tuple[str, ...]


@dataclass(slots=True)
class _Credential:
    kind: str
    name: str
    type: str
    active: bool
    created_at: float
    modified_at: float
    expires_at: float
    uid: str
    user_email: str
    token: str | None
    namespace_roles: list[dict[str, str]] = field(default_factory=list)
    user_group_names: list[str] = field(default_factory=list)


class CredentialsMixin(StateBase):
    """Credentials by (kind, name), the tokens they own, and authentication."""

    _credentials: dict[tuple[str, str], _Credential]
    _credential_tokens: dict[str, tuple[str, str]]

    def _clear(self) -> None:
        super()._clear()
        self._credentials = {}
        self._credential_tokens = {}

    # ------------------------------------------------------------------ auth

    def add_token(self, token: str, *, email: str = DEFAULT_CALLER_EMAIL) -> None:
        """Register a token that is always valid, belonging to ``email``."""
        if not token:
            raise ValueError("token must be non-empty")
        with self._lock:
            self._static_tokens[token] = email

    def remove_token(self, token: str) -> None:
        with self._lock:
            self._static_tokens.pop(token, None)

    def authenticate(self, token: str | None) -> Identity:
        """The caller behind ``token``; 401 when missing, unknown, revoked or expired."""
        if not token:
            raise UnauthenticatedError(
                "missing or malformed Authorization header (expected 'APIToken <token>')"
            )
        with self._lock:
            email = self._static_tokens.get(token)
            if email is not None:
                return Identity(email=email)
            key = self._credential_tokens.get(token)
            credential = self._credentials.get(key) if key else None
            if key is None or credential is None:
                raise UnauthenticatedError("invalid API token")
            if not credential.active:
                raise UnauthenticatedError("API token has been revoked")
            if self._now() >= credential.expires_at:
                raise UnauthenticatedError("API token has expired")
            user_type = "SERVICE" if credential.kind == "service_credentials" else "USER"
            return Identity(email=credential.user_email, credential=key, user_type=user_type)

    # ------------------------------------------------------------------ credentials

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in CREDENTIAL_KINDS:
            raise NotFoundError(f"unknown credential kind {kind!r}")

    def _credential(self, kind: str, name: str) -> _Credential:
        credential = self._credentials.get((kind, name))
        if credential is None:
            raise NotFoundError(f"no view ves.io.schema.api_credential.Object entry system/{name}")
        return credential

    def _register_credential(self, credential: _Credential) -> None:
        key = (credential.kind, credential.name)
        old = self._credentials.get(key)
        if old is not None and old.token:
            self._credential_tokens.pop(old.token, None)
        self._credentials[key] = credential
        if credential.token:
            self._credential_tokens[credential.token] = key

    def _credential_item(self, credential: _Credential) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": credential.name,
            "namespace": "system",
            "uid": credential.uid,
            "type": credential.type,
            "active": credential.active,
            "create_timestamp": rfc3339(credential.created_at),
            "expiry_timestamp": rfc3339(credential.expires_at),
            "user_email": credential.user_email,
        }
        if credential.kind == "service_credentials":
            item["namespace_access"] = {"namespace_role_map": _role_map(credential.namespace_roles)}
            item["user_group_names"] = list(credential.user_group_names)
        return item

    def list_credentials(self, kind: str) -> dict[str, Any]:
        """``GET /api/web/namespaces/system/{api_credentials|service_credentials}``.

        Items carry the expiry as ``expiry_timestamp``.
        """
        self._check_kind(kind)
        with self._lock:
            items = [self._credential_item(c) for c in self._credentials.values() if c.kind == kind]
            return {"items": items, "errors": []}

    def get_credential(self, kind: str, name: str) -> dict[str, Any]:
        """``GET .../{kind}/{name}``: api credentials wrapped in ``object`` with the expiry at
        ``spec.gc_spec.expiration_timestamp``; service credentials flat (``expiry_timestamp``)."""
        self._check_kind(kind)
        with self._lock:
            credential = self._credential(kind, name)
            if kind == "service_credentials":
                return self._credential_item(credential)
            return {
                "object": {
                    "metadata": self._stored_metadata(
                        {"name": credential.name, "uid": credential.uid}, "system"
                    ),
                    "spec": {
                        "gc_spec": {
                            "type": credential.type,
                            "active": credential.active,
                            "created_timestamp": rfc3339(credential.created_at),
                            "expiration_timestamp": rfc3339(credential.expires_at),
                            "digest": hashlib.sha256(credential.uid.encode()).hexdigest(),
                            "users": [credential.user_email],
                            "certificate_serial_num": "",
                            "virtual_k8s_name": "",
                            "virtual_k8s_namespace": "",
                            "site_name": "",
                        }
                    },
                    "system_metadata": self._system_metadata(
                        credential.uid, credential.created_at, credential.modified_at, credential.user_email
                    ),
                }
            }

    @staticmethod
    def _credential_type(kind: str, body: Mapping[str, Any]) -> str:
        if kind == "api_credentials":
            spec = body.get("spec") or {}
            spec = _require_dict(spec, "spec")
            cred_type = spec.get("type") or body.get("type") or "API_TOKEN"
            if cred_type not in CREDENTIAL_TYPES:
                raise InvalidArgumentError("spec.type", f"{cred_type!r} is not a credential type")
            if cred_type not in TOKEN_CREDENTIAL_TYPES and not spec.get("password"):
                raise InvalidArgumentError("spec.password", f"is required for {cred_type}")
            return str(cred_type)
        # Service credentials: the legacy top-level ``type`` or the current one-of.
        chosen = [key for key in SERVICE_CREDENTIAL_ONE_OF if key in body]
        if len(chosen) > 1:
            raise InvalidArgumentError("type", f"only one of {', '.join(SERVICE_CREDENTIAL_ONE_OF)}")
        legacy = body.get("type")
        if legacy is not None and legacy not in CREDENTIAL_TYPES:
            raise InvalidArgumentError("type", f"{legacy!r} is not a credential type")
        if chosen:
            one_of_type = SERVICE_CREDENTIAL_ONE_OF[chosen[0]]
            if legacy not in (None, one_of_type):
                raise InvalidArgumentError("type", f"{legacy!r} contradicts {chosen[0]}")
            return one_of_type
        if legacy is None:
            raise InvalidArgumentError(
                "type", f"type or one of {', '.join(SERVICE_CREDENTIAL_ONE_OF)} is required"
            )
        return str(legacy)

    def create_credential(
        self, kind: str, body: Mapping[str, Any], *, caller: Identity | None = None
    ) -> dict[str, Any]:
        """``POST .../{kind}``: returns ``{name, data, active, expiration_timestamp}``.

        The stored name is the requested name plus ``-`` and 7 random lowercase
        alphanumerics; ``data`` (token types only) is a fresh token that authenticates
        until the credential expires or is revoked.
        """
        self._check_kind(kind)
        requested = _require_str(body, "name")
        if not is_dns1035_label(requested):
            raise InvalidArgumentError("name", f"{requested!r} is not a valid DNS-1035 label")
        days_value = body.get("expiration_days")
        days = (
            DEFAULT_EXPIRATION_DAYS if days_value is None else _positive_days(days_value, "expiration_days")
        )
        cred_type = self._credential_type(kind, body)
        roles = _parse_roles(body.get("namespace_roles"), "namespace_roles")
        groups = body.get("user_group_names") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise InvalidArgumentError("user_group_names", "must be a list of strings")
        caller_email = caller.email if caller else DEFAULT_CALLER_EMAIL
        with self._lock:
            while True:
                suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(7))
                name = f"{requested}-{suffix}"
                if (kind, name) not in self._credentials:
                    break
            if cred_type in TOKEN_CREDENTIAL_TYPES:
                token: str | None = secrets.token_urlsafe(30)
                data = token
            else:
                token = None
                data = base64.b64encode(secrets.token_bytes(48)).decode()
            user_email = caller_email if kind == "api_credentials" else f"{name}@serviceaccount.{self.tenant}"
            now = self._now()
            credential = _Credential(
                kind=kind,
                name=name,
                type=cred_type,
                active=True,
                created_at=now,
                modified_at=now,
                expires_at=now + days * 86400,
                uid=str(uuid.uuid4()),
                user_email=user_email,
                token=token,
                namespace_roles=roles,
                user_group_names=list(groups),
            )
            self._register_credential(credential)
            return {
                "name": name,
                "data": data,
                "active": True,
                "expiration_timestamp": rfc3339(credential.expires_at),
            }

    def renew_credential(self, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../renew/{kind}`` ``{name, namespace, expiration_days}``: expiry = now + days.

        404/5 for an unknown name. An expired or revoked credential is refused with
        ``renew_refused_status`` (400/3 by default) unless ``renew_expired_allowed`` /
        ``renew_inactive_allowed``.
        """
        self._check_kind(kind)
        name = _require_str(body, "name")
        days = _positive_days(body.get("expiration_days"), "expiration_days")
        with self._lock:
            credential = self._credential(kind, name)
            now = self._now()
            if not credential.active and not self.config.renew_inactive_allowed:
                raise error_for_status(self.config.renew_refused_status, f"credential {name} is not active")
            if now >= credential.expires_at and not self.config.renew_expired_allowed:
                raise error_for_status(self.config.renew_refused_status, f"credential {name} has expired")
            credential.expires_at = now + days * 86400
            credential.modified_at = now
            return {"status": True}

    def _set_active(self, kind: str, body: Mapping[str, Any], active: bool) -> dict[str, Any]:
        self._check_kind(kind)
        name = _require_str(body, "name")
        with self._lock:
            credential = self._credential(kind, name)
            credential.active = active
            credential.modified_at = self._now()
            return {"status": True}

    def revoke_credential(self, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../revoke/{kind}`` ``{name, namespace}``: its token stops authenticating."""
        return self._set_active(kind, body, False)

    def activate_credential(self, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../activate/{kind}`` ``{name, namespace}``."""
        return self._set_active(kind, body, True)

    def seed_credential(
        self,
        kind: str,
        name: str,
        token: str | None,
        expires_at: float,
        active: bool = True,
        *,
        cred_type: str | None = None,
        user_email: str = DEFAULT_CALLER_EMAIL,
        created_at: float | None = None,
    ) -> None:
        """Test helper: store a credential with an exact name, token and expiry (epoch seconds)."""
        self._check_kind(kind)
        default_type = "API_TOKEN" if kind == "api_credentials" else "SERVICE_API_TOKEN"
        with self._lock:
            now = self._now()
            self._register_credential(
                _Credential(
                    kind=kind,
                    name=name,
                    type=cred_type or default_type,
                    active=active,
                    created_at=now if created_at is None else created_at,
                    modified_at=now,
                    expires_at=expires_at,
                    uid=str(uuid.uuid4()),
                    user_email=user_email,
                    token=token,
                )
            )

    def credential(self, kind: str, name: str) -> CredentialInfo:
        """Test helper: a snapshot of a credential; ``KeyError`` when unknown."""
        with self._lock:
            c = self._credentials[(kind, name)]
            return CredentialInfo(
                kind=c.kind,
                name=c.name,
                type=c.type,
                active=c.active,
                created_at=c.created_at,
                expires_at=c.expires_at,
                user_email=c.user_email,
                token=c.token,
                namespace_roles=tuple((r["namespace"], r["role"]) for r in c.namespace_roles),
                user_group_names=tuple(c.user_group_names),
            )

    def credentials(self, kind: str) -> list[CredentialInfo]:
        """Test helper: snapshots of every credential of a kind."""
        with self._lock:
            names = [name for (k, name) in self._credentials if k == kind]
        return [self.credential(kind, name) for name in names]
