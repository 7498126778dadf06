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


COMMANDS: dict[str, Command] = {
    "xc": Command("serve the fake F5 XC API in the foreground", _xc_arguments, _run_xc),
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
