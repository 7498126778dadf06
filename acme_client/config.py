"""acme_client settings: the deployed variables (names from shared.config) plus new optional ones.

Every new setting has a default that keeps the deployed behaviour: Let's Encrypt production, the
wildcard `*.<DOMAIN>` only, the TXT at CHALLENGE_RECORD, no fallback CA. `load_config` reports every
problem at once.

The CA list is ACME_DIRECTORY_URL followed by ACME_FALLBACK_DIRECTORY_URLS, in order of preference,
each CA with its own account and, where the CA wants one, its own External Account Binding. The list
never mixes staging and production directories, so a production CA can never fall back to staging.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from shared import names
from shared.config import CERT_NAME, CHALLENGE_RECORD, CHALLENGE_ZONE_ID, DOMAIN, EMAIL, S3_BUCKET, EnvReader
from shared.secret import Secret

# New optional settings (deployed ones come from shared.config).
ACME_DIRECTORY_URL: Final = "ACME_DIRECTORY_URL"
ACME_KEY_TYPE: Final = "ACME_KEY_TYPE"
ACME_ACCOUNT_KEY_TYPE: Final = "ACME_ACCOUNT_KEY_TYPE"
ACME_INCLUDE_APEX: Final = "ACME_INCLUDE_APEX"
ACME_RENEW_FRACTION: Final = "ACME_RENEW_FRACTION"
ACME_EAB_KID: Final = "ACME_EAB_KID"
ACME_EAB_HMAC_KEY: Final = "ACME_EAB_HMAC_KEY"
ACME_DNS_SERVERS: Final = "ACME_DNS_SERVERS"
ACME_DNS_CHECK: Final = "ACME_DNS_CHECK"
ACME_DNS_TIMEOUT: Final = "ACME_DNS_TIMEOUT"
ACME_CA_BUNDLE: Final = "ACME_CA_BUNDLE"
ACME_STATE_PREFIX: Final = "ACME_STATE_PREFIX"
ACME_TXT_TTL: Final = "ACME_TXT_TTL"
ACME_PROFILE: Final = "ACME_PROFILE"
ACME_START_JITTER: Final = "ACME_START_JITTER"
ACME_SCHEDULE_HOURS: Final = "ACME_SCHEDULE_HOURS"
ACME_HTTP_TIMEOUT: Final = "ACME_HTTP_TIMEOUT"
ACME_FALLBACK_DIRECTORY_URLS: Final = "ACME_FALLBACK_DIRECTORY_URLS"
ACME_FALLBACK_EAB_KID_PREFIX: Final = "ACME_FALLBACK_EAB_KID_"  # + the fallback's position, from 1
ACME_FALLBACK_EAB_HMAC_KEY_PREFIX: Final = "ACME_FALLBACK_EAB_HMAC_KEY_"
POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"

LE_PRODUCTION: Final = "https://acme-v02.api.letsencrypt.org/directory"
LE_STAGING: Final = "https://acme-staging-v02.api.letsencrypt.org/directory"
ZEROSSL: Final = "https://acme.zerossl.com/v2/DV90"
GOOGLE: Final = "https://dv.acme-v02.api.pki.goog/directory"
GOOGLE_STAGING: Final = "https://dv.acme-v02.test-api.pki.goog/directory"
DIRECTORY_NAMES: Final = {
    "production": LE_PRODUCTION,
    "staging": LE_STAGING,
    "letsencrypt": LE_PRODUCTION,
    "letsencrypt-staging": LE_STAGING,
    "zerossl": ZEROSSL,
    "google": GOOGLE,
    "google-staging": GOOGLE_STAGING,
}
_STAGING_DIRECTORIES: Final = frozenset({LE_STAGING, GOOGLE_STAGING})
KEY_TYPES: Final = ("ec256", "ec384", "rsa2048", "rsa3072", "rsa4096")
DNS_CHECKS: Final = ("auto", "authoritative", "insync")
DEFAULT_METRICS_NAMESPACE: Final = "TenantOps"

DirectoryKind = Literal["production", "staging", "custom"]

_CERT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def directory_kind(url: str) -> DirectoryKind:
    """LE production, a staging CA (LE's or Google's test directory, or any URL naming 'staging'), or
    another CA. "custom" CAs (ZeroSSL, Google Trust Services, Pebble) count as production CAs."""
    if url == LE_PRODUCTION:
        return "production"
    if url in _STAGING_DIRECTORIES or "staging" in url.lower():
        return "staging"
    return "custom"


def is_staging(kind: DirectoryKind | None) -> bool:
    return kind == "staging"


@dataclass(frozen=True, slots=True)
class CaConfig:
    """One CA of the ordered list: its directory and, when it needs one, its EAB (key id + HMAC key)."""

    directory_url: str
    eab_kid: str | None = None
    eab_hmac_key: Secret | None = None

    @property
    def kind(self) -> DirectoryKind:
        return directory_kind(self.directory_url)


@dataclass(frozen=True, slots=True)
class DnsServer:
    """A DNS server to ask directly (`ip[:port]`)."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class AcmeConfig:
    cert_name: str
    domain: str
    bucket: str
    email: str | None
    challenge_record: str
    challenge_zone_id: str | None
    directory_url: str
    key_type: str
    account_key_type: str
    include_apex: bool
    renew_fraction: float
    eab_kid: str | None
    eab_hmac_key: Secret | None
    dns_servers: tuple[DnsServer, ...]
    dns_check: str
    dns_timeout: float
    ca_bundle: str | None
    state_prefix: str
    txt_ttl: int
    profile: str | None
    start_jitter: float
    schedule_hours: float
    http_timeout: float
    metrics_namespace: str
    fallbacks: tuple[CaConfig, ...] = ()

    @property
    def cas(self) -> tuple[CaConfig, ...]:
        """Every CA, in order of preference: ACME_DIRECTORY_URL first, then the fallbacks."""
        return (CaConfig(self.directory_url, self.eab_kid, self.eab_hmac_key), *self.fallbacks)

    @property
    def names(self) -> tuple[str, ...]:
        """The certificate's names, in CSR order: the wildcard first, then the apex when configured."""
        return (f"*.{self.domain}", self.domain) if self.include_apex else (f"*.{self.domain}",)

    @property
    def directory_kind(self) -> DirectoryKind:
        return directory_kind(self.directory_url)

    @property
    def delegation_source(self) -> str:
        """The name the CA looks up: `_acme-challenge.<DOMAIN>` (shared by wildcard and apex)."""
        return f"_acme-challenge.{self.domain}"


