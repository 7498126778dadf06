"""Keys, certificates and chains: pure functions over `cryptography` objects."""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from shared.certinfo import spki

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_STAGING_MARKERS = ("(STAGING)", "Fake LE")


def generate_key(key_type: str) -> PrivateKey:
    """A new private key of `key_type` (ec256, ec384, rsa2048, rsa3072, rsa4096)."""
    if key_type == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    raise ValueError(f"unsupported key type {key_type!r}")


def key_to_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_key(pem: bytes) -> PrivateKey:
    """Parse a PEM private key; raises ValueError for anything but an EC or RSA key."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    return key


def key_type_of(public_key: Any) -> str | None:
    """The configured-name form of a public key's type, or None for types we never issue."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ec256", "secp384r1": "ec384"}.get(public_key.curve.name)
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"rsa{public_key.key_size}" if public_key.key_size in (2048, 3072, 4096) else None
    return None


def load_chain(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in file order; raises ValueError if there is none."""
    certs = x509.load_pem_x509_certificates(pem)
    if not certs:
        raise ValueError("no certificate in PEM")
    return certs


def dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The certificate's SAN DNS names, lowercased, in certificate order."""
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(name.lower() for name in san.get_values_for_type(x509.DNSName))  # type: ignore[attr-defined]


class LeafFirst:
    """The leaf's facts for a class that holds a `chain`, leaf first (a stored or an issued pair)."""

    __slots__ = ()
    chain: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def names(self) -> tuple[str, ...]:
        return dns_names(self.leaf)

    @property
    def serial(self) -> str:
        return format(self.leaf.serial_number, "x")


def same_public_key(key: PrivateKey, cert: x509.Certificate) -> bool:
    return spki(key.public_key()) == spki(cert.public_key())


def chain_problem(chain: Sequence[x509.Certificate]) -> str | None:
    """None when each certificate is signed by the next (leaf first); otherwise what is wrong.

    Validated by signatures only: intermediates are neither pinned nor counted (docs/acme.md §11).
    """
    if len(chain) < 2:
        return "chain has no issuer certificate after the leaf"
    for index, (child, parent) in enumerate(zip(chain, chain[1:], strict=False)):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature) as exc:
            reason = str(exc) or type(exc).__name__
            return f"certificate {index} is not signed by certificate {index + 1}: {reason}"
    return None


def issuer_text(cert: x509.Certificate) -> str:
    return cert.issuer.rfc4514_string()


def is_staging_issuer(cert: x509.Certificate) -> bool:
    """True for certificates from a staging hierarchy ('(STAGING) ...', the older 'Fake LE ...')."""
    parts = [attr.value for attr in cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    parts += [attr.value for attr in cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return any(isinstance(p, str) and any(marker in p for marker in _STAGING_MARKERS) for p in parts)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def public_key_fingerprint(key: PrivateKey) -> str:
    return hashlib.sha256(spki(key.public_key())).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def ari_cert_id(cert: x509.Certificate) -> str | None:
    """RFC 9773 certID: base64url(AKI keyIdentifier) "." base64url(serial DER content), unpadded.

    None when the certificate has no Authority Key Identifier (then ARI cannot be asked).
    """
    try:
        aki = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    except x509.ExtensionNotFound:
        return None
    key_id = aki.key_identifier  # type: ignore[attr-defined]
    if not key_id:
        return None
    serial = cert.serial_number
    # DER INTEGER content: big-endian two's complement, with room for the sign bit.
    serial_bytes = serial.to_bytes(max(1, math.ceil((serial.bit_length() + 1) / 8)), "big", signed=True)
    return f"{_b64url(key_id)}.{_b64url(serial_bytes)}"
