"""The newcomer's walk, as README "The local stack and `make demo`" tells it.

`python -m devstack up` (what `make devstack` runs) starts in the background; then every
`devstack invoke` the README shows runs in order, in its own process with only the stack's `export`
block for environment, followed by the one the stack itself prints; then the bad inputs, each with
its one-line error and exit status; then Ctrl-C. Nothing here sleeps: every wait is for a line the
stack prints (its `Ready` line, the invocation lines), bounded by a generous deadline for a busy
machine.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.pebble import PEBBLE_BINARY

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (shutil.which("pebble") or Path(PEBBLE_BINARY).exists()), reason="pebble missing"),
]

ROOT = Path(__file__).resolve().parents[3]
README_INVOKE = re.compile(r"^\.venv/bin/python -m devstack invoke (\S+) --event (\S+)$", re.MULTILINE)
PRINTED_INVOKE = re.compile(r"^(\S+) -m devstack invoke (\S+) --event (\S+)$")
INVOCATION_LINE = re.compile(r"^\[\s*\d+\.\d\ds\] (  -> )?\S+ .*\(\d+\.\d\ds\)$")
STARTUP_S = 180.0  # bounds for a busy two-core machine; the waits end as soon as the line is there
STEP_S = 180.0
# What the stack prints after an invoke whose effect it routes on (README: "the stack prints: ...").
ROUTED = {
    "acme_client": re.compile(r"cert_mgmt \[lab-sec-wildcard-dev/(fullchain|privkey)\.pem\] 200 replaced"),
    "udf_dispatch": re.compile(r"udf_worker \[INSERT ample-gull\] ok"),
}


@dataclass(frozen=True)
class BadInput:
    """A refused input: the command's arguments, its standard input, and the one line it must print."""

    args: tuple[str, ...]
    stdin: str
    status: int
    error: str  # a regular expression for the whole line on stderr


BAD_INPUTS = (
    BadInput(
        ("ns_create", "--event", "-"),
        "",
        2,
        r"error: --event standard input is empty: give the event as JSON, e\.g\. \{\}",
    ),
    BadInput(
        ("ns_create", "--event", "-"),
        "not json {",
        2,
        r"error: --event standard input is not JSON: Expecting value: line 1 column 1 \(char 0\)",
    ),
    BadInput(
        ("ns_create", "--event", "tests/events/no_such_event.json"),
        "",
        2,
        r"error: --event tests/events/no_such_event\.json: no such file",
    ),
    BadInput(
        ("token_refresh", "--event", "tests/events/token_refresh_bad_force.json"),
        "",
        2,
        r"token_refresh: InputError: invalid force: must be true or false, got 'yes'",
    ),
    BadInput(
        ("udf_dispatch", "--event", "-"),
        "{}",
        2,
        r"udf_dispatch: InputError: invalid Records: must be a non-empty list of SQS messages, "
        r"got None",
    ),
    BadInput(
        ("udf_worker", "--event", "-"),
        "{}",
        2,
        r"udf_worker: InputError: invalid Records: must be a non-empty list of DynamoDB stream records, "
        r"got None",
    ),
    BadInput(
        ("cert_mgmt", "--event", "-"),
        "{}",
        2,
        r"cert_mgmt: InputError: invalid Records: holds no S3 record: .*",
    ),
    BadInput(
        ("ns_create", "--event", "tests/events/ns_create_bad_name.json"),
        "",
        2,
        r"ns_create: 400 InputError: invalid namespace_name: .*got 'Ample_Gull'",
    ),
    BadInput(
        ("no_such_worker", "--event", "tests/events/ns_create_basic.json"),
        "",
        2,
        r"error: unknown deployable 'no_such_worker'; known: acme_client, .*",
    ),
)


