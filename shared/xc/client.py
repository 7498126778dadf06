"""XCClient: the single path by which any code talks to an XC tenant.

HTTP goes through urllib3, the connection pool botocore itself runs on: the Lambda runtime ships it
beside boto3, and by the time a worker calls XC its SSM read has loaded it, so the first XC call
imports nothing (requests cost a cold start up to 35 ms and every zip 1.4 MiB, bench/RESULTS.md).
The client keeps one pooled keep-alive connection per tenant and never lets urllib3 retry or follow a
redirect (the policy in `retry` is the only one, and the token is never sent to another host). As
with requests, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE name the CAs to trust and HTTP(S)_PROXY / NO_PROXY
are honoured; without a bundle it trusts the system's CA store (requests used certifi's copy of the
same public roots).
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote, urlencode, urlsplit

from shared.deadline import Deadline
from shared.secret import Secret
from shared.xc import retry
from shared.xc.errors import XCError, XCHTTPError, XCTransportError, from_status

if TYPE_CHECKING:  # urllib3 is imported on first use: botocore has loaded it by then
    import urllib3

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = (5.0, 30.0)
Timeout = tuple[float, float]
USER_AGENT: Final = "f5xc-tops-job-workers"
_CA_BUNDLE_VARIABLES: Final = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def build_path(prefix: str, *segments: str) -> str:
    """Join a fixed API prefix and variable segments, escaping each segment (so '/' cannot sneak in)."""
    escaped = "/".join(quote(str(s), safe="") for s in segments)
    base = "/" + prefix.strip("/")
    return f"{base}/{escaped}" if escaped else base


class XCRequester(Protocol):
    """What the resource modules need from a client; a fake for core tests implements just this."""

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        timeout: Timeout | None = None,
        deadline: Deadline | None = None,
    ) -> Any: ...


class XCClient:
    """HTTP client for one tenant: base URL, `APIToken` auth, timeouts, retries and typed errors.

    `deadline` bounds the retries and read timeouts of one call. `http` replaces the connection pool
    (anything with urllib3's `request()`); by default one is made for the tenant on first use.
    """

    def __init__(
        self,
        tenant_url: str,
        token: Secret | str,
        *,
        http: urllib3.PoolManager | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        policy: retry.RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = tenant_url.strip().rstrip("/")
        secret = token if isinstance(token, Secret) else Secret(token)
        self._headers = {
            "Authorization": f"APIToken {secret.reveal()}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": USER_AGENT,
        }
        self._http = http
        self.timeout = timeout
        self.policy = policy or retry.RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    def __repr__(self) -> str:
        return f"XCClient({self.base_url!r})"

    def close(self) -> None:
        if self._http is not None:
            self._http.clear()

    def __enter__(self) -> XCClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pool(self) -> urllib3.PoolManager:
        if self._http is None:
            self._http = pool_for(self.base_url)
        return self._http

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        timeout: Timeout | None = None,
        deadline: Deadline | None = None,
    ) -> Any:
        """Send one API call with retries; return the parsed JSON body (`{}` for an empty one).

        Raises an `XCHTTPError` subclass for a non-2xx answer, `XCTransportError` when the tenant could
        not be reached, `XCError` for a 2xx body that is not JSON.
        """
        import urllib3

        method = method.upper()
        url = self.base_url + path
        target = f"{url}?{urlencode(list(params.items()))}" if params else url
        headers = dict(self._headers)
        body = None
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers["Content-Type"] = "application/json"
        safe = method in retry.IDEMPOTENT_METHODS if idempotent is None else idempotent
        connect, read = timeout or self.timeout
        http = self._pool()
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
                response = http.request(
                    method,
                    target,
                    body=body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    timeout=urllib3.Timeout(connect=connect, read=call_read),
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                # Refused, unresolvable or timed out while connecting: the request never left.
                connect_failed = isinstance(exc, urllib3.exceptions.ConnectTimeoutError)
                error = XCTransportError(
                    f"{type(exc).__name__}: {_short(exc)}", method=method, url=url, sent=not connect_failed
                )
                status = None
                retry_after = None
                retriable = retry.should_retry(status=None, idempotent=safe, connect_failed=connect_failed)
            else:
                status = response.status
                log.debug(
                    "xc call", extra={"method": method, "path": path, "status": status, "attempt": attempt}
                )
                if 200 <= status < 300:
                    return _parse(status, response.data, method, url)
                retry_after = retry.parse_retry_after(response.headers.get("Retry-After"))
                error = from_status(status)(
                    status=status, method=method, url=url, body=_text(response.data), retry_after=retry_after
                )
                retriable = retry.should_retry(status=status, idempotent=safe)
            if not retriable:
                raise error
            delay = retry.next_delay(
                self.policy,
                attempt=attempt,
                throttled=status == 429,
                retry_after=retry_after,
                jitter=self._jitter(),
                elapsed=self._clock() - started,
                remaining=None if deadline is None else deadline.remaining(),
            )
            if delay is None:
                raise error
            log.warning(
                "xc call will be retried",
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "attempt": attempt,
                    "delay_s": round(delay, 3),
                    "error": type(error).__name__,
                },
            )
            self._sleep(delay)


def pool_for(base_url: str) -> urllib3.PoolManager:
    """The connection pool a client makes for `base_url`: through the proxy the environment names for
    it (never for a loopback host), trusting REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE when set, else the
    system's CA store. Unit tests replace it to reach their loopback server."""
    import urllib.request

    import urllib3

    bundle = next((os.environ[v] for v in _CA_BUNDLE_VARIABLES if os.environ.get(v)), None)
    tls: dict[str, Any] = {"ca_certs": bundle} if bundle else {}
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and host not in _LOOPBACK and not urllib.request.proxy_bypass(host):
        return urllib3.ProxyManager(proxy, num_pools=1, **tls)
    return urllib3.PoolManager(num_pools=1, **tls)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _parse(status: int, data: bytes, method: str, url: str) -> Any:
    if not data:
        return {}
    try:
        return jsonlib.loads(data)
    except ValueError as exc:
        raise XCHTTPError(status=status, method=method, url=url, body=_text(data)) from exc


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."
