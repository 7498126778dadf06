"""The emulator in this process: ``XCServer`` without the server, for tests that may not open sockets.

``InProcessXC`` holds the same ``XCState``, ``Faults`` and ``XCApp`` as ``XCServer``; what differs is
the last metre. ``WSGIPool`` is a urllib3 ``PoolManager`` whose ``urlopen`` hands each request to the
WSGI app instead of a connection, so the real ``XCClient`` (``InProcessXC.client()``) runs its whole
request path (urllib3's ``request()`` included), retry policy and error mapping against the emulator's
own routing, auth, faults, request log and rules. The same request gets the same answer as over HTTP,
and so the same typed error.

One ``Clock`` drives the state, the faults and, by default, the clients' sleeps: with a fake clock a
client's backoff, the emulator's latency and delays and a worker's polls all move the same time, so
visibility delays, throttling and timeouts play out without sleeping.

What a socket would add, the pool imitates: a ``DROP`` fault raises the ``ProtocolError`` of a closed
connection, and (with a clock) an answer that took longer than the read timeout raises
``ReadTimeoutError`` after the emulator has acted, as a server that keeps going would. One difference:
the clock has then moved by the whole time the call took, where a real client gives up at the timeout.
"""

from __future__ import annotations

from http.client import RemoteDisconnected
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from werkzeug.test import EnvironBuilder, run_wsgi_app

from devstack.xc.app import DROP_HOOK, XCApp
from devstack.xc.faults import Faults, RequestRecord
from devstack.xc.models import DEFAULT_CALLER_EMAIL, DEFAULT_TENANT, Clock, SystemClock, XCState

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from shared.xc.client import XCClient

# Where the in-process tenant "lives": `.invalid` never resolves, so nothing can reach it by mistake.
IN_PROCESS_URL: Final = "https://xc-emulator.invalid"


class WSGIPool(urllib3.PoolManager):
    """urllib3's ``PoolManager`` with the network cut out: ``urlopen`` runs a WSGI app in this process.

    Every URL reaches the app, whatever host it names, so a client configured with a real-looking
    tenant URL (from SSM, say) can be pointed here. ``clock`` (optional) measures how long the app
    took, for the read timeout.
    """

    def __init__(self, app: WSGIApplication, *, clock: Clock | None = None) -> None:
        super().__init__(num_pools=1)
        self.app = app
        self.clock = clock

    def urlopen(  # type: ignore[override]
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        headers = dict(kw.get("headers") or self.headers)
        builder = EnvironBuilder(
            path=parts.path or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=method,
            headers=list(headers.items()),
            data=_body_bytes(kw.get("body")),
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        dropped: list[bool] = []
        environ[DROP_HOOK] = lambda: dropped.append(True)
        started = self.clock.monotonic() if self.clock else 0.0
        app_iter, status, answer_headers = run_wsgi_app(self.app, environ, buffered=True)
        content = b"".join(app_iter)
        if dropped:
            reason = RemoteDisconnected("Remote end closed connection without response")
            raise ProtocolError("Connection aborted.", reason)
        read = _read_timeout(kw.get("timeout"))
        if self.clock is not None and read is not None and self.clock.monotonic() - started > read:
            pool = urllib3.connection_from_url(url)
            raise ReadTimeoutError(pool, url, f"Read timed out. (read timeout={read})")
        code, _, phrase = status.partition(" ")
        return urllib3.HTTPResponse(
            body=content,
            headers=dict(answer_headers.items()),
            status=int(code),
            reason=phrase,
            preload_content=True,
            request_method=method,
            request_url=url,
        )


def _body_bytes(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError(f"the in-process pool sends bytes or text bodies, not {type(body).__name__}")


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, urllib3.Timeout):
        read = timeout.read_timeout
        return read if isinstance(read, int | float) else None
    return float(timeout) if isinstance(timeout, int | float) else None


class InProcessXC:
    """A fake XC tenant at ``IN_PROCESS_URL``, reached without sockets.

    ``token``, when given, is registered as a valid ``APIToken`` for ``email`` and is what
    ``client()`` sends by default. ``state`` and ``faults`` are there for seeding and assertions,
    as on ``XCServer``; ``requests()`` is the request log; ``pool`` takes raw calls (the admin API).
    """

    url: Final = IN_PROCESS_URL

    def __init__(
        self,
        *,
        token: str | None = None,
        email: str = DEFAULT_CALLER_EMAIL,
        tenant: str = DEFAULT_TENANT,
        clock: Clock | None = None,
        state: XCState | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.clock: Clock = clock or (state.clock if state is not None else SystemClock())
        self.state = state or XCState(tenant, clock=self.clock)
        self.faults = faults or Faults(
            monotonic=self.clock.monotonic, wall=self.clock.time, sleep=self.clock.sleep
        )
        self.app = XCApp(self.state, self.faults)
        self.pool = WSGIPool(self.app, clock=self.clock)
        self.token = token
        if token is not None:
            self.state.add_token(token, email=email)

    def client(self, token: str | None = None, **options: Any) -> XCClient:
        """The real ``XCClient`` for this tenant, with ``token`` (default: the emulator's own).

        ``options`` go to ``XCClient``; ``sleep`` and ``clock`` default to the emulator's clock.
        """
        from shared.xc.client import XCClient

        chosen = self.token if token is None else token
        if chosen is None:
            raise ValueError("no token: pass one, or create the emulator with one")
        options.setdefault("sleep", self.clock.sleep)
        options.setdefault("clock", self.clock.monotonic)
        return XCClient(self.url, chosen, http=self.pool, **options)

    def requests(self) -> list[RequestRecord]:
        """The request log (every ``/api`` call), oldest first."""
        return self.faults.requests
