"""Certificate rules (docs/xc-api.md §7.4): secret URLs, PEM parsing, ``spec.infos[]``, redaction.

Pure functions; ``ObjectsMixin`` calls ``prepare_certificate_spec`` for every certificate write.
"""

from __future__ import annotations

import base64
import binascii
import copy
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from devstack.xc.errors import InvalidArgumentError
from devstack.xc.models.base import _require_dict, rfc3339

SECRET_URL_PREFIX = "string:///"
SECRET_FIELD_MAX_BYTES = 131072
REDACTED_SECRET_URL = "string:///<redacted>"
# Read-only certificate fields the server computes; client copies are dropped on write.
CERTIFICATE_READ_ONLY_FIELDS: tuple[str, ...] = ("infos", "http_loadbalancers", "tcp_loadbalancers")


@dataclass(slots=True)
class _CertificateMaterial:
    chain_pem: bytes
    key_pem: bytes | None
    infos: list[dict[str, Any]]


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


def prepare_certificate_spec(
    spec: dict[str, Any], *, check_key_match: bool
) -> tuple[dict[str, Any], _CertificateMaterial]:
    """The spec to store (key material redacted, ``infos`` computed) and the decoded material."""
    material = parse_certificate_spec(spec, check_key_match=check_key_match)
    return _redacted_certificate_spec(spec, material.infos), material
