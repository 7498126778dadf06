"""Certificates made on the spot, for the local stack, the benchmarks and the tests: the one factory.

- `TinyPKI`: a root and an intermediate CA (EC P-256) that issue leaves (`issue`) and sign CSRs
  (`sign_csr`), as a public CA's chain looks: leaf, then intermediate.
- `self_signed`: a lone certificate and its key, for a tenant that must hold some certificate.
- `certificate_body`: the XC certificate object for a pair, as cert_mgmt writes it (docs/xc-api.md §7.4).

Validity is measured from `now` (the real time unless given), so a test can pin every date.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

CA_YEARS: Final = dt.timedelta(days=3650)


def new_key(key_type: str = "ec") -> Any:
    """A fresh private key of `key_type`: "ec" (P-256), "rsa" (2048 bits) or "rsa<bits>" ("rsa1024")."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type.startswith("rsa") and (key_type[3:] == "" or key_type[3:].isdigit()):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:] or 2048))
    raise ValueError(f"unknown key type {key_type!r}: use ec, rsa or rsa<bits>")


def key_pem(key: Any, password: bytes | None = None) -> bytes:
    """`key` as PKCS#8 PEM, encrypted with `password` when given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(common_name: str, organization: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    """DNS names, and IP addresses for the names that are one."""
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return general


@dataclass(frozen=True)
class Authority:
    """A CA: its certificate and key."""

    cert: x509.Certificate
    key: Any

    @property
    def pem(self) -> bytes:
        return cert_pem(self.cert)


@dataclass(frozen=True)
class Issued:
    """A certificate, its key and its chain (the certificate first, then its intermediates)."""

    leaf: x509.Certificate
    key: Any
    chain: tuple[x509.Certificate, ...]

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.leaf)

    @property
    def chain_pem(self) -> bytes:
        return b"".join(cert_pem(c) for c in self.chain)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)

    @property
    def pair(self) -> tuple[x509.Certificate, Any]:
        """(certificate, key)."""
        return self.leaf, self.key

    @property
    def pem_pair(self) -> tuple[bytes, bytes]:
        """(certificate PEM, key PEM)."""
        return self.cert_pem, self.key_pem


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: Any,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int | None = None,
) -> x509.CertificateBuilder:
    """What every certificate here starts from: who, by whom, which key, which serial, when."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _names_extension(builder: x509.CertificateBuilder, names: Sequence[str]) -> x509.CertificateBuilder:
    if not names:
        return builder
    return builder.add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)


class TinyPKI:
    """A root CA and an intermediate (valid ten years either side of `now`); `issue()` gives leaves signed
    by the intermediate, with their chain. `name` goes into both CAs' names, "<name> Root CA" and
    "<name> Intermediate R1" of the organisation "<name> PKI" (a "(STAGING)" name makes a staging
    hierarchy). `names` are what `issue()` certifies when not told otherwise."""

    def __init__(
        self,
        name: str = "Test",
        *,
        now: dt.datetime | None = None,
        names: Sequence[str] = ("lab.example.com",),
    ) -> None:
        self.now = _now(now)
        self.names = tuple(names)
        organization = f"{name} PKI"
        root_name = _name(f"{name} Root CA", organization)
        self.root = self._ca(root_name, None)
        self.intermediate = self._ca(_name(f"{name} Intermediate R1", organization), self.root)

    def _ca(self, subject: x509.Name, issuer: Authority | None) -> Authority:
        """A CA certificate: the root when `issuer` is None (self-signed), else one under `issuer`."""
        key = new_key()
        builder = (
            _builder(
                subject,
                subject if issuer is None else issuer.cert.subject,
                key.public_key(),
                self.now - CA_YEARS,
                self.now + CA_YEARS,
            )
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
            )
        return Authority(builder.sign(key if issuer is None else issuer.key, hashes.SHA256()), key)

    def _signed(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        """`builder` signed by the intermediate, which it names as its authority."""
        authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.intermediate.key.public_key())
        return builder.add_extension(authority, critical=False).sign(self.intermediate.key, hashes.SHA256())

    def issue(
        self,
        names: Sequence[str] | None = None,
        *,
        days: float = 90,
        key: Any = None,
        key_type: str = "ec",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        common_name: str | None = None,
        serial: int | None = None,
    ) -> Issued:
        """A leaf for `names` (default: the PKI's; its common name `common_name`, else the first name) with
        a new key of `key_type` unless `key` is given. Valid from `not_before` (a day before `now`, or
        before `not_after` when that is earlier) for `days`, or until `not_after`."""
        names = self.names if names is None else tuple(names)
        key = key if key is not None else new_key(key_type)
        if not_before is None:
            not_before = min(self.now, not_after or self.now) - dt.timedelta(days=1)
        end = not_after or not_before + dt.timedelta(days=days)
        builder = _builder(
            _name(common_name or names[0], None),
            self.intermediate.cert.subject,
            key.public_key(),
            not_before,
            end,
            serial,
        )
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        leaf = self._signed(_names_extension(builder, names))
        return Issued(leaf=leaf, key=key, chain=(leaf, self.intermediate.cert))

    def sign_csr(
        self, csr: x509.CertificateSigningRequest, *, not_before: dt.datetime, days: float, serial: int
    ) -> x509.Certificate:
        """What a CA returns for `csr`: its subject and names, signed by the intermediate."""
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        builder = _builder(
            csr.subject,
            self.intermediate.cert.subject,
            csr.public_key(),
            not_before,
            not_before + dt.timedelta(days=days),
            serial,
        )
        return self._signed(builder.add_extension(san, critical=False))

    def fullchain(self, leaf: x509.Certificate) -> bytes:
        """`leaf` then the intermediate, PEM: what an ACME CA delivers."""
        return cert_pem(leaf) + self.intermediate.pem


def self_signed(
    common_name: str = "lab.example.com",
    sans: Sequence[str] | None = None,
    *,
    organization: str | None = None,
    key_type: str = "ec",
    days: float = 90,
    now: dt.datetime | None = None,
) -> Issued:
    """A certificate signed by its own key, for `sans` (default: `common_name`; IP addresses allowed),
    valid from a minute before `now` for `days`."""
    start = _now(now)
    key = new_key(key_type)
    subject = _name(common_name, organization)
    builder = _builder(
        subject, subject, key.public_key(), start - dt.timedelta(minutes=1), start + dt.timedelta(days=days)
    )
    cert = _names_extension(builder, [common_name] if sans is None else sans).sign(key, hashes.SHA256())
    return Issued(leaf=cert, key=key, chain=(cert,))


def string_url(data: bytes) -> str:
    """`string:///` + standard base64, as cert_mgmt encodes secrets."""
    return "string:///" + base64.b64encode(data).decode()


def certificate_body(name: str, cert: bytes, key: bytes, namespace: str | None = "shared") -> dict[str, Any]:
    """The certificate create/replace body cert_mgmt sends (docs/xc-api.md §7.4) for PEM `cert` and
    `key`; `namespace` None leaves `metadata.namespace` out."""
    metadata: dict[str, Any] = {"name": name, "disable": False}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "metadata": metadata,
        "spec": {
            "certificate_url": string_url(cert),
            "private_key": {"clear_secret_info": {"url": string_url(key)}},
        },
    }
