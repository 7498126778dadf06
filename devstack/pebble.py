"""Pebble (Let's Encrypt's test CA, Debian package `pebble`) as a child process on loopback.

`Pebble` writes a config and a TLS certificate generated at run time into a temp dir, starts
`/usr/bin/pebble -config ... -dnsserver <dns>`, waits for the directory and exposes what a client
needs: `directory_url`, `ca_bundle_path` (the CA that signed the TLS certificate Pebble serves, for
`verify=`), `management_url` and `roots()` (Pebble's issuing roots, new at every start).
`tls_cert_path`/`tls_key_path` let a proxy in front of Pebble (devstack/ari.py) serve the same TLS
identity, so clients trust both with one bundle.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PEBBLE_BINARY: Final = "/usr/bin/pebble"
START_TIMEOUT_S: Final = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now (small race with the child binding it; acceptable in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def write_tls_material(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `host`, 127.0.0.1 and localhost.

    Returns (ca_cert_path, server_cert_path, server_key_path).
    """
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devstack pebble TLS CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    loopback = ipaddress.ip_address("127.0.0.1")
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(loopback)]
    try:
        if ipaddress.ip_address(host) != ipaddress.ip_address("127.0.0.1"):
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "tls-ca.pem"
    cert_path = directory / "tls-cert.pem"
    key_path = directory / "tls-key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


class PebbleError(RuntimeError):
    """Pebble did not start, or exited; the message ends with its log tail."""


class Pebble:
    """One Pebble process. Settings map to Pebble's environment variables and config fields.

    nonce_reject: PEBBLE_WFE_NONCEREJECT, percent of good nonces rejected (Pebble's own default is 5).
    authz_reuse: PEBBLE_AUTHZREUSE, percent of valid authorizations reused (Pebble's default 50).
    validity_seconds: certificateValidityPeriod (Pebble's default is 5 years).
    eab_keys: {kid: base64url HMAC key}; when given, external account binding is required.
    domain_blocklist: names Pebble refuses in newOrder with `rejectedIdentifier` (config `domainBlocklist`;
        a blocked domain also blocks its subdomains).
    """

    def __init__(
        self,
        dns_server: str,
        *,
        nonce_reject: int = 0,
        authz_reuse: int = 0,
        validity_seconds: int | None = None,
        eab_keys: Mapping[str, str] | None = None,
        domain_blocklist: tuple[str, ...] = (),
        host: str = "127.0.0.1",
        binary: str = PEBBLE_BINARY,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.dns_server = dns_server
        self.nonce_reject = nonce_reject
        self.authz_reuse = authz_reuse
        self.validity_seconds = validity_seconds
        self.eab_keys = dict(eab_keys or {})
        self.domain_blocklist = tuple(domain_blocklist)
        self.host = host
        self.binary = binary
        self.extra_env = dict(extra_env or {})
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self.port = 0
        self.management_port = 0
        self.ca_bundle_path = ""
        self.tls_cert_path = ""
        self.tls_key_path = ""

    @property
    def directory_url(self) -> str:
        return f"https://{self.host}:{self.port}/dir"

    @property
    def management_url(self) -> str:
        return f"https://{self.host}:{self.management_port}"

    def start(self) -> Pebble:
        if not os.path.exists(self.binary):
            raise PebbleError(f"{self.binary} not found (Debian package 'pebble')")
        self._workdir = Path(tempfile.mkdtemp(prefix="pebble-"))
        ca_path, cert_path, key_path = write_tls_material(self._workdir, self.host)
        self.ca_bundle_path = str(ca_path)
        self.tls_cert_path, self.tls_key_path = str(cert_path), str(key_path)
        self.port, self.management_port = free_port(self.host), free_port(self.host)
        settings: dict[str, object] = {
            "listenAddress": f"{self.host}:{self.port}",
            "managementListenAddress": f"{self.host}:{self.management_port}",
            "certificate": str(cert_path),
            "privateKey": str(key_path),
            "httpPort": free_port(self.host),
            "tlsPort": free_port(self.host),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(self.eab_keys),
        }
        if self.eab_keys:
            settings["externalAccountMACKeys"] = self.eab_keys
        if self.validity_seconds is not None:
            settings["certificateValidityPeriod"] = int(self.validity_seconds)
        if self.domain_blocklist:
            settings["domainBlocklist"] = list(self.domain_blocklist)
        config_path = self._workdir / "pebble-config.json"
        config_path.write_text(json.dumps({"pebble": settings}, indent=2))
        env = {
            **os.environ,
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_WFE_NONCEREJECT": str(self.nonce_reject),
            "PEBBLE_AUTHZREUSE": str(self.authz_reuse),
            **self.extra_env,
        }
        self._log_path = self._workdir / "pebble.log"
        with open(self._log_path, "wb") as log_file:
            self._process = subprocess.Popen(
                [self.binary, "-config", str(config_path), "-dnsserver", self.dns_server],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self._workdir,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise PebbleError(f"pebble exited with {self._process.returncode}: {self.log_tail()}")
            try:
                response = requests.get(self.directory_url, verify=self.ca_bundle_path, timeout=2)
                if response.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise PebbleError(
            f"pebble did not serve {self.directory_url} within {START_TIMEOUT_S} s: {self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def roots(self) -> list[str]:
        """Pebble's issuing root certificates (PEM), from the management interface."""
        pems = [self._management_get("/roots/0")]
        index = 1
        while True:  # alternate roots only exist with PEBBLE_ALTERNATE_ROOTS set
            try:
                pems.append(self._management_get(f"/roots/{index}"))
            except requests.HTTPError:
                break
            index += 1
        return pems

    def intermediates(self) -> list[str]:
        return [self._management_get("/intermediates/0")]

    def _management_get(self, path: str) -> str:
        response = requests.get(self.management_url + path, verify=self.ca_bundle_path, timeout=5)
        response.raise_for_status()
        return response.text

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Pebble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
