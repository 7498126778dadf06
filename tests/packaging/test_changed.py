"""Which deployables a set of changed paths selects, and the command lines the workflow calls."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scripts.changed import affects_all, select_changed
from scripts.package import ROOT, Deployable, load_manifest

pytestmark = pytest.mark.packaging

MANIFEST = [
    Deployable("ns_create", "ns_create", "ns_create.function"),
    Deployable("acme_client", "acme_client", "acme_client.function"),
    Deployable("example-pre", "udf_helpers", "udf_helpers.labs.example"),
    Deployable("apilab-pre", "udf_helpers", "udf_helpers.labs.apilab"),
]
ALL = [d.name for d in MANIFEST]
LABS = ["example-pre", "apilab-pre"]


def _names(paths: list[str]) -> list[str]:
    return [d.name for d in select_changed(paths, MANIFEST)]


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["ns_create/core.py"], ["ns_create"]),
        (["./ns_create/function.py"], ["ns_create"]),
        (["acme_client/requirements.txt"], ["acme_client"]),
        (["udf_helpers/labs/apilab.py"], LABS),
        (["udf_helpers/engine.py", "ns_create/models.py"], ["ns_create", *LABS]),
        (["ns_create/core.py", "ns_create/core.py"], ["ns_create"]),
    ],
)
def test_changed_package_selects_its_deployables(paths: list[str], expected: list[str]) -> None:
    assert _names(paths) == expected


@pytest.mark.parametrize(
    "path",
    [
        "shared/xc/client.py",
        "requirements.txt",
        "requirements-dev.txt",
        "constraints.txt",
        "deployables.toml",
        "scripts/package.py",
        ".github/workflows/build.yml",
    ],
)
def test_changed_common_input_selects_all(path: str) -> None:
    assert affects_all(path)
    assert _names(["ns_create/core.py", path]) == ALL


@pytest.mark.parametrize(
    "path",
    [
        "tests/unit/test_ns_create.py",
        "devstack/xc/models.py",
        "README.md",
        "Makefile",
        ".github/dependabot.yml",
        "bench/targets.toml",
        "docs/requirements.txt",
        "",
    ],
)
def test_changed_other_paths_select_nothing(path: str) -> None:
    assert not affects_all(path)
    assert _names([path]) == []


def test_changed_real_manifest_udf_helpers_selects_every_lab() -> None:
    manifest = load_manifest(ROOT)
    labs = [d.name for d in select_changed(["udf_helpers/engine.py"], manifest)]
    assert labs == ["example-pre", "apilab-pre", "botlab-pre", "caaslab-pre", "waaplab-pre"]


def _run(module: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_changed_cli_reads_paths_from_stdin_and_prints_a_matrix() -> None:
    result = _run("scripts.changed", "--matrix", stdin="README.md\nns_create/core.py\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"include": [{"name": "ns_create"}]}


def test_changed_cli_nothing_changed_prints_an_empty_matrix() -> None:
    result = _run("scripts.changed", "--matrix", stdin="")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"include": []}


def test_changed_cli_all_lists_every_deployable() -> None:
    result = _run("scripts.changed", "--all")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [d.name for d in load_manifest(ROOT)]


def test_package_cli_list_and_matrix_follow_the_manifest() -> None:
    names = [d.name for d in load_manifest(ROOT)]
    listed = _run("scripts.package", "--list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == names
    matrix = _run("scripts.package", "--matrix", "apilab-pre", "ns_create")
    assert json.loads(matrix.stdout) == {"include": [{"name": "ns_create"}, {"name": "apilab-pre"}]}


def test_package_cli_unknown_name_fails_and_lists_the_known_ones() -> None:
    result = _run("scripts.package", "no_such_worker")
    assert result.returncode == 1
    assert "unknown deployable(s) no_such_worker" in result.stderr
    assert "ns_create" in result.stderr


def test_package_cli_without_names_or_all_is_a_usage_error() -> None:
    result = _run("scripts.package")
    assert result.returncode == 2
    assert "--all" in result.stderr
