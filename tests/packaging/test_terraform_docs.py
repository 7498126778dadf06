"""The Terraform the docs hand to the infrastructure repository: docs/operations.md (every change the
project recommends) and the README's "Deploying" section (the CI role).

Every `hcl` block is parsed with python-hcl2 (always) and checked with `terraform fmt -check` when a
terraform binary is on PATH (skipped, saying so, otherwise). The parsed blocks are then checked for
the settings each recommended change is about, so a snippet that drifts from its text fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import hcl2
import pytest

from scripts.package import ROOT

pytestmark = pytest.mark.packaging

OPERATIONS = ROOT / "docs" / "operations.md"
README = ROOT / "README.md"
_BLOCK = re.compile(r"^```hcl\n(.*?)^```", re.S | re.M)


def _deploying_section() -> str:
    text = README.read_text(encoding="utf-8")
    assert "\n## Deploying\n" in text, "README.md has no '## Deploying' section"
    return text.split("\n## Deploying\n", 1)[1].split("\n## ", 1)[0]


def _snippets() -> list[tuple[str, str]]:
    """(label, HCL text) for every hcl block of docs/operations.md and README's Deploying section."""
    found: list[tuple[str, str]] = []
    pages = (("operations", OPERATIONS.read_text(encoding="utf-8")), ("readme", _deploying_section()))
    for label, text in pages:
        found += [(f"{label}-{index}", block) for index, block in enumerate(_BLOCK.findall(text), start=1)]
    return found


SNIPPETS = _snippets()


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of strings and labels; drop them, recursively."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(key): _unquote(item) for key, item in value.items() if key != "__is_block__"}
    return value


def _resources(kind: str, name: str) -> list[dict[str, Any]]:
    """Every body of `resource "<kind>" "<name>"` across the operations page's blocks."""
    bodies: list[dict[str, Any]] = []
    for label, text in SNIPPETS:
        if not label.startswith("operations"):
            continue
        for resource in _unquote(hcl2.loads(text)).get("resource", []):
            bodies += [resource[kind][name]] if name in resource.get(kind, {}) else []
    return bodies


def _merged(kind: str, name: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for body in _resources(kind, name):
        merged.update(body)
    assert merged, f'docs/operations.md has no resource "{kind}" "{name}"'
    return merged


@pytest.mark.parametrize(("label", "text"), SNIPPETS, ids=[label for label, _ in SNIPPETS])
def test_snippet_parses_as_hcl(label: str, text: str) -> None:
    parsed = hcl2.loads(text)
    assert parsed, f"{label} holds nothing"


@pytest.mark.parametrize(("label", "text"), SNIPPETS, ids=[label for label, _ in SNIPPETS])
def test_snippet_passes_terraform_fmt_check(label: str, text: str) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH: `terraform fmt -check` NOT run (the HCL parse test still ran)")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-diff", "-no-color", "-"],
        input=text,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"{label} is not in `terraform fmt` style:\n{result.stdout}"


def test_docs_have_snippets_for_both_pages() -> None:
    labels = {label.split("-")[0] for label, _ in SNIPPETS}
    assert labels == {"operations", "readme"}


def test_operations_switches_the_runtime_to_python313() -> None:
    locals_ = [_unquote(hcl2.loads(text)).get("locals", []) for label, text in SNIPPETS]
    values = [block.get("lambda_runtime") for blocks in locals_ for block in blocks]
    assert "python3.13" in values
    assert _merged("aws_lambda_function", "udf_worker_lambda")["runtime"] == "${local.lambda_runtime}"


def test_operations_sets_the_worker_timeout_from_a_variable_and_recommends_a_value() -> None:
    assert _merged("aws_lambda_function", "udf_worker_lambda")["timeout"] == "${var.udf_worker_timeout}"
    text = OPERATIONS.read_text(encoding="utf-8")
    assert "**Recommended:** 180 s." in text and "**Recommended:** 4." in text
    assert "TODO" not in text


def test_operations_stream_mapping_retries_bisects_and_sends_failures_to_the_dlq() -> None:
    mapping = _merged("aws_lambda_event_source_mapping", "udf_worker_dynamodb_trigger")
    assert 1 <= mapping["maximum_retry_attempts"] <= 10
    assert mapping["bisect_batch_on_function_error"] is True
    destination = mapping["destination_config"][0]["on_failure"][0]["destination_arn"]
    assert destination == "${aws_sqs_queue.udf_dlq.arn}"
    assert mapping["parallelization_factor"] == "${var.udf_worker_parallelization_factor}"
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]


def test_operations_acme_schedule_runs_every_6_hours_and_tells_the_worker() -> None:
    rule = _merged("aws_cloudwatch_event_rule", "acme_daily_trigger")
    assert rule["schedule_expression"] == "rate(6 hours)"
    acme = _merged("aws_lambda_function", "acme_client_mcn_lambda")
    assert acme["environment"][0]["variables"]["ACME_SCHEDULE_HOURS"] == "6"


def test_operations_batch_item_failures_on_the_dispatch_mapping_with_the_variable() -> None:
    dispatch = _merged("aws_lambda_event_source_mapping", "udf_dispatch_sqs_trigger")
    assert dispatch["function_response_types"] == ["ReportBatchItemFailures"]
    worker = _merged("aws_lambda_function", "udf_worker_lambda")
    assert worker["environment"][0]["variables"]["REPORT_BATCH_ITEM_FAILURES"] == "true"


def test_operations_every_change_names_its_resource_and_what_happens_without_it() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) == 6
    for section in sections:
        title = section.splitlines()[0]
        assert "**Touches:**" in section, title
        assert "**If not made" in section, title
        assert "```hcl" in section, title


def test_readme_ci_role_trusts_main_and_dev_and_may_upload_to_both_buckets() -> None:
    blocks = [_unquote(hcl2.loads(text)) for label, text in SNIPPETS if label.startswith("readme")]
    data = [entry for block in blocks for entry in block.get("data", [])]
    documents = {
        name: body for entry in data for name, body in entry.get("aws_iam_policy_document", {}).items()
    }
    trust = documents["workers_ci_trust"]["statement"][0]
    subjects = next(c["values"] for c in trust["condition"] if c["variable"].endswith(":sub"))
    assert sorted(s.rsplit(":", 1)[1] for s in subjects) == ["refs/heads/dev", "refs/heads/main"]
    statements = documents["workers_ci_upload"]["statement"]
    actions = {action for statement in statements for action in statement["actions"]}
    assert {"s3:PutObject", "s3:GetObject", "s3:ListBucket"} <= actions
    resources = {resource for statement in statements for resource in statement["resources"]}
    assert {"arn:aws:s3:::tops-lambda-bucket/*", "arn:aws:s3:::tops-lambda-bucket-dev/*"} <= resources
    assert "AWS_ROLE_ARN" in _deploying_section()


def test_workflow_reads_the_role_variable_the_readme_names() -> None:
    workflow = (ROOT / ".github" / "workflows" / "build.yml").read_text(encoding="utf-8")
    assert "role-to-assume: ${{ vars.AWS_ROLE_ARN }}" in workflow
    assert "python -m scripts.upload --branch" in workflow
