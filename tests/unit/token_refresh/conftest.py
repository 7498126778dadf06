"""Fixtures for the token_refresh tests (integration tests import `output` from here)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest

WORKER = "token_refresh"


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], str]]:
    """Everything the worker writes, at DEBUG: its log handlers' streams (bound to stdout at import
    time, so capsys alone misses them) plus stdout and stderr (EMF metrics, tracebacks)."""
    import token_refresh.function  # noqa: F401  (builds the worker's logger)

    buffer = io.StringIO()
    loggers = logging.root.manager.loggerDict
    names = [WORKER, *(n for n in loggers if n == "shared" or n.startswith("shared."))]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)  # setLevel, not the attribute: it clears the level cache
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                monkeypatch.setattr(handler, "stream", buffer)
    seen: list[str] = []

    def read() -> str:
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return buffer.getvalue() + "".join(seen)

    yield read
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
