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


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="show the workers' own log lines")


def _run_demo(args: argparse.Namespace) -> int:
    from devstack.demo import run_demo

    return run_demo(verbose=args.verbose)


def _up_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ttl", type=int, default=300, help="TTL_EXTENSION_SECONDS for udf_dispatch")
    parser.add_argument("--no-pebble", action="store_true", help="start without Pebble and the DNS server")


def _run_up(args: argparse.Namespace) -> int:
    import threading

    from devstack.stack import LocalStack, StackOptions

    with LocalStack(StackOptions(ttl_extension_seconds=args.ttl, pebble=not args.no_pebble)) as stack:
        print(f"moto (AWS):       {stack.moto_url}", flush=True)
        print(f"XC emulator:      {stack.xc.url}  (admin: {stack.xc.url}/_emulator/state)", flush=True)
        if stack.pebble is not None:
            print(f"Pebble (ACME):    {stack.pebble.directory_url}", flush=True)
            print(f"DNS (Route 53):   {stack.dns.address}", flush=True)
        assert stack.invoke is not None and stack.router is not None
        print(f"Lambda invoke:    {stack.invoke.url}", flush=True)
        print("\nThe router delivers SQS and stream records every second and fires udf_clean every minute.")
        print("To run a worker against this stack from another shell:\n", flush=True)
        print(stack.exports(), flush=True)
        print("\n.venv/bin/python -m devstack invoke ns_create --event tests/events/ns_create_basic.json\n"
              "Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        router = threading.Thread(target=stack.router.run, args=(stop,), daemon=True)
        router.start()
        try:
            _wait_for_stop()
        finally:
            stop.set()
            router.join(timeout=5)
    return 0


def _invoke_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("deployable", help="a name from deployables.toml, e.g. ns_create or apilab-pre")
    parser.add_argument("--event", required=True, help="JSON file with the event ('-' for stdin)")
    parser.add_argument("--timeout", type=float, default=60.0, help="the function's timeout in seconds")


def _run_invoke(args: argparse.Namespace) -> int:
    import json
    import tomllib
    from pathlib import Path

    from devstack.lambda_invoke import InvokeContext, function_name_for
    from devstack.router import handler_for

    manifest = tomllib.loads((Path(__file__).resolve().parent.parent / "deployables.toml").read_text())
    modules = {d["name"]: d["module"] for d in manifest["deployable"]}
    if args.deployable not in modules:
        print(f"unknown deployable {args.deployable!r}; known: {', '.join(modules)}", file=sys.stderr)
        return 2
    text = sys.stdin.read() if args.event == "-" else Path(args.event).read_text()
    event = json.loads(text)
    context = InvokeContext(function_name=function_name_for(args.deployable), timeout_s=args.timeout)
    result = handler_for(modules[args.deployable])(event, context)
    print(json.dumps(result, indent=2, default=str), flush=True)
    failed = isinstance(result, dict) and result.get("statusCode", 200) != 200
    return 1 if failed else 0


COMMANDS: dict[str, Command] = {
    "xc": Command("serve the fake F5 XC API in the foreground", _xc_arguments, _run_xc),
    "demo": Command("run the whole system once on a fresh local stack and print a summary",
                    _demo_arguments, _run_demo),
    "up": Command("start and seed the local stack and keep it running", _up_arguments, _run_up),
    "invoke": Command("run one worker's handler once in this process, with the current environment",
                      _invoke_arguments, _run_invoke),
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