def parse_dns_servers(raw: str) -> tuple[DnsServer, ...]:
    """`"10.0.0.2, 127.0.0.1:5053, [::1]:53"` -> DnsServers; raises ValueError naming the bad entry."""
    servers: list[DnsServer] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        host, port = item, 53
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
            port = int(port_text)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{item!r} is not ip[:port]") from None
        if not 0 < port < 65536:
            raise ValueError(f"{item!r} has a bad port")
        servers.append(DnsServer(host, port))
    return tuple(servers)


def _directory(name: str, raw: str, problems: list[str]) -> str:
    url = DIRECTORY_NAMES.get(raw.lower(), raw)
    if not url.startswith("https://"):
        problems.append(f"{name} must be an https URL or one of {', '.join(DIRECTORY_NAMES)}, got {raw!r}")
    return url


def _eab(
    environ: Mapping[str, str], kid_name: str, key_name: str, problems: list[str]
) -> tuple[str | None, Secret | None]:
    kid = environ.get(kid_name, "").strip() or None
    raw = environ.get(key_name, "").strip()
    key = Secret(raw) if raw else None
    if (kid is None) != (key is None):
        problems.append(f"{kid_name} and {key_name} must be set together")
    if raw and not _BASE64URL.match(raw):
        problems.append(f"{key_name} must be base64url")  # never echo the value
    return kid, key


def _fallbacks(environ: Mapping[str, str], first: str, problems: list[str]) -> tuple[CaConfig, ...]:
    """ACME_FALLBACK_DIRECTORY_URLS with ACME_FALLBACK_EAB_*_<n>; the whole list is one class."""
    raw = environ.get(ACME_FALLBACK_DIRECTORY_URLS, "")
    urls = [
        _directory(ACME_FALLBACK_DIRECTORY_URLS, item, problems)
        for item in re.split(r"[,\s]+", raw.strip())
        if item
    ]
    fallbacks = []
    for position, url in enumerate(urls, start=1):
        kid, key = _eab(
            environ,
            f"{ACME_FALLBACK_EAB_KID_PREFIX}{position}",
            f"{ACME_FALLBACK_EAB_HMAC_KEY_PREFIX}{position}",
            problems,
        )
        fallbacks.append(CaConfig(url, kid, key))
    for name in environ:
        for prefix in (ACME_FALLBACK_EAB_KID_PREFIX, ACME_FALLBACK_EAB_HMAC_KEY_PREFIX):
            suffix = name[len(prefix) :] if name.startswith(prefix) else None
            if suffix is not None and not (suffix.isdigit() and 1 <= int(suffix) <= len(urls)):
                problems.append(
                    f"{name} is set but {ACME_FALLBACK_DIRECTORY_URLS} has no CA at position {suffix!r}"
                )
    every = [first, *urls]
    if len(set(every)) != len(every):
        problems.append(f"{ACME_FALLBACK_DIRECTORY_URLS} repeats a directory (ACME_DIRECTORY_URL included)")
    if urls and len({is_staging(directory_kind(url)) for url in every}) > 1:
        problems.append(
            f"{ACME_FALLBACK_DIRECTORY_URLS} mixes staging and production directories: a "
            "production CA never falls back to a staging one (nor staging to production)"
        )
    return tuple(fallbacks)


