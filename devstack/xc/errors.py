"""XC-shaped errors: the gRPC-gateway status body ``{"code", "details", "message"}``.

One table (``GRPC_CODES``) fixes the gRPC code for each HTTP status, following
``docs/xc-api.md`` §4.2. Model code raises the typed errors below; the HTTP
layer turns any of them into a response with ``error.status`` and ``error.body()``.
"""

from __future__ import annotations

from typing import Any

# HTTP status -> gRPC code. 409 defaults to 6 (already exists); conflicts use 10.
GRPC_CODES: dict[int, int] = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    405: 12,
    409: 6,
    429: 8,
    500: 13,
    501: 12,
    502: 14,
    503: 14,
    504: 4,
}

DEFAULT_MESSAGES: dict[int, str] = {
    400: "invalid request",
    401: "Unauthorized",
    403: "Forbidden: permission denied",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Object already exists",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def grpc_code_for(status: int) -> int:
    """gRPC code for an HTTP status; 2 (UNKNOWN) when the table has no entry."""
    return GRPC_CODES.get(status, 2)


def error_body(status: int, message: str | None = None, code: int | None = None) -> dict[str, Any]:
    """The JSON body XC sends with an error status."""
    return {
        "code": grpc_code_for(status) if code is None else code,
        "details": [],
        "message": DEFAULT_MESSAGES.get(status, "error") if message is None else message,
    }


class XCAPIError(Exception):
    """Root of the emulator's API errors; carries HTTP status, gRPC code and message."""

    status: int = 500
    code: int = 13

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
            self.code = grpc_code_for(status) if code is None else code
        elif code is not None:
            self.code = code
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.code)


class InvalidArgumentError(XCAPIError):
    """400/3: validation failure; the message names the offending field."""

    status = 400
    code = 3

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class UnauthenticatedError(XCAPIError):
    """401/16: missing, unknown, expired or revoked token."""

    status = 401
    code = 16


class PermissionDeniedError(XCAPIError):
    """403/7."""

    status = 403
    code = 7


class NotFoundError(XCAPIError):
    """404/5."""

    status = 404
    code = 5


class MethodNotAllowedError(XCAPIError):
    """405/12: the route exists but not for this verb."""

    status = 405
    code = 12


class AlreadyExistsError(XCAPIError):
    """409/6, worded as the observed ``Object already exists``."""

    status = 409
    code = 6

    def __init__(self, message: str = "Object already exists") -> None:
        super().__init__(message)


class ConflictError(XCAPIError):
    """409/10 (ABORTED): e.g. a namespace name that is still being deleted."""

    status = 409
    code = 10


class RateLimitedError(XCAPIError):
    """429/8; sets ``Retry-After`` when told how long to wait."""

    status = 429
    code = 8

    def __init__(self, message: str = "Too Many Requests", *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)


class InternalError(XCAPIError):
    """500/13."""

    status = 500
    code = 13


class UnavailableError(XCAPIError):
    """503/14."""

    status = 503
    code = 14


class GatewayTimeoutError(XCAPIError):
    """504/4."""

    status = 504
    code = 4


def error_for_status(status: int, message: str | None = None) -> XCAPIError:
    """A generic error with the table's code for ``status`` (used for configurable statuses)."""
    text = DEFAULT_MESSAGES.get(status, "error") if message is None else message
    return XCAPIError(text, status=status)
