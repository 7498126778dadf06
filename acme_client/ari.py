"""The CA's directory and ACME Renewal Information (RFC 9773), read without the ACME library.

A run that is not due only makes unauthenticated GETs: the directory and, when the CA offers ARI, one
renewalInfo for the published certificate. urllib3, which botocore has already loaded, serves both over
one TLS connection, so such a run never imports acme, josepy or requests. An issuing run reuses the
directory read here instead of asking for it again.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from typing import Any, Final, Protocol

import urllib3

from acme_client.errors import AcmeProblemError, CaUnavailableError

USER_AGENT: Final = "f5xc-tops-acme-client/1.0"
_MAX_BODY: Final = 64 * 1024


class CaReader(Protocol):
    """Unauthenticated reads from a CA (HttpCaReader, or a fake in unit tests)."""

    def directory(self, url: str) -> Mapping[str, Any]: ...

    def renewal_info(self, url: str) -> tuple[Any, str | None]: ...


def _tls_context(verify: bool | str) -> ssl.SSLContext:
    """Verify against `verify` (a CA file, for Pebble) or, when True, the bundle requests would use for
    the ACME library on the issuing path: REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        return ssl.create_default_context(cafile=bundle)
    try:
        import certifi  # shipped beside requests
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class HttpCaReader:
    """GETs with a bounded timeout and no retries; every failure is a typed error."""

    def __init__(self, *, verify: bool | str = True, timeout: float = 10.0) -> None:
        self._pool = urllib3.PoolManager(
            ssl_context=_tls_context(verify),
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            headers={"User-Agent": USER_AGENT},
        )

    def directory(self, url: str) -> Mapping[str, Any]:
        doc, _ = self._get(url)
        if not isinstance(doc, Mapping) or not isinstance(doc.get("newOrder"), str):
            raise AcmeProblemError(None, f"{url} is not an ACME directory")
        return doc

    def renewal_info(self, url: str) -> tuple[Any, str | None]:
        return self._get(url)

    def _get(self, url: str) -> tuple[Any, str | None]:
        try:
            response = self._pool.request("GET", url, preload_content=False)
            try:
                body = response.read(_MAX_BODY)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise CaUnavailableError(f"cannot reach the CA: {type(exc).__name__}") from exc
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            doc = None
        if response.status >= 400:
            problem = doc if isinstance(doc, Mapping) else {}
            kind = str(problem.get("type") or "")
            detail = str(problem.get("detail") or f"HTTP {response.status} for {url}")
            raise AcmeProblemError(kind.rsplit(":", 1)[-1] or None, detail, status=response.status)
        return doc, response.headers.get("Retry-After")
