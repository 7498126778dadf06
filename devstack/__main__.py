"""``python -m devstack <command>``: local stand-ins for the services the workers call.

Each subcommand is one entry in ``COMMANDS``: a help line, a function that adds its
arguments and a function that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any


@dataclass(frozen=True, slots=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stop.wait()


def _xc_arguments(parser: argparse.ArgumentParser) -> None:
    from devstack.xc.models import DEFAULT_TENANT

    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: a free port)")
    parser.add_argument("--token", help="API token to accept (default: a random one, printed)")
    parser.add_argument("--tenant", default=DEFAULT_TENANT, help=f"tenant id (default {DEFAULT_TENANT})")
    parser.add_argument("--verbose", action="store_true", help="log every request")


def _run_xc(args: argparse.Namespace) -> int:
    from devstack.xc import XCServer

    token = args.token or secrets.token_urlsafe(24)
    server = XCServer(args.host, args.port, token=token, tenant=args.tenant, quiet=not args.verbose)
    server.start()
    try:
        print(f"XC emulator for tenant {args.tenant} listening on {server.url}", flush=True)
        print(f"XC_URL={server.url}", flush=True)
        print(f"XC_TOKEN={token}", flush=True)
        print(f"Admin API: {server.url}/_emulator/ (no auth). Ctrl-C to stop.", flush=True)
        _wait_for_stop()
    finally:
        server.stop()
    return 0


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the workers' own log lines and every HTTP request"
    )


def _run_demo(args: argparse.Namespace) -> int:
    from devstack.demo import run_demo

    return run_demo(verbose=args.verbose)


def _up_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ttl", type=int, default=300, help="TTL_EXTENSION_SECONDS for udf_dispatch")
    parser.add_argument("--no-pebble", action="store_true", help="start without Pebble and the DNS server")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the workers' own log lines and every HTTP request",
    )


def _python_command() -> str:
    """This interpreter as a shell would name it from the current directory (`.venv/bin/python`)."""
    import os

    path = sys.executable
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


def _run_up(args: argparse.Namespace) -> int:
    from devstack.stack import LocalStack, StackOptions
    from devstack.trace import Console, quiet_logs

    options = StackOptions(
        ttl_extension_seconds=args.ttl,
        pebble=not args.no_pebble,
        quiet_workers=not args.verbose,
        access_logs=args.verbose,
    )
    with quiet_logs(not args.verbose), LocalStack(options) as stack:
        assert stack.invoke is not None and stack.router is not None
        lines = [
            "Local stack",
            f"  moto (AWS)       {stack.moto_url}",
            f"  XC emulator      {stack.xc.url}  (state: {stack.xc.url}/_emulator/state)",
        ]
        if stack.ari is not None:
            lines += [
                f"  ACME (Pebble)    {stack.ari.directory_url}  (with renewalInfo)",
                f"  DNS (Route 53)   {stack.dns.address}",
            ]
        lines += [
            f"  Lambda invoke    {stack.invoke.url}  (every deployable in deployables.toml)",
            "",
            "Seeded",
        ]
        lines += [f"  {line}" for line in stack.seeds()]
        lines += ["", "Wired (what the deployed triggers do)"]
        lines += [f"  {line}" for line in stack.router.wiring()]
        example = "ns_create --event tests/events/ns_create_basic.json"
        lines += [
            "",
            "To run a worker against this stack, paste this into a shell at the repository root:",
            "",
            stack.exports(),
            "",
            f"{_python_command()} -m devstack invoke {example}",
            "",
        ]
        print("\n".join(lines), flush=True)
        console = Console(sys.stdout)
        stack.invoke.on_invocation = console.invocation
        stack.router.wrap_handlers(console.traced)
        stop = threading.Event()
        routing = threading.Thread(target=stack.router.run, args=(stop,), name="devstack-router", daemon=True)
        routing.start()
        print(
            "Ready: one line per invocation follows"
            + ("" if args.verbose else " (-v adds the logs)")
            + ". Ctrl-C to stop.",
            flush=True,
        )
        try:
            _wait_for_stop()
        finally:
            stop.set()
            routing.join(timeout=30)
    print("Stopped.", flush=True)
    return 0


def _invoke_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("deployable", help="a name from deployables.toml, e.g. ns_create or apilab-pre")
    parser.add_argument("--event", required=True, help="JSON file with the event ('-' for stdin)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="the function's timeout in seconds (default: the deployed one, 60 or 180)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the worker's log lines and metrics (on stderr)"
    )
    parser.add_argument("--traceback", action="store_true", help="show the traceback of an unexpected error")


class _BadInput(Exception):
    """The command line or the event file is wrong: one line, exit status 2."""


def _read_event(source: str) -> Any:
    """The event in the file `source` ('-': standard input). Raises _BadInput naming the problem."""
    import json
    from pathlib import Path

    where = "standard input" if source == "-" else source
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text()
        except FileNotFoundError:
            raise _BadInput(f"--event {source}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _BadInput(f"--event {source}: cannot be read ({type(exc).__name__})") from None
    if not text.strip():
        raise _BadInput(f"--event {where} is empty: give the event as JSON, e.g. {{}}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _BadInput(f"--event {where} is not JSON: {exc}") from None


def _run_invoke(args: argparse.Namespace) -> int:
    """Exit status: 0 the worker succeeded; 1 it failed; 2 the input was refused (a bad command line
    or event file, an InputError raised, or a 400 answered). Every failure is one line on stderr; the
    result, when there is one, is JSON on stdout."""
    import contextlib
    import json
    import os
    import tomllib
    import traceback
    from pathlib import Path

    from devstack.lambda_invoke import InvokeContext, default_timeouts, function_name_for
    from devstack.router import handler_for
    from devstack.trace import one_line, outcome
    from shared.errors import InputError, TopsError

    manifest = tomllib.loads((Path(__file__).resolve().parent.parent / "deployables.toml").read_text())
    modules = {d["name"]: d["module"] for d in manifest["deployable"]}
    name = args.deployable
    try:
        if name not in modules:
            raise _BadInput(f"unknown deployable {name!r}; known: {', '.join(modules)}")
        event = _read_event(args.event)
    except _BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if not args.verbose:  # the result or the one-line error says what happened
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    function = function_name_for(name)
    timeout = args.timeout or default_timeouts().get(function, 60.0)

    # The worker's log lines and metrics are printed to stdout; keep stdout for the result.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            handler = handler_for(modules[name])
            result = handler(event, InvokeContext(function_name=function, timeout_s=timeout))
        except TopsError as exc:
            print(f"{name}: {type(exc).__name__}: {one_line(exc, 1000)}", file=sys.stderr)
            return 2 if isinstance(exc, InputError) else 1
        except Exception as exc:  # a bug or a library's own error: one line unless asked
            if args.traceback:
                traceback.print_exc()
            print(
                f"{name}: unexpected {type(exc).__name__}: {one_line(exc, 1000)}"
                + ("" if args.traceback else " (--traceback shows where)"),
                file=sys.stderr,
            )
            return 1
    print(json.dumps(result, indent=2, default=str), flush=True)
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
    if status == 200:
        return 0
    print(f"{name}: {outcome(result)}", file=sys.stderr)
    return 2 if status == 400 else 1


COMMANDS: dict[str, Command] = {
    "xc": Command("serve the fake F5 XC API in the foreground", _xc_arguments, _run_xc),
    "demo": Command(
        "run the whole system once on a fresh local stack and print a summary", _demo_arguments, _run_demo
    ),
    "up": Command("start and seed the local stack and keep it running", _up_arguments, _run_up),
    "invoke": Command(
        "run one worker's handler once in this process, with the current environment",
        _invoke_arguments,
        _run_invoke,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description="Local stand-ins for the services the workers call."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
