"""XCClient: the single path by which any code talks to an XC tenant."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote

from shared.deadline import Deadline
from shared.secret import Secret
from shared.xc import retry
from shared.xc.errors import XCError, XCHTTPError, XCTransportError, from_status

if TYPE_CHECKING:  # requests is imported on first use: it is the heaviest import on the cold path
    import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = (5.0, 30.0)
Timeout = tuple[float, float]


def build_path(prefix: str, *segments: str) -> str:
    """Join a fixed API prefix and variable segments, escaping each segment (so '/' cannot sneak in)."""
    escaped = "/".join(quote(str(s), safe="") for s in segments)
    base = "/" + prefix.strip("/")
    return f"{base}/{escaped}" if escaped else base


class XCRequester(Protocol):
    """What the resource modules need from a client; a fake for core tests implements just this."""

    def request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None,
        idempotent: bool | None = None, timeout: Timeout | None = None, deadline: Deadline | None = None,
    ) -> Any: ...


class XCClient:
    """HTTP client for one tenant: base URL, `APIToken` auth, timeouts, retries and typed errors.

    `deadline` bounds the retries and read timeouts of one call.
    """

    def __init__(
        self, tenant_url: str, token: Secret | str, *, session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT, policy: retry.RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        import requests

        self.base_url = tenant_url.strip().rstrip("/")
        secret = token if isinstance(token, Secret) else Secret(token)
        self._session = session or requests.Session()
        self._session.headers.update({
            "Authorization": f"APIToken {secret.reveal()}",
            "Accept": "application/json",
        })
        self.timeout = timeout
        self.policy = policy or retry.RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    def __repr__(self) -> str:
        return f"XCClient({self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> XCClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None,
        idempotent: bool | None = None, timeout: Timeout | None = None, deadline: Deadline | None = None,
    ) -> Any:
        """Send one API call with retries; return the parsed JSON body (`{}` for an empty one).

        Raises an `XCHTTPError` subclass for a non-2xx answer, `XCTransportError` when the tenant could
        not be reached, `XCError` for a 2xx body that is not JSON.
        """
        import requests

        method = method.upper()
        url = self.base_url + path
        safe = method in retry.IDEMPOTENT_METHODS if idempotent is None else idempotent
        connect, read = timeout or self.timeout
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            remaining = None if deadline is None else deadline.remaining()
            if remaining is not None and remaining <= 0:
                raise XCTransportError("deadline passed before the call", method=method, url=url, sent=False)
            call_read = read if remaining is None else max(1.0, min(read, remaining))
            error: XCError
            try:
                response = self._session.request(
                    method, url, params=params, json=json, timeout=(connect, call_read)
                )
            except requests.exceptions.RequestException as exc:
                connect_failed = isinstance(exc, requests.exceptions.ConnectTimeout) or (
                    isinstance(exc, requests.exceptions.ConnectionError)
                    and not isinstance(exc, requests.exceptions.ReadTimeout)
                    and _before_send(exc)
                )
                error = XCTransportError(
                    f"{type(exc).__name__}: {_short(exc)}", method=method, url=url, sent=not connect_failed
                )
                status = None
                retry_after = None
                retriable = retry.should_retry(status=None, idempotent=safe, connect_failed=connect_failed)
            else:
                status = response.status_code
                log.debug("xc call", extra={"method": method, "path": path, "status": status,
                                            "attempt": attempt})
                if 200 <= status < 300:
                    return _parse(response, method, url)
                retry_after = retry.parse_retry_after(response.headers.get("Retry-After"))
                error = from_status(status)(
                    status=status, method=method, url=url, body=response.text, retry_after=retry_after
                )
                retriable = retry.should_retry(status=status, idempotent=safe)
            if not retriable:
                raise error
            delay = retry.next_delay(
                self.policy, attempt=attempt, throttled=status == 429, retry_after=retry_after,
                jitter=self._jitter(), elapsed=self._clock() - started,
                remaining=None if deadline is None else deadline.remaining(),
            )
            if delay is None:
                raise error
            log.warning("xc call will be retried", extra={
                "method": method, "path": path, "status": status, "attempt": attempt,
                "delay_s": round(delay, 3), "error": type(error).__name__,
            })
            self._sleep(delay)


def _parse(response: requests.Response, method: str, url: str) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError as exc:
        raise XCHTTPError(status=response.status_code, method=method, url=url,
                          body=response.text) from exc


def _before_send(exc: BaseException) -> bool:
    """True when a ConnectionError happened while connecting (refused, DNS), before anything was sent."""
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."
