"""A tiny PKI for cert_mgmt tests: a root CA, an intermediate, and leaf certificates issued by it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

CERT_NAME = "lab-sec-wildcard"
NAMES = ("*.lab-sec.example.com", "lab-sec.example.com")


def _name(cn: str, org: str = "Test PKI") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


def _key(key_type: str) -> Any:
    if key_type == "rsa":
        return rsa.generate_private_key(65537, 2048)
    return ec.generate_private_key(ec.SECP256R1())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Any, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


@dataclass(frozen=True)
class Authority:
    cert: x509.Certificate
    key: Any

    @property
    def pem(self) -> bytes:
        return _pem(self.cert)


@dataclass(frozen=True)
class Issued:
    leaf: x509.Certificate
    key: Any
    chain: tuple[x509.Certificate, ...]  # leaf first, then the intermediates

    @property
    def chain_pem(self) -> bytes:
        return b"".join(_pem(c) for c in self.chain)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)


def _build(subject: x509.Name, issuer: x509.Name, public_key: Any, signer: Any, *, ca: bool,
           not_before: dt.datetime, not_after: dt.datetime, names: tuple[str, ...] = ()) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                        critical=False)
    return builder.sign(signer, hashes.SHA256())


class TinyPKI:
    """Root -> intermediate -> leaves. `issue()` returns a leaf with its chain (leaf, intermediate)."""

    def __init__(self, name: str = "Test") -> None:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        root_key = _key("ec")
        root_name = _name(f"{name} Root CA")
        self.root = Authority(_build(root_name, root_name, root_key.public_key(), root_key, ca=True,
                                     not_before=now - dt.timedelta(days=1),
                                     not_after=now + dt.timedelta(days=3650)), root_key)
        inter_key = _key("ec")
        inter_name = _name(f"{name} Intermediate R1")
        self.intermediate = Authority(_build(inter_name, root_name, inter_key.public_key(), root_key, ca=True,
                                             not_before=now - dt.timedelta(days=1),
                                             not_after=now + dt.timedelta(days=1825)), inter_key)

    def issue(self, names: tuple[str, ...] = NAMES, *, days: float = 90, key_type: str = "ec",
              not_after: dt.datetime | None = None, common_name: str | None = None) -> Issued:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        key = _key(key_type)
        end = not_after or now + dt.timedelta(days=days)
        leaf = _build(_name(common_name or names[0], "Lab"), self.intermediate.cert.subject,
                      key.public_key(), self.intermediate.key, ca=False,
                      not_before=min(now, end) - dt.timedelta(days=1), not_after=end, names=names)
        return Issued(leaf=leaf, key=key, chain=(leaf, self.intermediate.cert))


def xc_info(cert: x509.Certificate, *, issuer: str | None = None,
            algorithm: str | None = None) -> dict[str, Any]:
    """An XC `spec.infos[]` entry describing `cert`, as a tenant would show it."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = list(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = []
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return {
        "common_name": cn[0].value if cn else "",
        "issuer": cert.issuer.rfc4514_string() if issuer is None else issuer,
        "expiry": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "subject_alternative_names": names,
        "organization": "Lab",
        "public_key_algorithm": algorithm or (
            "RSA" if isinstance(cert.public_key(), rsa.RSAPublicKey) else "ECDSA"),
    }
