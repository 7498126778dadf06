"""``XCServer``: the emulator on loopback over real HTTP, served from a background thread."""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devstack.serving import serve_in_background, stop_serving
from devstack.xc.app import XCApp
from devstack.xc.faults import Faults, RequestRecord
from devstack.xc.models import DEFAULT_CALLER_EMAIL, DEFAULT_TENANT, XCState


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class XCServer:
    """A fake XC tenant at ``http://127.0.0.1:<port>`` (port 0 picks a free one).

    ``token``, when given, is registered as a valid ``APIToken`` for ``email``. Use as a
    context manager or call ``start()`` / ``stop()``; ``state`` and ``faults`` stay
    reachable for seeding and assertions.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        email: str = DEFAULT_CALLER_EMAIL,
        tenant: str = DEFAULT_TENANT,
        state: XCState | None = None,
        faults: Faults | None = None,
        quiet: bool = True,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.state = state or XCState(tenant)
        self.faults = faults or Faults()
        self.app = XCApp(self.state, self.faults)
        self.token = token
        if token is not None:
            self.state.add_token(token, email=email)
        self._quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("XCServer is not running")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> XCServer:
        if self._server is not None:
            raise RuntimeError("XCServer is already running")
        server = make_server(
            self.host,
            self._requested_port,
            self.app,
            threaded=True,
            request_handler=_QuietRequestHandler if self._quiet else None,
        )
        thread = serve_in_background(server, f"xc-emulator-{server.server_port}", poll_interval=0.05)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stop_serving(server, thread)

    def requests(self) -> list[RequestRecord]:
        """The request log (every ``/api`` call), oldest first."""
        return self.faults.requests

    def __enter__(self) -> XCServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
