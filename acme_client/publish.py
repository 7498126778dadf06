"""Validate an issued certificate, then publish it so cert_mgmt never pairs mismatched objects.

Order of writes (docs/acme.md §12): `privkey.pem` first, `fullchain.pem` last (each write fires cert_mgmt;
the last one always finds a matching pair), then the metadata object outside `<CERT_NAME>/`. Nothing
is written unless every check passes; if the chain write fails, the previous key is put back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509

from acme_client import certs
from acme_client.config import DirectoryKind, directory_kind, is_staging
from acme_client.decide import StoredCert
from acme_client.errors import PublishError, StagingRefusedError, StoreError
from acme_client.store import CertStore
from shared.secret import Secret

log = logging.getLogger(__name__)

PEM_TYPE: Final = "application/x-pem-file"
CLOCK_SKEW: Final = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ValidatedCert(certs.LeafFirst):
    chain: tuple[x509.Certificate, ...]
    fullchain_pem: bytes
    key_pem: Secret

    def __repr__(self) -> str:
        return f"ValidatedCert(serial={self.serial!r}, names={self.names!r})"


def validate(
    fullchain_pem: bytes, key_pem: Secret, *, names: Sequence[str], now: dt.datetime, kind: DirectoryKind
) -> ValidatedCert:
    """Check the chain parses leaf first and verifies by signatures, the key matches the leaf, the names
    equal the configured set, the dates hold and a production CA did not hand out a staging chain.
    Raises PublishError listing every problem (never the key)."""
    try:
        chain = tuple(certs.load_chain(fullchain_pem))
    except ValueError as exc:
        raise PublishError(f"issued chain is not PEM certificates: {exc}") from None
    try:
        key = certs.load_key(key_pem.reveal().encode())
    except (ValueError, TypeError) as exc:
        raise PublishError(f"new private key unreadable: {type(exc).__name__}") from None
    leaf = chain[0]
    problems: list[str] = []
    if not certs.same_public_key(key, leaf):
        problems.append("private key does not match the leaf certificate")
    got = sorted(certs.dns_names(leaf))
    if got != sorted(n.lower() for n in names):
        problems.append(f"leaf names {got} differ from the configured {sorted(names)}")
    chain_issue = certs.chain_problem(chain)
    if chain_issue:
        problems.append(chain_issue)
    if leaf.not_valid_after_utc <= now:
        problems.append(f"leaf already expired at {leaf.not_valid_after_utc.isoformat()}")
    if leaf.not_valid_before_utc > now + CLOCK_SKEW:
        problems.append(f"leaf not valid before {leaf.not_valid_before_utc.isoformat()}")
    if not is_staging(kind) and certs.is_staging_issuer(leaf):
        problems.append(f"staging issuer {certs.issuer_text(leaf)} from a production directory")
    if problems:
        raise PublishError("issued certificate rejected: " + "; ".join(problems))
    return ValidatedCert(chain, fullchain_pem, key_pem)


def refuse_staging_over_production(
    stored: StoredCert | None, stored_kind: DirectoryKind | None, kind: DirectoryKind, now: dt.datetime
) -> None:
    """Raise StagingRefusedError when a staging directory would replace a valid production certificate."""
    if not is_staging(kind) or stored is None or not stored.usable(now):
        return
    if is_staging(stored_kind) or (stored_kind is None and certs.is_staging_issuer(stored.leaf)):
        return
    raise StagingRefusedError(
        f"refusing to replace a valid production certificate (serial {stored.serial}, expires "
        f"{stored.not_after.isoformat()}) with one from a staging directory; set ACME_DIRECTORY_URL "
        "to production or remove the stored certificate"
    )


def metadata_for(
    cert: ValidatedCert,
    *,
    cert_name: str,
    directory_url: str,
    now: dt.datetime,
    replaced: str | None,
    order_url: str | None,
    ca_position: int = 0,
) -> dict[str, Any]:
    """What is known about the published certificate; `directory` says which CA issued it and
    `ca_position` where that CA stands in the configured list (0 = ACME_DIRECTORY_URL)."""
    leaf = cert.leaf
    return {
        "version": 1,
        "cert_name": cert_name,
        "names": list(cert.names),
        "serial": cert.serial,
        "not_before": leaf.not_valid_before_utc.isoformat(),
        "not_after": leaf.not_valid_after_utc.isoformat(),
        "fingerprint_sha256": certs.fingerprint(leaf),
        "public_key_sha256": certs.public_key_fingerprint(certs.load_key(cert.key_pem.reveal().encode())),
        "key_type": certs.key_type_of(leaf.public_key()),
        "issuer": certs.issuer_text(leaf),
        "ari_cert_id": certs.ari_cert_id(leaf),
        "directory": directory_url,
        "directory_kind": directory_kind(directory_url),
        "ca_position": ca_position,
        "issued_at": now.isoformat(),
        "replaces": replaced,
        "order": order_url,
    }


def publish(
    store: CertStore, cert: ValidatedCert, metadata: dict[str, Any], *, previous_key_pem: bytes | None
) -> None:
    """Write privkey.pem, then fullchain.pem, then the metadata. If the chain write fails, the previous
    key is written back so the published pair stays a pair."""
    store.write(store.privkey_key, cert.key_pem.reveal().encode(), PEM_TYPE)
    try:
        store.write(store.fullchain_key, cert.fullchain_pem, PEM_TYPE)
    except StoreError:
        if previous_key_pem is not None:
            try:
                store.write(store.privkey_key, previous_key_pem, PEM_TYPE)
                log.error("chain write failed; previous private key restored")
            except StoreError:
                log.exception("chain write failed and the previous private key could not be restored")
        raise
    log.info(
        "certificate published",
        extra={
            "serial": cert.serial,
            "names": list(cert.names),
            "bucket": store.bucket,
            "prefix": f"{store.cert_name}/",
        },
    )
    try:
        store.write_json(store.metadata_key, metadata)
    except StoreError:  # the pair is out; the metadata is advisory
        log.warning("certificate metadata not written", extra={"key": store.metadata_key})
