"""Running a `socketserver` server (HTTP, DNS) on a background thread, and stopping it."""

from __future__ import annotations

import socketserver
import threading


def serve_in_background(
    server: socketserver.BaseServer, name: str, poll_interval: float = 0.5
) -> threading.Thread:
    """Start `server.serve_forever` on a daemon thread called `name`; return the thread."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: socketserver.BaseServer | None, thread: threading.Thread | None) -> None:
    """Stop `server` (nothing when None), close its socket and wait up to 5 s for its thread."""
    if server is None:
        return
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join(timeout=5)
