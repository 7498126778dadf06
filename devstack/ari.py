"""An HTTPS proxy in front of Pebble that adds ACME Renewal Information (RFC 9773), which Pebble 2.4 lacks.

Every request is passed to Pebble with the client's Host header, so Pebble builds the URLs it hands out
(directory, accounts, orders, authorizations, certificates) on the proxy's address and checks each JWS
`url` against it: a client that starts at `directory_url` only ever talks to the proxy. On the way:

- the directory gains `renewalInfo`;
- every certificate downloaded through the proxy is remembered: its certID (RFC 9773 §4.1), validity
  and the account (JWS `kid`) that downloaded it;
- `GET <renewalInfo>/<certID>` answers the suggested window computed from that certificate (from 2/3 to
  3/4 of its lifetime), or the window a test set with `set_window`, with a Retry-After header; an
  unknown certID gets 404;
- newOrder payloads are recorded (`orders`), and `replaces` is checked as Let's Encrypt does: an
  already replaced certificate gets 409 `alreadyReplaced`, another account's 403 `unauthorized`, an
  unknown one 400 `malformed`; an accepted order marks its predecessor replaced;
- `fail_new_order` answers newOrder with a problem document (status, type, Retry-After: the way a CA
  rate-limits), and `pause`/`resume` make the CA refuse connections, as a CA that is down does.

Answers made by the proxy itself carry a fresh Replay-Nonce taken from Pebble, as the CA's would.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

import urllib3
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from devstack.pebble import Pebble

RENEWAL_INFO_PATH: Final = "/renewal-info"
DEFAULT_RETRY_AFTER_S: Final = 21600
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date", "server"}
)
_PROBLEM: Final = "urn:ietf:params:acme:error:"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cert_id(cert: x509.Certificate) -> str:
    """RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(DER serial number content)."""
    aki = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    key_id = aki.key_identifier  # type: ignore[attr-defined]
    serial = cert.serial_number
    length = max(1, math.ceil((serial.bit_length() + 1) / 8))
    return f"{_b64url(key_id)}.{_b64url(serial.to_bytes(length, 'big', signed=True))}"


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ServedCert:
    """A certificate that went through the proxy."""

    cert_id: str
    not_before: dt.datetime
    not_after: dt.datetime
    account: str | None
    replaced: bool = False

    def default_window(self) -> tuple[dt.datetime, dt.datetime]:
        lifetime = self.not_after - self.not_before
        return self.not_before + lifetime * 2 / 3, self.not_before + lifetime * 3 / 4


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    retry_after: int = DEFAULT_RETRY_AFTER_S
    explanation_url: str | None = None


@dataclass
class Fault:
    status: int
    problem: str
    detail: str
    retry_after: str | None
    remaining: int | None  # None: until cleared


@dataclass(frozen=True)
class Exchange:
    """One request the proxy saw: what was asked and what was answered."""

    method: str
    path: str
    status: int
    payload: Any = None  # the decoded JWS payload of a POST (None for POST-as-GET and GETs)


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: AriProxy, context: ssl.SSLContext) -> None:
        self.proxy = proxy
        self.context = context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # the TLS handshake runs in the connection's own thread, never in the accepting one
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.proxy._track(tls, True)
        try:
            super().finish_request(tls, client_address)
        finally:
            self.proxy._track(tls, False)
            tls.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall
    wbufsize = -1  # buffered: one write per answer, flushed by the base class
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.proxy._handle(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD" and answer.body:
            self.wfile.write(answer.body)

    do_GET = do_POST = do_HEAD = _serve


class AriProxy:
    """One proxy in front of one running Pebble; start it after Pebble, stop it before."""

    def __init__(self, pebble: Pebble, *, host: str = "127.0.0.1") -> None:
        self.pebble = pebble
        self.host = host
        self.port = 0
        self._lock = threading.Lock()
        self._upstream = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_certs=pebble.ca_bundle_path,
            retries=False,
            timeout=urllib3.Timeout(connect=5, read=30),
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[Any] = set()
        self._paths: dict[str, str] = {}
        self.certificates: dict[str, ServedCert] = {}
        self.windows: dict[str | None, Window] = {}  # cert_id (None: every certificate) -> window
        self.orders: list[dict[str, Any]] = []
        self.renewal_info_requests: list[str] = []
        self.exchanges: list[Exchange] = []
        self._fault: Fault | None = None

    # --- life cycle ---

    @property
    def directory_url(self) -> str:
        return f"https://{self.host}:{self.port}/dir"

    @property
    def ca_bundle_path(self) -> str:
        return self.pebble.ca_bundle_path  # the proxy serves Pebble's own TLS certificate

    def start(self) -> AriProxy:
        directory = json.loads(self._upstream.request("GET", self.pebble.directory_url).data)
        self._paths = {name: urlsplit(url).path for name, url in directory.items() if isinstance(url, str)}
        self._listen()
        return self

    def stop(self) -> None:
        self.pause()
        self._upstream.clear()

    def pause(self) -> None:
        """Refuse connections (and drop open ones) until `resume`: a CA that is down."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def resume(self) -> None:
        if self._server is None:
            self._listen()

    def _listen(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pebble.tls_cert_path, self.pebble.tls_key_path)
        self._server = _Server((self.host, self.port), self, context)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ari-proxy-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _track(self, connection: Any, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def __enter__(self) -> AriProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests set ---

    def set_window(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        cert_id: str | None = None,
        retry_after: int = DEFAULT_RETRY_AFTER_S,
        explanation_url: str | None = None,
    ) -> None:
        """The window to suggest for `cert_id` (or, without it, for every certificate)."""
        with self._lock:
            self.windows[cert_id] = Window(start, end, retry_after, explanation_url)

    def clear_windows(self) -> None:
        with self._lock:
            self.windows.clear()

    def mark_replaced(self, replaced_id: str) -> None:
        """As if another order had already replaced this certificate."""
        with self._lock:
            self.certificates[replaced_id].replaced = True

    def fail_new_order(
        self, status: int, problem: str, detail: str, *, retry_after: str | None = None, times: int | None = 1
    ) -> None:
        """Answer the next `times` newOrder requests (None: all, until `clear_faults`) with a problem."""
        with self._lock:
            self._fault = Fault(status, problem, detail, retry_after, times)

    def clear_faults(self) -> None:
        with self._lock:
            self._fault = None

    def certificate(self, pem: bytes) -> ServedCert:
        """What the proxy knows of the leaf of `pem` (KeyError when it never went through the proxy)."""
        leaf = x509.load_pem_x509_certificates(pem)[0]
        with self._lock:
            return self.certificates[cert_id(leaf)]

    # --- the proxy ---

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        host = headers.get("Host") or f"{self.host}:{self.port}"
        payload, kid = _jws(body) if method == "POST" else (None, None)
        if method == "GET" and path.startswith(RENEWAL_INFO_PATH + "/"):
            answer = self._renewal_info(path[len(RENEWAL_INFO_PATH) + 1 :])
        elif method == "POST" and path == self._paths.get("newOrder"):
            answer = self._new_order(headers, host, body, payload, kid)
        else:
            answer = self._forward(method, path, headers, host, body)
            if method == "GET" and path == urlsplit(self.pebble.directory_url).path and answer.status == 200:
                directory = json.loads(answer.body)
                directory["renewalInfo"] = f"https://{host}{RENEWAL_INFO_PATH}"
                answer.body = json.dumps(directory, indent=2).encode()
            elif method == "POST" and path.startswith("/certZ/") and answer.status == 200:
                self._remember(answer.body, kid)
        with self._lock:
            self.exchanges.append(Exchange(method, path, answer.status, payload))
        return answer

    def _forward(self, method: str, path: str, headers: dict[str, str], host: str, body: bytes) -> _Answer:
        sent = {
            name: value
            for name, value in headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() != "host"
        }
        sent["Host"] = host  # Pebble builds its URLs, and checks the JWS url, on this
        upstream = self._upstream.request(
            method,
            f"https://{self.pebble.host}:{self.pebble.port}{path}",
            body=body or None,
            headers=sent,
            redirect=False,
        )
        kept = [(name, value) for name, value in upstream.headers.items() if name.lower() not in _HOP_BY_HOP]
        return _Answer(upstream.status, kept, upstream.data)

    def _problem(self, status: int, problem: str, detail: str, retry_after: str | None = None) -> _Answer:
        headers = [("Content-Type", "application/problem+json"), ("Cache-Control", "no-store")]
        nonce_path = self._paths.get("newNonce")
        if nonce_path:
            fresh = self._upstream.request(
                "HEAD", f"https://{self.pebble.host}:{self.pebble.port}{nonce_path}"
            )
            nonce = fresh.headers.get("Replay-Nonce")
            if nonce:
                headers.append(("Replay-Nonce", nonce))
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        body = json.dumps({"type": _PROBLEM + problem, "detail": detail, "status": status}).encode()
        return _Answer(status, headers, body)

    def _new_order(
        self, headers: dict[str, str], host: str, body: bytes, payload: Any, kid: str | None
    ) -> _Answer:
        with self._lock:
            self.orders.append(payload if isinstance(payload, dict) else {})
            fault = self._fault
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._fault = None
        if fault is not None:
            return self._problem(fault.status, fault.problem, fault.detail, fault.retry_after)
        replaces = payload.get("replaces") if isinstance(payload, dict) else None
        if isinstance(replaces, str):
            with self._lock:
                predecessor = self.certificates.get(replaces)
            if predecessor is None:
                return self._problem(400, "malformed", f"certificate to be replaced ({replaces}) not found")
            if predecessor.replaced:
                return self._problem(409, "alreadyReplaced", f"certificate {replaces} was already replaced")
            if predecessor.account != kid:
                return self._problem(
                    403, "unauthorized", "requester account did not request the certificate being replaced"
                )
        answer = self._forward("POST", self._paths["newOrder"], headers, host, body)
        if isinstance(replaces, str) and answer.status == 201:
            self.mark_replaced(replaces)
        return answer

    def _remember(self, pem: bytes, kid: str | None) -> None:
        leaf = x509.load_pem_x509_certificates(pem)[0]
        served = ServedCert(cert_id(leaf), leaf.not_valid_before_utc, leaf.not_valid_after_utc, kid)
        with self._lock:
            self.certificates.setdefault(served.cert_id, served)

    def _renewal_info(self, requested: str) -> _Answer:
        with self._lock:
            self.renewal_info_requests.append(requested)
            served = self.certificates.get(requested)
            window = self.windows.get(requested) or self.windows.get(None)
        if served is None:
            problem = {"type": _PROBLEM + "malformed", "detail": f"no certificate {requested}", "status": 404}
            return _Answer(404, [("Content-Type", "application/problem+json")], json.dumps(problem).encode())
        if window is None:
            start, end = served.default_window()
            window = Window(start, end)
        doc: dict[str, Any] = {"suggestedWindow": {"start": _utc(window.start), "end": _utc(window.end)}}
        if window.explanation_url:
            doc["explanationURL"] = window.explanation_url
        headers = [("Content-Type", "application/json"), ("Retry-After", str(window.retry_after))]
        return _Answer(200, headers, json.dumps(doc).encode())


def _jws(body: bytes) -> tuple[Any, str | None]:
    """The decoded payload (None for POST-as-GET) and the `kid` of a flattened JWS body."""
    try:
        jws = json.loads(body)
        protected = json.loads(_b64url_decode(jws["protected"]))
        payload = json.loads(_b64url_decode(jws["payload"])) if jws.get("payload") else None
    except (ValueError, KeyError, TypeError):
        return None, None
    kid = protected.get("kid")
    return payload, kid if isinstance(kid, str) else None
