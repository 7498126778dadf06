"""Typed XC errors. Callers branch on the class and `status`/`code`, never on message text."""

from __future__ import annotations

import json
from typing import Any, Final

from shared.errors import TopsError
from shared.secret import mask, mask_text

BODY_LIMIT: Final = 500


class XCError(TopsError):
    """Root of every XC client error."""


class XCTransportError(XCError):
    """Connection failure or HTTP timeout, after the retries the policy allowed."""

    retryable = True

    def __init__(self, message: str, *, method: str, url: str, sent: bool) -> None:
        self.method = method
        self.url = url
        self.sent = sent  # False when the request surely never reached the server
        super().__init__(f"{message} on {method} {url}")


class XCHTTPError(XCError):
    """A non-2xx answer. Keeps the status, XC's gRPC `code` and `message`, and a masked, truncated body."""

    def __init__(
        self, *, status: int, method: str, url: str, body: str, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.body = mask_text(body[:BODY_LIMIT])
        self.json: Any = None
        self.code: int | None = None
        self.message = self.body
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            self.json = mask(parsed)
            code = parsed.get("code")
            self.code = code if isinstance(code, int) else None
            if isinstance(parsed.get("message"), str):
                self.message = mask_text(parsed["message"])
        self.retry_after = retry_after
        detail = f" (code {self.code})" if self.code is not None else ""
        super().__init__(f"XC {status}{detail}: {self.message or '<empty body>'} on {method} {url}")


class XCBadRequestError(XCHTTPError):
    """400: the request was invalid; sending it again will not help."""


class XCAuthError(XCHTTPError):
    """401 or 403: the token is missing, unknown, expired, or lacks the role."""


class XCNotFoundError(XCHTTPError):
    """404: the object does not exist (a remove treats this as done)."""


class XCConflictError(XCHTTPError):
    """409: the object already exists, or a conflicting operation is under way."""


class XCRateLimitError(XCHTTPError):
    """429: throttled; `retry_after` holds the server's hint in seconds when it gave one."""

    retryable = True


class XCServerError(XCHTTPError):
    """5xx: the tenant failed; the outcome of a create is unknown until read back."""

    retryable = True


class XCTimeoutError(XCError):
    """A poll deadline passed; `pending` says what was still awaited."""

    retryable = True

    def __init__(self, pending: str, waited: float) -> None:
        self.pending = pending
        self.waited = waited
        super().__init__(f"timed out after {waited:.1f}s waiting for {pending}")


class XCPartialListError(XCError):
    """A list answered with a non-empty `errors` array: the items may be incomplete."""

    retryable = True

    def __init__(self, what: str, items: list[dict[str, Any]], errors: list[Any]) -> None:
        self.items = items
        self.errors = errors
        super().__init__(f"listing {what} returned errors: {mask(errors)!r:.300}")


_BY_STATUS: Final[dict[int, type[XCHTTPError]]] = {
    400: XCBadRequestError,
    401: XCAuthError,
    403: XCAuthError,
    404: XCNotFoundError,
    409: XCConflictError,
    429: XCRateLimitError,
}


def from_status(status: int) -> type[XCHTTPError]:
    """The error class for an HTTP status: the one table the client uses."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return XCServerError
    if status >= 400:
        return XCBadRequestError
    return XCHTTPError
