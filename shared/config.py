"""Environment and SSM configuration.

Deployed environment variable names are constants here. `EnvReader` collects every problem and
raises one `ConfigError` listing them all. Tenant settings come from SSM Parameter Store under a
base path (`/tenantOps[-env]/<tenant>`): one GetParameters call for the names not in the cache, each
value cached for 300 s (as Powertools Parameters did; its package import loads every provider, and a
cold start paid for it, bench/RESULTS.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from shared import aws
from shared.errors import ConfigError, InputError, RetryableError
from shared.secret import Secret

# Environment variables of the deployed functions (docs/deployment.md §2).
SSM_BASE_PATH: Final = "SSM_BASE_PATH"
S3_BUCKET: Final = "S3_BUCKET"
CERT_NAME: Final = "CERT_NAME"
DOMAIN: Final = "DOMAIN"
EMAIL: Final = "EMAIL"
CHALLENGE_RECORD: Final = "CHALLENGE_RECORD"
CHALLENGE_ZONE_ID: Final = "CHALLENGE_ZONE_ID"
DEPLOYMENT_STATE_TABLE: Final = "DEPLOYMENT_STATE_TABLE"
LAB_CONFIGURATION_TABLE: Final = "LAB_CONFIGURATION_TABLE"
USER_CREATE_LAMBDA_FUNCTION: Final = "USER_CREATE_LAMBDA_FUNCTION"
USER_REMOVE_LAMBDA_FUNCTION: Final = "USER_REMOVE_LAMBDA_FUNCTION"
NS_CREATE_LAMBDA_FUNCTION: Final = "NS_CREATE_LAMBDA_FUNCTION"
NS_REMOVE_LAMBDA_FUNCTION: Final = "NS_REMOVE_LAMBDA_FUNCTION"
ENV: Final = "ENV"
UDF_QUEUE: Final = "UDF_QUEUE"

# SSM parameter names under a tenant's base path (docs/deployment.md §3).
PARAM_TENANT_URL: Final = "tenant-url"
PARAM_TOKEN_VALUE: Final = "token-value"
PARAM_TOKEN_NAME: Final = "token-name"
PARAM_TOKEN_TYPE: Final = "token-type"
PARAM_IDM_TYPE: Final = "idm-type"

SSM_CACHE_SECONDS: Final = 300
# GetParameters takes at most ten names per call.
_SSM_BATCH: Final = 10
_SSM_PATH = re.compile(r"^(/[A-Za-z0-9_.\-]+)+$")

_N = TypeVar("_N", int, float)


class EnvReader:
    """Reads typed settings from an environment mapping, collecting problems instead of failing early.

    Methods: text, integer, number, flag, choice, check; then done().
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str:
        value = self._env.get(name, "").strip()
        if value:
            return value
        if default is None:
            self.problems.append(f"{name} is required and not set")
            return ""
        return default

    def integer(
        self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        return self._parsed(name, default, int, "an integer", minimum, maximum)

    def number(
        self, name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        return self._parsed(name, default, float, "a number", minimum, maximum)

    def flag(self, name: str, default: bool) -> bool:
        raw = self._env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{name} must be true or false, got {raw!r}")
        return default

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        value = self._env.get(name, "").strip() or default
        if value not in choices:
            self.problems.append(f"{name} must be one of {', '.join(choices)}, got {value!r}")
            return default
        return value

    def check(self, name: str, value: str | None, validate: Callable[[str, str], object]) -> None:
        """Run a validator that raises InputError (`ssm_base_path`, `names.dns_label`) on a value read
        earlier, when it is set; its message becomes a problem."""
        if not value:
            return
        try:
            validate(name, value)
        except InputError as exc:
            self.problems.append(f"{name} {exc.reason}")

    def _parsed(
        self,
        name: str,
        default: _N,
        parse: Callable[[str], _N],
        kind: str,
        minimum: _N | None,
        maximum: _N | None,
    ) -> _N:
        """The value `parse` reads from `name`, or `default` when unset, unreadable or out of bounds."""
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = parse(raw)
        except ValueError:
            self.problems.append(f"{name} must be {kind}, got {raw!r}")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.problems.append(f"{name} must be between {minimum} and {maximum}, got {value}")
            return default
        return value

    def done(self) -> None:
        """Raise one ConfigError listing every problem seen, if any."""
        if self.problems:
            raise ConfigError(self.problems)


def ssm_base_path(field_name: str, value: Any) -> str:
    """Validate an SSM base path such as `/tenantOps-dev/sec-lab`."""
    if not isinstance(value, str) or not _SSM_PATH.match(value):
        raise InputError(field_name, f"must be an SSM path like '/tenantOps/sec-lab', got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Tenant:
    """An XC tenant's settings from SSM: its URL, API token and any further parameters asked for."""

    base_path: str
    url: str
    token: Secret
    params: Mapping[str, str] = field(default_factory=dict)


_clock: Callable[[], float] = time.monotonic  # the cache's clock (tests move it)


def _cache() -> dict[tuple[str, bool], tuple[float, str]]:
    """(path, decrypted) -> (expiry on the monotonic clock, value); `aws.reset()` forgets it."""
    cache: dict[tuple[str, bool], tuple[float, str]] = aws.memo("ssm_cache", dict)
    return cache


def _read(base_path: str, names: Sequence[str], *, decrypt: bool, force_fetch: bool) -> dict[str, str]:
    """Parameters `names` under `base_path`, by bare name, from the cache or one GetParameters call.
    Raises ConfigError naming every missing path, RetryableError when SSM itself fails (throttling
    after the SDK's retries, an outage)."""
    paths = {f"{base_path}/{name}": name for name in names}
    cache = _cache()
    now = _clock()
    values: dict[str, str] = {}
    for path in paths:
        cached = None if force_fetch else cache.get((path, decrypt))
        if cached is not None and cached[0] > now:
            values[path] = cached[1]
    wanted = [path for path in paths if path not in values]
    missing: list[str] = []
    if wanted:
        from botocore.exceptions import BotoCoreError, ClientError

        ssm = aws.client("ssm")
        for start in range(0, len(wanted), _SSM_BATCH):
            try:
                answer = ssm.get_parameters(Names=wanted[start : start + _SSM_BATCH], WithDecryption=decrypt)
            except (BotoCoreError, ClientError) as exc:
                raise RetryableError(f"reading SSM parameters under {base_path} failed: {exc}") from exc
            for parameter in answer.get("Parameters", []):
                path, value = parameter["Name"], str(parameter["Value"])
                if path in paths:
                    values[path] = value
                    cache[(path, decrypt)] = (now + SSM_CACHE_SECONDS, value)
            missing += answer.get("InvalidParameters", [])
    missing += [path for path in wanted if path not in values and path not in missing]
    if missing:
        raise ConfigError(f"SSM parameter {path} not found" for path in sorted(missing))
    return {paths[path]: value for path, value in values.items()}


_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def _url(base_path: str, raw: str) -> str:
    """The tenant URL: https, so the token never travels in clear text. Plain http is accepted for a
    loopback host only (the local stack's emulator)."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS
    if not parts.netloc or not (parts.scheme == "https" or loopback):
        raise ConfigError(
            [
                f"SSM parameter {base_path}/{PARAM_TENANT_URL} must be an https URL (http only "
                f"for a loopback host), got {url[:120]!r}"
            ]
        )
    return url


def load_tenant_url(base_path: str) -> str:
    """Only `tenant-url` under `base_path` (for callers that must not hold the token)."""
    return _url(
        base_path, _read(base_path, [PARAM_TENANT_URL], decrypt=False, force_fetch=False)[PARAM_TENANT_URL]
    )


def load_tenant(base_path: str, extra: Sequence[str] = (), *, force_fetch: bool = False) -> Tenant:
    """Read `tenant-url`, `token-value` (decrypted) and `extra` names under `base_path`.

    Raises ConfigError naming the full path of every missing parameter, or a bad tenant URL;
    RetryableError when SSM fails. `force_fetch` bypasses the 300 s cache (after a 401, or to see a
    rotated token).
    """
    by_name = _read(
        base_path, [PARAM_TENANT_URL, PARAM_TOKEN_VALUE, *extra], decrypt=True, force_fetch=force_fetch
    )
    url = _url(base_path, by_name.pop(PARAM_TENANT_URL))
    token = Secret(by_name.pop(PARAM_TOKEN_VALUE).strip())
    if not token:
        raise ConfigError([f"SSM parameter {base_path}/{PARAM_TOKEN_VALUE} is empty"])
    if any(c.isspace() or not c.isprintable() for c in token.reveal()):
        # It could never be sent in a header; say so without quoting it.
        raise ConfigError(
            [
                f"SSM parameter {base_path}/{PARAM_TOKEN_VALUE} holds whitespace or control "
                "characters; an API token is one line of printable characters"
            ]
        )
    return Tenant(base_path=base_path, url=url, token=token, params=by_name)