class Stack:
    """`python -m devstack up` as a child process, its output collected line by line."""

    def __init__(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
        }
        # Its own process group, so that a stack that will not stop is ended with its Pebble child.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up"],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str], *, start: int = 0, timeout_s: float = STEP_S) -> int:
        """The index of the first line from `start` that matches; fails when the stack exits or the
        deadline passes first."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for index in range(start, len(self.lines)):
                    if pattern.search(self.lines[index]):
                        return index
                if self.process.poll() is not None and not self._reader.is_alive():
                    pytest.fail(
                        f"the stack exited ({self.process.returncode}) before {pattern.pattern!r}:\n"
                        + "\n".join(self.lines)
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(
                        f"no line {pattern.pattern!r} within {timeout_s:.0f}s:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(left)

    def exports(self, until: int) -> dict[str, str]:
        found = {}
        for line in self.lines[:until]:
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                found[name] = value
        return found

    def stop(self) -> int | None:
        """Ctrl-C, as a person stops it; the exit status (None: it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            status: int | None = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            status = None
        self._reader.join(timeout=10)
        return status


@pytest.fixture
def stack() -> Iterator[Stack]:
    running = Stack()
    try:
        yield running
    finally:
        running.stop()


def _run(argv: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=ROOT, env=env, input=stdin, check=False, capture_output=True, text=True, timeout=STEP_S
    )


def _shell_env(exports: dict[str, str]) -> dict[str, str]:
    """A second shell: a plain environment plus the pasted `export` block."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        **exports,
    }


def test_newcomer_walk_every_documented_invoke_works_and_bad_input_is_one_line(stack: Stack) -> None:
    began = time.monotonic()
    # GIVEN `make devstack` running in the background, and the README's commands
    commands = README_INVOKE.findall((ROOT / "README.md").read_text())
    assert len(commands) >= 10, "the README's walk is gone"
    ready = stack.wait_for(re.compile(r"^Ready: "), timeout_s=STARTUP_S)
    exports = stack.exports(ready)
    expected = {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "SSM_BASE_PATH", "ACME_DIRECTORY_URL"}
    assert expected <= set(exports)
    env = _shell_env(exports)
    printed = [m.groups() for line in stack.lines[:ready] if (m := PRINTED_INVOKE.match(line))]
    assert printed, "the stack printed no invoke to try"
    for _, event in commands:
        assert (ROOT / event).is_file(), f"the README names {event}, which does not exist"

    # WHEN every command of the README runs in order, in a second shell
    for deployable, event in commands:
        mark = len(stack.lines)
        done = _run([sys.executable, "-m", "devstack", "invoke", deployable, "--event", event], env)
        # THEN it succeeds, prints its result as JSON and nothing else
        assert done.returncode == 0, f"{deployable} {event}: {done.stderr}\n{done.stdout}"
        json.loads(done.stdout)
        assert done.stderr == "", done.stderr
        # AND what the stack routes on from it arrives (the S3 object, the state item)
        if deployable in ROUTED:
            stack.wait_for(ROUTED[deployable], start=mark)

    # AND the command the stack printed works as printed
    for python, deployable, event in printed:
        done = _run([*shlex.split(python), "-m", "devstack", "invoke", deployable, "--event", event], env)
        assert done.returncode == 0, f"{python} ... {deployable} {event}: {done.stderr}"

    # WHEN the bad inputs run (side by side: they change nothing)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda bad: _run([sys.executable, "-m", "devstack", "invoke", *bad.args], env, bad.stdin),
                BAD_INPUTS,
            )
        )
    # THEN each is refused with exit status 2 and exactly one line naming the problem
    for bad, done in zip(BAD_INPUTS, answers, strict=True):
        assert done.returncode == bad.status, f"{bad.args}: {done.returncode} {done.stderr}"
        assert re.fullmatch(bad.error, done.stderr.rstrip("\n")), f"{bad.args}: {done.stderr!r}"
        assert "Traceback" not in done.stdout + done.stderr

    # WHEN the stack is stopped with Ctrl-C THEN it stops cleanly
    assert stack.stop() == 0, stack.output()
    # AND its terminal was quiet: after `Ready`, one line per invocation and nothing else
    after = stack.lines[ready + 1 :]
    assert after[-1] == "Stopped."
    noise = [line for line in after[:-1] if not INVOCATION_LINE.match(line)]
    assert noise == [], "\n".join(noise)
    assert any("-> tops-udf-helper-waaplab-pre 200" in line for line in after)
    print(
        f"newcomer walk: {len(commands) + len(printed)} invokes and {len(BAD_INPUTS)} bad inputs "
        f"in {time.monotonic() - began:.1f}s"
    )
