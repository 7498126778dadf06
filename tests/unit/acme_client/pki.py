"""A tiny local PKI for acme_client's unit tests: a root, an intermediate and leaves of any lifetime."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def pem_key(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


@dataclass
class Pki:
    root_key: Any
    root: x509.Certificate
    inter_key: Any
    inter: x509.Certificate

    @classmethod
    def create(cls, org: str = "Test CA") -> Pki:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(f"{org} Root", org)
        root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(1)
            .not_valid_before(NOW - dt.timedelta(days=3650))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        inter_key = ec.generate_private_key(ec.SECP256R1())
        inter = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{org} Intermediate", org))
            .issuer_name(root_name)
            .public_key(inter_key.public_key())
            .serial_number(2)
            .not_valid_before(NOW - dt.timedelta(days=3650))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(inter_key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
            )
            .sign(root_key, hashes.SHA256())
        )
        return cls(root_key, root, inter_key, inter)

    def leaf(
        self,
        names: list[str],
        key: Any = None,
        *,
        not_before: dt.datetime = NOW - dt.timedelta(days=1),
        days: float = 90,
        serial: int = 0x1234ABCD,
    ) -> tuple[x509.Certificate, Any]:
        key = key or ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.inter.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_before + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.inter_key.public_key()),
                critical=False,
            )
            .sign(self.inter_key, hashes.SHA256())
        )
        return cert, key

    def sign_csr(
        self, csr: x509.CertificateSigningRequest, *, not_before: dt.datetime, days: float, serial: int
    ) -> x509.Certificate:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.inter.subject)
            .public_key(csr.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_before + dt.timedelta(days=days))
            .add_extension(san, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.inter_key.public_key()),
                critical=False,
            )
            .sign(self.inter_key, hashes.SHA256())
        )

    def fullchain(self, leaf: x509.Certificate) -> bytes:
        return pem_cert(leaf) + pem_cert(self.inter)


def rsa_key(bits: int = 2048) -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)
