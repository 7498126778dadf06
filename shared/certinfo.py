"""Facts read from an X.509 certificate and its key, as XC's certificate `spec.infos[]` reports them.

Used by cert_mgmt, which compares a pair with what the tenant holds, and by acme_client. Needs
`cryptography`: import it only where the worker ships it. (devstack's XC computes `infos[]` with its own
code, from the API reference, so that the emulator does not share a mistake with the worker it checks.)
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def name_attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    """The first value of `oid` in `name` (a subject or issuer), or "" when it has none."""
    values = name.get_attributes_for_oid(oid)
    if not values:
        return ""
    value = values[0].value
    return value if isinstance(value, str) else value.decode(errors="replace")


def key_algorithm(key: PublicKeyTypes) -> str:
    """XC's name for the key's algorithm: RSA, ECDSA, Ed25519, Ed448 or DSA (else the class name)."""
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


def spki(key: PublicKeyTypes) -> bytes:
    """The DER SubjectPublicKeyInfo: equal for a private key's public half and its certificate's key."""
    return bytes(
        key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
