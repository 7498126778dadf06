"""State and rules of the fake XC tenant, with no HTTP.

``XCState`` holds namespaces, config objects, users, credentials and tokens behind one
lock (the server is threaded). Its public methods are named after the XC API
operations, take parsed JSON bodies and return JSON-ready dicts; they raise the typed
errors of ``devstack.xc.errors``. Facts come from ``docs/xc-api.md``; behaviour
tagged [inferred] there is a switch or a value in ``XCConfig``.

Time comes from an injectable ``Clock``: ``time()`` for wall-clock timestamps,
``monotonic()`` for delays and ``sleep()`` for blocking calls, so unit tests can
advance time without sleeping.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import hashlib
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from devstack.xc.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    UnauthenticatedError,
    error_for_status,
)

DEFAULT_TENANT = "f5-xc-lab-test-abcdefgh"
DEFAULT_CALLER_EMAIL = "devstack-admin@example.com"
BUILTIN_NAMESPACES: tuple[str, ...] = ("system", "shared", "default")
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
USER_IDM_TYPES: frozenset[str] = frozenset({"SSO", "VOLTERRA_MANAGED", "UNDEFINED"})
USER_TYPES: frozenset[str] = frozenset({"USER", "SERVICE", "DEBUG"})
SECRET_URL_PREFIX = "string:///"
SECRET_FIELD_MAX_BYTES = 131072
REDACTED_SECRET_URL = "string:///<redacted>"
# Read-only certificate fields the server computes; client copies are dropped on write.
CERTIFICATE_READ_ONLY_FIELDS: tuple[str, ...] = ("infos", "http_loadbalancers", "tcp_loadbalancers")

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
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
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


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


# --------------------------------------------------------------------------- records


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


@dataclass(slots=True)
class _User:
    email: str
    name: str
    first_name: str
    last_name: str
    idm_type: str
    user_type: str
    group_names: list[str]
    namespace_roles: list[dict[str, str]]
    uid: str
    created_at: float
    modified_at: float


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


@dataclass(slots=True)
class _CertificateMaterial:
    chain_pem: bytes
    key_pem: bytes | None
    infos: list[dict[str, Any]]


# --------------------------------------------------------------------------- pure helpers


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


def _positive_days(value: object, field_name: str) -> int:
    # Protobuf JSON writes int64 as a string, so accept both.
    if isinstance(value, bool):
        raise InvalidArgumentError(field_name, "must be a positive integer")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError(field_name, "must be a positive integer")
    return value


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


def decode_secret_url(value: object, field_name: str) -> bytes:
    """Bytes behind a ``string:///<base64>`` URL; 400 naming ``field_name`` otherwise."""
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(field_name, "is required and must be a string")
    if len(value.encode()) > SECRET_FIELD_MAX_BYTES:
        raise InvalidArgumentError(field_name, f"exceeds {SECRET_FIELD_MAX_BYTES} bytes")
    if not value.startswith(SECRET_URL_PREFIX):
        raise InvalidArgumentError(field_name, f"must start with {SECRET_URL_PREFIX}")
    try:
        data = base64.b64decode(value[len(SECRET_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidArgumentError(field_name, "is not valid standard base64") from exc
    if not data:
        raise InvalidArgumentError(field_name, "decodes to nothing")
    return data


def _name_attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return ""
    value = values[0].value
    return value if isinstance(value, str) else value.decode(errors="replace")


def _public_key_algorithm(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA"
    return type(key).__name__


def certificate_info(cert: x509.Certificate) -> dict[str, Any]:
    """One ``spec.infos[]`` entry."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = list(san.get_values_for_type(x509.DNSName))
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    return {
        "common_name": _name_attr(cert.subject, NameOID.COMMON_NAME),
        "issuer": cert.issuer.rfc4514_string(),
        "expiry": rfc3339(cert.not_valid_after_utc.timestamp()),
        "subject_alternative_names": names,
        "organization": _name_attr(cert.subject, NameOID.ORGANIZATION_NAME),
        "public_key_algorithm": _public_key_algorithm(cert),
    }


def _spki(key: Any) -> bytes:
    return bytes(
        key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def parse_certificate_spec(spec: dict[str, Any], *, check_key_match: bool) -> _CertificateMaterial:
    """Validate a certificate spec (§7.4) and return the decoded material and ``infos``."""
    chain = decode_secret_url(spec.get("certificate_url"), "spec.certificate_url")
    if b"-----BEGIN CERTIFICATE-----" not in chain:
        raise InvalidArgumentError("spec.certificate_url", "does not hold a PEM certificate")
    try:
        certs = x509.load_pem_x509_certificates(chain)
    except ValueError as exc:
        raise InvalidArgumentError("spec.certificate_url", "does not hold a valid PEM certificate") from exc

    private_key = _require_dict(spec.get("private_key"), "spec.private_key")
    clear = private_key.get("clear_secret_info")
    blindfold = private_key.get("blindfold_secret_info")
    if clear is not None and blindfold is not None:
        raise InvalidArgumentError("spec.private_key", "only one of clear_secret_info, blindfold_secret_info")
    key_pem: bytes | None
    if clear is not None:
        clear = _require_dict(clear, "spec.private_key.clear_secret_info")
        field_name = "spec.private_key.clear_secret_info.url"
        key_pem = decode_secret_url(clear.get("url"), field_name)
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidArgumentError(field_name, "does not hold an unencrypted PEM private key") from exc
        if check_key_match and _spki(key.public_key()) != _spki(certs[0].public_key()):
            raise InvalidArgumentError(field_name, "private key does not match the certificate")
    elif blindfold is not None:
        blindfold = _require_dict(blindfold, "spec.private_key.blindfold_secret_info")
        location = blindfold.get("location")
        field_name = "spec.private_key.blindfold_secret_info.location"
        if not isinstance(location, str) or not location:
            raise InvalidArgumentError(field_name, "is required and must be a string")
        if len(location.encode()) > SECRET_FIELD_MAX_BYTES:
            raise InvalidArgumentError(field_name, f"exceeds {SECRET_FIELD_MAX_BYTES} bytes")
        # Blindfold-encrypted: nothing to decode locally; keep the opaque location.
        key_pem = None
    else:
        raise InvalidArgumentError("spec.private_key", "one of clear_secret_info, blindfold_secret_info")
    return _CertificateMaterial(chain_pem=chain, key_pem=key_pem, infos=[certificate_info(c) for c in certs])


def _redacted_certificate_spec(spec: dict[str, Any], infos: list[dict[str, Any]]) -> dict[str, Any]:
    stored = copy.deepcopy(spec)
    for read_only in CERTIFICATE_READ_ONLY_FIELDS:
        stored.pop(read_only, None)
    private_key = stored.get("private_key", {})
    if isinstance(private_key.get("clear_secret_info"), dict):
        private_key["clear_secret_info"]["url"] = REDACTED_SECRET_URL
    if isinstance(private_key.get("blindfold_secret_info"), dict):
        private_key["blindfold_secret_info"]["location"] = REDACTED_SECRET_URL
    stored["infos"] = infos
    return stored


# --------------------------------------------------------------------------- the state


class XCState:
    """One fake XC tenant: all state and rules, thread-safe, no HTTP."""

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
        self._namespaces: dict[str, _Namespace] = {}
        self._objects: dict[str, dict[str, dict[str, _Object]]] = {}
        self._users: dict[str, _User] = {}
        self._credentials: dict[tuple[str, str], _Credential] = {}
        self._credential_tokens: dict[str, tuple[str, str]] = {}
        self._ns_blocked_until: dict[str, float] = {}
        self._seed_builtins()

    # ------------------------------------------------------------------ housekeeping

    def _seed_builtins(self) -> None:
        now = self.clock.time()
        for name in BUILTIN_NAMESPACES:
            self._namespaces[name] = _Namespace(
                name=name,
                metadata=self._namespace_metadata({"name": name}),
                uid=str(uuid.uuid4()),
                created_at=now,
                modified_at=now,
                visible_at=float("-inf"),
                builtin=True,
                creator="ves-io",
            )

    def reset(self) -> None:
        """Back to a fresh tenant (built-in namespaces only). Keeps static tokens and config."""
        with self._lock:
            self._namespaces.clear()
            self._objects.clear()
            self._users.clear()
            self._credentials.clear()
            self._credential_tokens.clear()
            self._ns_blocked_until.clear()
            self._seed_builtins()

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

    def whoami(self, identity: Identity) -> dict[str, Any]:
        """``GET /api/web/custom/namespaces/system/whoami``: the caller's user detail."""
        with self._lock:
            user = self._users.get(identity.email.lower())
            roles: list[dict[str, str]]
            if user is not None:
                roles = copy.deepcopy(user.namespace_roles)
                groups = list(user.group_names)
                first, last, idm = user.first_name, user.last_name, user.idm_type
            elif identity.credential and identity.credential[0] == "service_credentials":
                credential = self._credentials[identity.credential]
                roles = copy.deepcopy(credential.namespace_roles)
                groups = list(credential.user_group_names)
                first, last, idm = "", "", "VOLTERRA_MANAGED"
            else:
                roles = [{"namespace": "system", "role": "ves-io-admin-role"}]
                groups = []
                first, last, idm = "Devstack", "Admin", "VOLTERRA_MANAGED"
        return {
            "email": identity.email,
            "name": identity.email,
            "first_name": first,
            "last_name": last,
            "tenant": self.tenant,
            "tenant_type": "ENTERPRISE",
            "namespace_roles": roles,
            "namespace_access": {"namespace_role_map": _role_map(roles)},
            "group_names": groups,
            "idm_type": idm,
            "type": identity.user_type,
            "state": "StateActive",
            "plan_type": "ENTERPRISE",
        }

    # ------------------------------------------------------------------ namespaces

    @staticmethod
    def _namespace_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(dict(meta))
        stored["namespace"] = ""
        stored.setdefault("labels", {})
        stored.setdefault("annotations", {})
        stored.setdefault("description", "")
        stored.setdefault("disable", False)
        return stored

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
        name = meta.get("name")
        if not is_dns1035_label(name):
            raise InvalidArgumentError("metadata.name", f"{name!r} is not a valid DNS-1035 label")
        assert isinstance(name, str)
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
                metadata=self._namespace_metadata(meta),
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
            items = []
            for plural, objects in self._objects.pop(name, {}).items():
                for obj in objects.values():
                    items.append(_deleted_item(obj.name, kind_of(plural), obj.uid))
            items.append(_deleted_item(name, "namespace", ns.uid))
            del self._namespaces[name]
            self._ns_blocked_until[name] = self._mono() + self.config.namespace_reuse_block_ms / 1000
            return {"items": items}

    # ------------------------------------------------------------------ config objects

    def _summary(self, name: str, namespace: str, uid: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
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

    def _object_metadata(self, meta: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        stored = copy.deepcopy(dict(meta))
        stored["namespace"] = namespace
        stored.setdefault("labels", {})
        stored.setdefault("annotations", {})
        stored.setdefault("description", "")
        stored.setdefault("disable", False)
        return stored

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
        material = parse_certificate_spec(spec, check_key_match=self.config.check_certificate_key_match)
        return _redacted_certificate_spec(spec, material.infos), material

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
        name = meta.get("name")
        if not is_dns1035_label(name):
            raise InvalidArgumentError("metadata.name", f"{name!r} is not a valid DNS-1035 label")
        assert isinstance(name, str)
        body_ns = meta.get("namespace")
        if body_ns not in (None, "") and body_ns != namespace:
            raise InvalidArgumentError(
                "metadata.namespace", f"{body_ns!r} does not match the namespace in the path ({namespace!r})"
            )
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
                metadata=self._object_metadata(meta, namespace),
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
            obj.metadata = self._object_metadata(meta, namespace)
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

    # ------------------------------------------------------------------ users

    def _parse_user_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        email = _require_str(body, "email")
        if "@" not in email:
            raise InvalidArgumentError("email", f"{email!r} is not an email address")
        first = _require_str(body, "first_name")
        last = _require_str(body, "last_name")
        idm_type = body.get("idm_type") or "SSO"
        if idm_type not in USER_IDM_TYPES:
            raise InvalidArgumentError("idm_type", f"{idm_type!r} is not one of {sorted(USER_IDM_TYPES)}")
        user_type = body.get("type") or "USER"
        if user_type not in USER_TYPES:
            raise InvalidArgumentError("type", f"{user_type!r} is not one of {sorted(USER_TYPES)}")
        roles = self._parse_roles(body.get("namespace_roles"), "namespace_roles")
        groups = body.get("group_names") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise InvalidArgumentError("group_names", "must be a list of non-empty strings")
        name = body.get("name") or email
        if not isinstance(name, str):
            raise InvalidArgumentError("name", "must be a string")
        return {
            "email": email,
            "name": name,
            "first_name": first,
            "last_name": last,
            "idm_type": idm_type,
            "user_type": user_type,
            "namespace_roles": roles,
            "group_names": list(dict.fromkeys(groups)),
        }

    def _parse_roles(self, value: object, field_name: str) -> list[dict[str, str]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise InvalidArgumentError(field_name, "must be a list of {namespace, role}")
        roles: list[dict[str, str]] = []
        for index, item in enumerate(value):
            item = _require_dict(item, f"{field_name}[{index}]")
            namespace = _require_str(item, "namespace", f"{field_name}[{index}].namespace")
            role = _require_str(item, "role", f"{field_name}[{index}].role")
            entry = {"namespace": namespace, "role": role}
            if entry not in roles:
                roles.append(entry)
        return roles

    def _check_role_namespaces(self, roles: list[dict[str, str]]) -> None:
        if not self.config.validate_user_role_namespaces:
            return
        for index, role in enumerate(roles):
            if role["namespace"] not in self._namespaces:
                raise InvalidArgumentError(
                    f"namespace_roles[{index}].namespace", f"namespace {role['namespace']!r} does not exist"
                )

    def _user_item(self, user: _User) -> dict[str, Any]:
        return {
            "email": user.email,
            "name": user.name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "namespace": "system",
            "tenant": self.tenant,
            "tenant_type": "ENTERPRISE",
            "idm_type": user.idm_type,
            "type": user.user_type,
            "group_names": list(user.group_names),
            "namespace_roles": copy.deepcopy(user.namespace_roles),
            "disabled": False,
            "domain_owner": False,
            "otp_enabled": False,
            "sync_mode": "SELF",
            "creation_timestamp": rfc3339(user.created_at),
            "last_login_timestamp": None,
        }

    def _user_object(self, user: _User) -> dict[str, Any]:
        return {
            "metadata": {
                "name": user.name,
                "namespace": "system",
                "uid": user.uid,
                "labels": {},
                "annotations": {},
                "description": "",
                "disable": False,
            },
            "spec": {
                "gc_spec": {
                    "email": user.email,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "idm_type": user.idm_type,
                    "type": user.user_type,
                    "groups": list(user.group_names),
                    "namespace_roles": copy.deepcopy(user.namespace_roles),
                }
            },
            "system_metadata": self._system_metadata(user.uid, user.created_at, user.modified_at, ""),
        }

    def _find_user(self, email: str) -> _User:
        user = self._users.get(email.lower())
        if user is None:
            raise NotFoundError(f"user {email} not found")
        return user

    def list_user_roles(self) -> dict[str, Any]:
        """``GET /api/web/custom/namespaces/system/user_roles``: every user, consistent at once."""
        with self._lock:
            return {"items": [self._user_item(u) for u in self._users.values()], "errors": []}

    def create_user_roles(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../user_roles``: duplicate email answers ``duplicate_user_status`` with a
        message containing "already exist" (``duplicate_user_message``)."""
        request = self._parse_user_request(body)
        with self._lock:
            key = request["email"].lower()
            if key in self._users:
                message = self.config.duplicate_user_message.format(email=request["email"])
                raise error_for_status(self.config.duplicate_user_status, message)
            self._check_role_namespaces(request["namespace_roles"])
            now = self._now()
            user = _User(uid=str(uuid.uuid4()), created_at=now, modified_at=now, **request)
            self._users[key] = user
            return self._user_object(user)

    def update_user_roles(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../user_roles``: replaces names, the role set and the group set; 404 if unknown."""
        request = self._parse_user_request(body)
        with self._lock:
            user = self._find_user(request["email"])
            self._check_role_namespaces(request["namespace_roles"])
            user.first_name = request["first_name"]
            user.last_name = request["last_name"]
            user.idm_type = request["idm_type"]
            user.user_type = request["user_type"]
            user.namespace_roles = request["namespace_roles"]
            user.group_names = request["group_names"]
            user.modified_at = self._now()
            return self._user_object(user)

    def _user_by_username(self, username: str) -> _User:
        for user in self._users.values():
            if user.name == username or user.email.lower() == username.lower():
                return user
        raise NotFoundError(f"user {username} not found")

    def add_user_groups(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../users/group_add`` ``{username, group_names}``."""
        username = _require_str(body, "username")
        groups = body.get("group_names") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise InvalidArgumentError("group_names", "must be a list of strings")
        with self._lock:
            user = self._user_by_username(username)
            user.group_names = list(dict.fromkeys([*user.group_names, *groups]))
            user.modified_at = self._now()
            return {}

    def remove_user_groups(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../users/group_remove`` ``{username, group_names}``."""
        username = _require_str(body, "username")
        groups = body.get("group_names") or []
        if not isinstance(groups, list):
            raise InvalidArgumentError("group_names", "must be a list of strings")
        with self._lock:
            user = self._user_by_username(username)
            user.group_names = [g for g in user.group_names if g not in groups]
            user.modified_at = self._now()
            return {}

    def cascade_delete_user(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../users/cascade_delete`` ``{email, namespace}``.

        An unknown email answers ``unknown_user_delete_status`` (404/5 by default); set it
        to 200 to answer ``{delete_ok: false, items: []}`` instead.
        """
        email = _require_str(body, "email")
        with self._lock:
            user = self._users.pop(email.lower(), None)
            if user is None:
                status = self.config.unknown_user_delete_status
                if status == 200:
                    return {"delete_ok": False, "items": []}
                raise error_for_status(status, f"user {email} not found")
            return {"delete_ok": True, "items": [_deleted_item(user.name, "user", user.uid)]}

    def user(self, email: str) -> dict[str, Any] | None:
        """Test helper: a user's list item, or None."""
        with self._lock:
            user = self._users.get(email.lower())
            return self._user_item(user) if user else None

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
                    "metadata": {
                        "name": credential.name,
                        "namespace": "system",
                        "uid": credential.uid,
                        "labels": {},
                        "annotations": {},
                        "description": "",
                        "disable": False,
                    },
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
        roles = self._parse_roles(body.get("namespace_roles"), "namespace_roles")
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

    # ------------------------------------------------------------------ dump

    def dump(self) -> dict[str, Any]:
        """Everything except tokens and key material, for ``GET /_emulator/state``."""
        with self._lock:
            mono = self._mono()
            return {
                "tenant": self.tenant,
                "namespaces": [
                    {
                        "name": ns.name,
                        "uid": ns.uid,
                        "builtin": ns.builtin,
                        "visible": mono >= ns.visible_at,
                        "deleting": ns.deleting_since is not None,
                    }
                    for ns in self._namespaces.values()
                ],
                "objects": {
                    ns: {
                        plural: [
                            {
                                "name": o.name,
                                "uid": o.uid,
                                "visible": mono >= o.visible_at,
                                "spec": copy.deepcopy(o.spec),
                            }
                            for o in objects.values()
                        ]
                        for plural, objects in by_plural.items()
                        if objects
                    }
                    for ns, by_plural in self._objects.items()
                },
                "users": [self._user_item(u) for u in self._users.values()],
                "credentials": [
                    {"kind": c.kind, **self._credential_item(c)} for c in self._credentials.values()
                ],
                "config": dataclasses.asdict(self.config),
            }


def _role_map(roles: list[dict[str, str]]) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = {}
    for role in roles:
        result.setdefault(role["namespace"], {"roles": []})["roles"].append(role["role"])
    return result


def _deleted_item(name: str, object_type: str, uid: str) -> dict[str, str]:
    return {"object_name": name, "object_type": object_type, "object_uid": uid, "error_message": ""}


__all__ = [
    "BUILTIN_NAMESPACES",
    "CREDENTIAL_KINDS",
    "DEFAULT_CALLER_EMAIL",
    "DEFAULT_TENANT",
    "REDACTED_SECRET_URL",
    "Clock",
    "CredentialInfo",
    "Identity",
    "SystemClock",
    "XCConfig",
    "XCState",
    "certificate_info",
    "decode_secret_url",
    "iter_refs",
    "kind_of",
    "ref_target_plural",
    "rfc3339",
]
