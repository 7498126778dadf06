"""One line per invocation on the local stack's terminal (`up`) and in the demo.

A delivery by the router (an SQS batch, stream records, an S3 notification, a schedule) prints
`<function> [<what>] <outcome> (<seconds>)`; a call through the Lambda invoke endpoint (udf_worker
calling ns_create, ...) prints `  -> <function> <status> (<seconds>)`. Each line starts with the
seconds since the console was made and is written in one piece, so lines of concurrent threads
never mix.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TextIO

from devstack.lambda_invoke import Invocation

Handler = Callable[[Any, Any], Any]
_MAX_TEXT: Final = 200


def one_line(text: object, limit: int = _MAX_TEXT) -> str:
    """`text` on one line, cut at `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe_record(record: dict[str, Any]) -> str:
    """A few words about one record: the heartbeat's petname, the stream change, the S3 key."""
    if "body" in record:
        try:
            return f"heartbeat {json.loads(record['body']).get('petname')}"
        except (ValueError, AttributeError):
            return "unreadable message"
    if "s3" in record:
        return str(record["s3"].get("object", {}).get("key", "?"))
    change = record.get("dynamodb", {})
    image = change.get("NewImage") or change.get("OldImage") or {}
    return f"{record.get('eventName')} {image.get('petname', {}).get('S', '?')}"


def describe_event(event: Any) -> str:
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records:
        return ", ".join(describe_record(r) for r in records if isinstance(r, dict))
    return "schedule"


def outcome(result: Any) -> str:
    """A handler's result in a few words: `ok`, `2 failed`, `200 replaced`, `400 InputError: ...`."""
    if not isinstance(result, dict):
        return "ok"
    if "batchItemFailures" in result:
        failed = len(result.get("batchItemFailures") or [])
        return f"{failed} failed" if failed else "ok"
    if "statusCode" not in result:
        return "ok"
    text = str(result["statusCode"])
    body = result.get("body")
    if isinstance(body, dict):
        if result["statusCode"] != 200 and body.get("error"):
            text += f" {body['error']}: {one_line(body.get('message', ''))}"
        elif isinstance(body.get("action"), str):
            text += f" {body['action']}"
    return text


def invocation_line(call: Invocation) -> str:
    """`  -> <function> <status or error> (<seconds>)` for one call through the invoke endpoint."""
    if call.error is not None:
        status = f"{call.error}: {one_line(call.message or '')}" if call.message else call.error
    else:
        status = outcome(call.result)
    return f"  -> {call.route} {status} ({call.duration_s:.2f}s)"


class Console:
    """Timestamped lines on `out`, one write each (see the module docstring)."""

    def __init__(self, out: TextIO, *, indent: str = "", started: float | None = None) -> None:
        self.out = out
        self.indent = indent  # before each invocation line (the demo nests them under its stages)
        self.started = time.monotonic() if started is None else started
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        line = f"[{time.monotonic() - self.started:6.2f}s] {text}\n"
        with self._lock:
            self.out.write(line)
            self.out.flush()

    def traced(self, name: str, handler: Handler) -> Handler:
        """`handler`, printing one line per call after it returned or raised (it still raises)."""

        def run(event: Any, context: Any) -> Any:
            began = time.monotonic()
            what = describe_event(event)
            try:
                result = handler(event, context)
            except Exception as exc:
                seconds = time.monotonic() - began
                self.say(
                    f"{self.indent}{name} [{what}] raised {type(exc).__name__}: {one_line(exc)} "
                    f"({seconds:.2f}s)"
                )
                raise
            self.say(f"{self.indent}{name} [{what}] {outcome(result)} ({time.monotonic() - began:.2f}s)")
            return result

        return run

    def invocation(self, call: Invocation) -> None:
        """For `LambdaInvokeServer.on_invocation`."""
        self.say(self.indent + invocation_line(call))


@contextmanager
def quiet_logs(quiet: bool = True) -> Iterator[None]:
    """While quiet: no access line per HTTP request to moto (the `werkzeug` logger) and no notes from
    devstack's own modules below ERROR; the invocation lines say what happened."""
    if not quiet:
        yield
        return
    loggers = [logging.getLogger(name) for name in ("werkzeug", "devstack")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
