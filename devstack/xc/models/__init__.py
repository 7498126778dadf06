"""State and rules of the fake XC tenant, with no HTTP: one module per family, as moto splits a service.

- ``base``: the clock, ``XCConfig``, the lock and the helpers every family uses;
- ``namespaces``, ``objects`` (with ``certificates``), ``users``, ``credentials`` (and tokens): one
  mixin each, holding that family's records and rules;
- ``state``: ``XCState``, the mixins put together, with what spans them (``whoami``, ``dump``).

Everything that was importable from ``devstack.xc.models`` still is, from here.
"""

from __future__ import annotations

from devstack.xc.models.base import (
    DEFAULT_CALLER_EMAIL,
    DEFAULT_TENANT,
    Clock,
    SystemClock,
    XCConfig,
    is_dns1035_label,
    kind_of,
    rfc3339,
)
from devstack.xc.models.certificates import (
    CERTIFICATE_READ_ONLY_FIELDS,
    REDACTED_SECRET_URL,
    SECRET_FIELD_MAX_BYTES,
    SECRET_URL_PREFIX,
    certificate_info,
    decode_secret_url,
    parse_certificate_spec,
)
from devstack.xc.models.credentials import (
    CREDENTIAL_KINDS,
    CREDENTIAL_TYPES,
    DEFAULT_EXPIRATION_DAYS,
    SERVICE_CREDENTIAL_ONE_OF,
    TOKEN_CREDENTIAL_TYPES,
    CredentialInfo,
    Identity,
)
from devstack.xc.models.namespaces import BUILTIN_NAMESPACES
from devstack.xc.models.objects import iter_refs, ref_target_plural
from devstack.xc.models.state import XCState
from devstack.xc.models.users import USER_IDM_TYPES, USER_TYPES

__all__ = [
    "BUILTIN_NAMESPACES",
    "CERTIFICATE_READ_ONLY_FIELDS",
    "CREDENTIAL_KINDS",
    "CREDENTIAL_TYPES",
    "DEFAULT_CALLER_EMAIL",
    "DEFAULT_EXPIRATION_DAYS",
    "DEFAULT_TENANT",
    "REDACTED_SECRET_URL",
    "SECRET_FIELD_MAX_BYTES",
    "SECRET_URL_PREFIX",
    "SERVICE_CREDENTIAL_ONE_OF",
    "TOKEN_CREDENTIAL_TYPES",
    "USER_IDM_TYPES",
    "USER_TYPES",
    "Clock",
    "CredentialInfo",
    "Identity",
    "SystemClock",
    "XCConfig",
    "XCState",
    "certificate_info",
    "decode_secret_url",
    "is_dns1035_label",
    "iter_refs",
    "kind_of",
    "parse_certificate_spec",
    "ref_target_plural",
    "rfc3339",
]
