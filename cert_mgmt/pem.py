"""Checking a certificate pair before it goes anywhere near the tenant.

Nothing here logs, and no error message carries key material: a key that does not parse is
reported by file name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from cert_mgmt.errors import (
    CertificateExpiredError,
    ChainOrderError,
    InvalidCertificateError,
    KeyMismatchError,
)
from shared.certinfo import key_algorithm, name_attribute, spki
from shared.certpair import CHAIN_FILE, KEY_FILE
from shared.secret import Secret

_PRIVATE_KEY_MARK: Final = b"PRIVATE KEY-----"
_CERT_MARK: Final = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True, slots=True)
class LeafInfo:
    """What XC's `spec.infos[]` can be compared with (it shows no serial or fingerprint)."""

    common_name: str
    names: tuple[str, ...]  # subjectAltName DNS names and IP addresses, sorted
    issuer: str  # RFC 4514
    issuer_common_name: str
    not_after: datetime
    key_algorithm: str  # RSA, ECDSA, Ed25519, Ed448, DSA


@dataclass(frozen=True, slots=True)
class CertificatePair:
    """A validated pair: the chain as uploaded, the key wrapped as a Secret, and the leaf's facts."""

    name: str
    chain_pem: bytes
    key_pem: Secret
    leaf: LeafInfo
    chain_length: int


def validate_pair(name: str, chain_pem: bytes, key_pem: bytes, *, now: datetime) -> CertificatePair:
    """Check that both files parse, the chain is leaf first (each certificate signed by the next)
    and holds at least the leaf's issuer, the leaf has not expired and the key belongs to the leaf.

    Raises InvalidCertificateError (bad PEM, a private key inside fullchain.pem), ChainOrderError,
    CertificateExpiredError, or KeyMismatchError (retryable: one half of a renewal is not written yet).
    """
    certs = _load_chain(chain_pem)
    key = _load_key(key_pem)
    if len(certs) < 2:
        raise ChainOrderError(
            CHAIN_FILE,
            (
                f"holds only the leaf certificate ({_subject(certs[0])}); its issuer "
                f"({certs[0].issuer.rfc4514_string() or 'empty issuer'}) must follow it"
            ),
        )
    for index in range(len(certs) - 1):
        child, parent = certs[index], certs[index + 1]
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
            raise ChainOrderError(
                CHAIN_FILE,
                (
                    "the chain must be leaf first, each certificate signed by the next, but certificate "
                    f"{index} ({_subject(child)}) is not issued by "
                    f"certificate {index + 1} ({_subject(parent)})"
                ),
            ) from exc
    leaf = certs[0]
    leaf_info = describe(leaf)
    if leaf_info.not_after <= now:
        raise CertificateExpiredError(
            CHAIN_FILE,
            (f"the leaf certificate ({_subject(leaf)}) expired at {leaf_info.not_after.isoformat()}"),
        )
    if spki(key.public_key()) != spki(leaf.public_key()):
        raise KeyMismatchError(
            f"{KEY_FILE} does not belong to the leaf of {CHAIN_FILE} ({_subject(leaf)}, notAfter "
            f"{leaf_info.not_after.isoformat()}): a renewal is probably half written; retry later"
        )
    return CertificatePair(
        name=name,
        chain_pem=chain_pem,
        key_pem=Secret(key_pem.decode("ascii")),
        leaf=leaf_info,
        chain_length=len(certs),
    )


def describe(cert: x509.Certificate) -> LeafInfo:
    """The facts of a certificate that XC's `infos[]` reports too."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [
            *san.get_values_for_type(x509.DNSName),
            *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        ]
    except x509.ExtensionNotFound:
        names = []
    return LeafInfo(
        common_name=name_attribute(cert.subject, NameOID.COMMON_NAME),
        names=tuple(sorted(set(names))),
        issuer=cert.issuer.rfc4514_string(),
        issuer_common_name=name_attribute(cert.issuer, NameOID.COMMON_NAME),
        not_after=cert.not_valid_after_utc,
        key_algorithm=key_algorithm(cert.public_key()),
    )


def _load_chain(data: bytes) -> list[x509.Certificate]:
    if _PRIVATE_KEY_MARK in data:
        # It would be uploaded as the public certificate: refuse without quoting anything.
        raise InvalidCertificateError(CHAIN_FILE, "holds a private key; it must hold certificates only")
    if _CERT_MARK not in data:
        raise InvalidCertificateError(CHAIN_FILE, "holds no PEM certificate")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InvalidCertificateError(CHAIN_FILE, f"is not a valid PEM certificate chain ({exc})") from None
    if not certs:
        raise InvalidCertificateError(CHAIN_FILE, "holds no PEM certificate")
    return certs


def _load_key(data: bytes) -> Any:
    # `from None` throughout: a chained parser error must not drag key bytes into a traceback.
    if b"-----BEGIN" not in data or _PRIVATE_KEY_MARK not in data:
        raise InvalidCertificateError(KEY_FILE, "holds no PEM private key")
    try:
        data.decode("ascii")
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InvalidCertificateError(
            KEY_FILE, "holds an encrypted private key; it must be unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidCertificateError(KEY_FILE, "is not a valid unencrypted PEM private key") from None


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "empty subject"
