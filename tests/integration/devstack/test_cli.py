"""`python -m devstack invoke` refuses bad input in one line (exit 2) and keeps stdout for the result;
`python -m devstack --help` lists the commands. In process: no stack is needed for any of these."""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest

from devstack.__main__ import main

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _quiet_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker's Logger takes its level when its module is imported: import them at the session's
    # level first, so that the CLI's quiet default does not stay with them for the tests that follow.
    for module in ("token_refresh.function", "udf_dispatch.function", "udf_worker.function"):
        importlib.import_module(module)
    # what `invoke` sets by default, pinned here so that it is restored after each test
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def _invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["invoke", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "error: --event {path} is empty: give the event as JSON, e.g. {{}}\n"),
        ("  \n", "error: --event {path} is empty: give the event as JSON, e.g. {{}}\n"),
        (
            "{not json",
            "error: --event {path} is not JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)\n",
        ),
    ],
)
def test_invoke_event_file_that_is_no_json_is_one_line_exit_2(tmp_path, capsys, content, says):
    path = tmp_path / "event.json"
    path.write_text(content)
    assert _invoke(capsys, "ns_create", "--event", str(path)) == (2, "", says.format(path=path))


def test_invoke_missing_event_file_is_one_line_exit_2(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    expected = (2, "", f"error: --event {missing}: no such file\n")
    assert _invoke(capsys, "ns_create", "--event", str(missing)) == expected


def test_invoke_stdin_event_read_from_dash(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert (
        _invoke(capsys, "ns_create", "--event", "-")[2]
        == "error: --event standard input is empty: give the event as JSON, e.g. {}\n"
    )


@pytest.mark.parametrize(
    ("deployable", "event", "line"),
    [
        (
            "token_refresh",
            '{"force": "yes"}',
            "token_refresh: InputError: invalid force: must be true or false, got 'yes'\n",
        ),
        (
            "udf_dispatch",
            "{}",
            "udf_dispatch: InputError: invalid Records: must be a non-empty list of SQS messages, got None\n",
        ),
        (
            "udf_worker",
            "{}",
            "udf_worker: InputError: invalid Records: must be a non-empty list of DynamoDB "
            "stream records, got None\n",
        ),
    ],
)
def test_invoke_event_a_worker_refuses_is_one_line_exit_2(tmp_path, capsys, deployable, event, line):
    # GIVEN an event the worker raises InputError for (before reading any configuration)
    path = tmp_path / "event.json"
    path.write_text(event)
    # WHEN invoked THEN one line naming the field and the value, nothing on stdout, exit 2
    assert _invoke(capsys, deployable, "--event", str(path)) == (2, "", line)


def test_invoke_unexpected_error_is_one_line_and_traceback_on_request(tmp_path, capsys, monkeypatch):
    # GIVEN a handler that fails in a way no code path expected
    def broken(event: Any, context: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr("devstack.router.handler_for", lambda module: broken)
    path = tmp_path / "event.json"
    path.write_text("{}")
    # WHEN invoked THEN one line, exit 1; with --traceback the traceback comes first
    status, out, err = _invoke(capsys, "ns_create", "--event", str(path))
    line = "ns_create: unexpected KeyError: 'surprise'"
    assert (status, out, err) == (1, "", f"{line} (--traceback shows where)\n")
    status, out, err = _invoke(capsys, "ns_create", "--event", str(path), "--traceback")
    assert status == 1 and err.startswith("Traceback") and err.endswith(f"{line}\n")


def test_invoke_result_alone_on_stdout_and_timeout_of_the_deployed_function(tmp_path, capsys, monkeypatch):
    # GIVEN a handler that logs to stdout, as Powertools does, and reports its remaining time
    def chatty(event: Any, context: Any) -> Any:
        print("a log line")
        return {"statusCode": 200, "body": {"left_s": round(context.get_remaining_time_in_millis() / 1000)}}

    monkeypatch.setattr("devstack.router.handler_for", lambda module: chatty)
    path = tmp_path / "event.json"
    path.write_text("{}")
    # WHEN acme_client is invoked THEN stdout holds only the result, with acme_client's 180 s timeout
    status, out, err = _invoke(capsys, "acme_client", "--event", str(path))
    assert status == 0 and err == "a log line\n"
    assert out == '{\n  "statusCode": 200,\n  "body": {\n    "left_s": 180\n  }\n}\n'


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("xc", "demo", "up", "invoke"))
