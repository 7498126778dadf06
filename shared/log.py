"""Logging: one Powertools Logger per worker, with secrets masked on every path.

Core modules call `logging.getLogger(__name__)` only. A worker's logger is named after its package,
so the worker's own modules propagate to it; `get_logger` also gives the `shared` loggers the same
handler and level.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from shared.secret import MASK, mask, mask_text, register_secret

_QUIET_LIBRARIES: Final = ("botocore", "boto3", "urllib3", "s3transfer")

# The masker lives in shared.secret (exceptions use it too); re-exported for the log's users.
__all__ = ["MASK", "MaskingFormatter", "get_logger", "mask", "mask_text", "register_secret"]


class MaskingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter with every record passed through `mask`."""

    def serialize(self, log: Any) -> str:
        return mask_text(super().serialize(mask(log)))


@functools.cache  # installed once per process
def _install_record_factory() -> None:
    """Mask every log record where it is made, so that no handler (the Lambda runtime's, a test
    runner's) ever sees a secret in a message, its arguments or a traceback. Chains to the previous
    factory."""
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
