"""token_refresh settings: the deployed `SSM_BASE_PATH` plus optional renewal tuning, and the
credential named by the tenant's SSM parameters."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from shared.config import (
    PARAM_TOKEN_NAME,
    PARAM_TOKEN_TYPE,
    PARAM_TOKEN_VALUE,
    SSM_BASE_PATH,
    EnvReader,
    Tenant,
    ssm_base_path,
)
from shared.errors import ConfigError
from shared.xc.credentials import KIND_BY_TOKEN_TYPE, Kind
from token_refresh.models import RenewalPolicy

# New optional environment variables (safe defaults keep the deployed behaviour: renew to 7 days).
TOKEN_RENEW_THRESHOLD_DAYS: Final = "TOKEN_RENEW_THRESHOLD_DAYS"
TOKEN_EXPIRATION_DAYS: Final = "TOKEN_EXPIRATION_DAYS"
# Read by Powertools Metrics itself too; named here so the default is ours.
POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"

DEFAULT_THRESHOLD_DAYS: Final = 6.0
DEFAULT_EXPIRATION_DAYS: Final = 7
DEFAULT_METRICS_NAMESPACE: Final = "TenantOps"
MAX_EXPIRATION_DAYS: Final = 365

# Credential names as XC returns them: `tenant-operations-abcdefgh`, `api-cred-<uuid>`.
_CREDENTIAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Config:
    ssm_base_path: str
    renewal: RenewalPolicy
    metrics_namespace: str


@dataclass(frozen=True, slots=True)
class Credential:
    """The credential to keep alive, as named by `<base>/token-name` and `<base>/token-type`."""

    base_path: str
    name: str
    token_type: str
    kind: Kind

    @property
    def name_parameter(self) -> str:
        return f"{self.base_path}/{PARAM_TOKEN_NAME}"

    @property
    def value_parameter(self) -> str:
        return f"{self.base_path}/{PARAM_TOKEN_VALUE}"


def load_config(environ: Mapping[str, str]) -> Config:
    """Read and check every setting; raise one ConfigError listing all problems."""
    env = EnvReader(environ)
    base = env.text(SSM_BASE_PATH)
    env.check(SSM_BASE_PATH, base, ssm_base_path)
    threshold = env.number(
        TOKEN_RENEW_THRESHOLD_DAYS, DEFAULT_THRESHOLD_DAYS, minimum=0, maximum=MAX_EXPIRATION_DAYS
    )
    days = env.integer(TOKEN_EXPIRATION_DAYS, DEFAULT_EXPIRATION_DAYS, minimum=1, maximum=MAX_EXPIRATION_DAYS)
    if threshold >= days:
        env.problems.append(
            f"{TOKEN_RENEW_THRESHOLD_DAYS} ({threshold:g}) must be less than {TOKEN_EXPIRATION_DAYS} "
            f"({days}): otherwise every run would renew"
        )
    namespace = env.text(POWERTOOLS_METRICS_NAMESPACE, DEFAULT_METRICS_NAMESPACE)
    env.done()
    return Config(
        ssm_base_path=base,
        renewal=RenewalPolicy(threshold_days=threshold, expiration_days=days),
        metrics_namespace=namespace,
    )


def credential_from(tenant: Tenant) -> Credential:
    """The credential named in the tenant's SSM parameters; ConfigError naming each bad parameter path."""
    problems: list[str] = []
    name_path = f"{tenant.base_path}/{PARAM_TOKEN_NAME}"
    type_path = f"{tenant.base_path}/{PARAM_TOKEN_TYPE}"
    name = tenant.params.get(PARAM_TOKEN_NAME, "").strip()
    if not name:
        problems.append(f"SSM parameter {name_path} is empty")
    elif not _CREDENTIAL_NAME.match(name):
        problems.append(
            f"SSM parameter {name_path} must be an XC credential name "
            f"(letters, digits, '.', '_', '-'), got {name[:80]!r}"
        )
    token_type = tenant.params.get(PARAM_TOKEN_TYPE, "").strip()
    kind = KIND_BY_TOKEN_TYPE.get(token_type)
    if kind is None:
        problems.append(
            f"SSM parameter {type_path} must be one of {', '.join(KIND_BY_TOKEN_TYPE)}, "
            f"got {token_type[:80]!r}"
        )
    if problems or kind is None:
        raise ConfigError(problems)
    return Credential(base_path=tenant.base_path, name=name, token_type=token_type, kind=kind)


def tenant_label(url: str) -> str:
    """A short tenant name for logs and metric dimensions: the first label of the tenant URL's host."""
    host = urlsplit(url).hostname or url
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.split(".", 1)[0]
    return host
