"""`make demo` in CI: the whole scenario on a fresh local stack, through the real handlers."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.demo import LEARNERS, run_demo
from devstack.pebble import PEBBLE_BINARY

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _invoke(
    deployable: str, event: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m devstack invoke <deployable> --event <event>` from the repository root; `env` replaces
    the environment when given."""
    return subprocess.run(
        [sys.executable, "-m", "devstack", "invoke", deployable, "--event", str(event)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.skipif(not (shutil.which("pebble") or Path(PEBBLE_BINARY).exists()), reason="pebble missing")
def test_demo_runs_every_stage_and_leaves_the_expected_tenant():
    # GIVEN a fresh local stack WHEN the demo runs
    out = io.StringIO()
    status = run_demo(out)
    text = out.getvalue()
    # THEN every stage passed, each delivery printed a line, and the summary shows the end state
    assert status == 0, text
    assert text.count("FAIL") == 0
    ending, staying = LEARNERS
    assert "udf_worker [INSERT ample-gull] ok" in text and "udf_worker [REMOVE ample-gull] ok" in text
    assert "-> tops-udf-helper-example-pre 200" in text and "-> tops-ns-remove 200" in text
    assert f"namespace {staying.petname}" in text and f"namespace {ending.petname}" not in text
    assert "certificate shared/lab-sec-wildcard-dev" in text
    assert f"user {staying.email}" in text and f"user {ending.email}" not in text
    assert "COMPLETED" in text and "(deleted: torn down)" in text


def test_devstack_invoke_runs_a_handler_and_reports_bad_input(tmp_path):
    # GIVEN an event with a bad namespace name (validated before any AWS or XC call)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ssm_base_path": "/tenantOps-dev/sec-lab", "namespace_name": "Bad_Name"}))
    # WHEN the CLI runs ns_create with it
    done = _invoke("ns_create", event, env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"})
    # THEN it prints the handler's 400 naming the field as JSON, says so in one line, and exits 2
    assert done.returncode == 2, done.stderr
    result = json.loads(done.stdout)
    assert result["statusCode"] == 400 and result["body"]["field"] == "namespace_name"
    assert done.stderr.startswith("ns_create: 400 InputError: invalid namespace_name: ")
    assert done.stderr.count("\n") == 1


def test_devstack_invoke_unknown_deployable_exits_2(tmp_path):
    event = tmp_path / "e.json"
    event.write_text("{}")
    done = _invoke("nope", event)
    assert done.returncode == 2 and "unknown deployable 'nope'" in done.stderr
