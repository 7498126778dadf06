"""Logging: one Powertools Logger per worker, with secrets masked on every path.

Core modules call `logging.getLogger(__name__)` only. A worker's logger is named after its package,
so the worker's own modules propagate to it; `get_logger` also gives the `shared` loggers the same
handler and level.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

MASK: Final = "***"
_MIN_SECRET_LEN: Final = 6

_SENSITIVE_KEY = re.compile(
    r"^(authorization|password|passwd|token|.*[-_]token|token[-_]value|.*secret.*|.*private[-_]?key.*|"
    r"privkey|hmac[-_]?key|key[-_]pem|account[-_]key)$",
    re.IGNORECASE,
)
# The key body may be raw or JSON-escaped ("\\n"), and may be cut short (a truncated error body).
_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|\\[nr])*(?:-----END \1PRIVATE KEY-----)?"
)
_AUTH_HEADER = re.compile(r"(APIToken|Bearer)\s+[^\s\"',}]+", re.IGNORECASE)

_QUIET_LIBRARIES: Final = ("botocore", "boto3", "urllib3", "s3transfer")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Mask this exact value wherever it appears in a log line from now on."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


def mask_text(text: str) -> str:
    """Remove PEM private keys, auth header values and registered secrets from a string."""
    text = _PEM_PRIVATE.sub(lambda m: f"-----BEGIN {m.group(1)}PRIVATE KEY-----{MASK}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask(value: Any) -> Any:
    """Return a copy of `value` with sensitive keys masked at any depth and strings cleaned."""
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(k, str) and _SENSITIVE_KEY.match(k) and v not in (None, "") else mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


class MaskingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter with every record passed through `mask`."""

    def serialize(self, log: Any) -> str:
        return mask_text(super().serialize(mask(log)))


_factory_installed = False


def _install_record_factory() -> None:
    """Mask every log record where it is made, so that no handler (the Lambda runtime's, a test
    runner's) ever sees a secret in a message, its arguments or a traceback. Chains to the previous
    factory; installed once."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it for the handler to report
            return record
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def get_logger(service: str) -> Logger:
    """The worker's Logger (JSON, masked). Safe to call at import: it reads no AWS state."""
    _install_record_factory()
    logger = Logger(service=service, logger_formatter=MaskingFormatter(), utc=True)
    logging.getLogger("shared")  # make sure it is registered before its config is copied
    # At DEBUG the SDK and urllib3 log whole responses, decrypted SSM parameters included, before any
    # Secret exists to mask them: they never log below INFO here.
    for noisy in _QUIET_LIBRARIES:
        library = logging.getLogger(noisy)
        if library.getEffectiveLevel() < logging.INFO:
            library.setLevel(logging.INFO)
    copy_config_to_registered_loggers(source_logger=logger, include={"shared"})
    return logger