def _hostname(env: EnvReader, name: str, value: str) -> str:
    value = value.strip().rstrip(".").lower()
    env.check(name, value, names.hostname)
    return value


def load_config(environ: Mapping[str, str] | None = None) -> AcmeConfig:
    """Read and validate every setting; raises ConfigError listing all problems, each naming its variable."""
    environ = os.environ if environ is None else environ
    env = EnvReader(environ)
    cert_name = env.text(CERT_NAME)
    if cert_name and not _CERT_NAME.match(cert_name):
        env.problems.append(f"{CERT_NAME} must be letters, digits, '.', '_' or '-', got {cert_name!r}")
    domain = _hostname(env, DOMAIN, env.text(DOMAIN))
    if domain.startswith("*."):
        env.problems.append(f"{DOMAIN} must be the bare domain, without '*.'")
    bucket = env.text(S3_BUCKET)
    email = env.text(EMAIL, "") or None
    if email is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        env.problems.append(f"{EMAIL} must be an email address, got {email!r}")
    challenge_record = _hostname(env, CHALLENGE_RECORD, env.text(CHALLENGE_RECORD, ""))
    if not challenge_record and domain:
        challenge_record = f"_acme-challenge.{domain}"
    zone_id = env.text(CHALLENGE_ZONE_ID, "").split("/")[-1] or None

    directory = _directory(ACME_DIRECTORY_URL, env.text(ACME_DIRECTORY_URL, "production"), env.problems)
    fallbacks = _fallbacks(environ, directory, env.problems)
    key_type = env.choice(ACME_KEY_TYPE, "ec256", KEY_TYPES)
    account_key_type = env.choice(ACME_ACCOUNT_KEY_TYPE, "ec256", KEY_TYPES)
    include_apex = env.flag(ACME_INCLUDE_APEX, False)
    fraction = env.number(ACME_RENEW_FRACTION, 1 / 3, minimum=0.01, maximum=0.9)

    eab_kid, eab_key = _eab(environ, ACME_EAB_KID, ACME_EAB_HMAC_KEY, env.problems)

    try:
        dns_servers = parse_dns_servers(environ.get(ACME_DNS_SERVERS, ""))
    except ValueError as exc:
        env.problems.append(f"{ACME_DNS_SERVERS} must list ip[:port] entries: {exc}")
        dns_servers = ()
    dns_check = env.choice(ACME_DNS_CHECK, "auto", DNS_CHECKS)
    dns_timeout = env.number(ACME_DNS_TIMEOUT, 2.0, minimum=0.1, maximum=10.0)
    ca_bundle = env.text(ACME_CA_BUNDLE, "") or None
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        env.problems.append(f"{ACME_CA_BUNDLE} must name a readable file, got {ca_bundle!r}")
    prefix = env.text(ACME_STATE_PREFIX, "_acme/")
    if not prefix.endswith("/") or prefix.startswith("/"):
        env.problems.append(f"{ACME_STATE_PREFIX} must be a relative prefix ending in '/', got {prefix!r}")
    elif cert_name and (prefix == f"{cert_name}/" or prefix.startswith(f"{cert_name}/")):
        env.problems.append(f"{ACME_STATE_PREFIX} must be outside {cert_name}/ (it triggers cert_mgmt)")
    txt_ttl = env.integer(ACME_TXT_TTL, 10, minimum=1, maximum=3600)
    profile = env.text(ACME_PROFILE, "") or None
    jitter = env.number(ACME_START_JITTER, 3.0, minimum=0.0, maximum=30.0)
    schedule_hours = env.number(ACME_SCHEDULE_HOURS, 24.0, minimum=0.1, maximum=24 * 14)
    http_timeout = env.number(ACME_HTTP_TIMEOUT, 10.0, minimum=1.0, maximum=45.0)
    namespace = env.text(POWERTOOLS_METRICS_NAMESPACE, DEFAULT_METRICS_NAMESPACE)
    env.done()
    return AcmeConfig(
        cert_name=cert_name,
        domain=domain,
        bucket=bucket,
        email=email,
        challenge_record=challenge_record,
        challenge_zone_id=zone_id,
        directory_url=directory,
        key_type=key_type,
        account_key_type=account_key_type,
        include_apex=include_apex,
        renew_fraction=fraction,
        eab_kid=eab_kid,
        eab_hmac_key=eab_key,
        dns_servers=dns_servers,
        dns_check=dns_check,
        dns_timeout=dns_timeout,
        ca_bundle=ca_bundle,
        state_prefix=prefix,
        txt_ttl=txt_ttl,
        profile=profile,
        start_jitter=jitter,
        schedule_hours=schedule_hours,
        http_timeout=http_timeout,
        metrics_namespace=namespace,
        fallbacks=fallbacks,
    )
