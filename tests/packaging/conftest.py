"""Fixtures for the packaging tests: one build of each deployable per session, built on demand.

`PACKAGING_DEPLOYABLES` (names separated by spaces or commas) limits the per-zip tests to those
deployables. Tests that take `lambda_runtime` run once per runtime of deployables.toml's [runtime]
(target and `also`), under this machine's interpreter for it, and are skipped, saying so, where
there is none (PACKAGING_REQUIRE_RUNTIMES=1 makes that a failure). Tests that take `sdk` run with
the oldest supported and the newest pinned boto3/botocore, each installed alone from PyPI.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.interpreters import find_python
from scripts.package import ROOT, Built, Deployable, Packager, Runtime, load_target

from .support import (
    REQUIRE_RUNTIMES,
    SDK,
    BuildCache,
    install_sdk,
    lambda_runtimes,
    missing_sources,
    runtime_python,
    sdk_versions,
    wanted_deployables,
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "deployable" in metafunc.fixturenames:
        params = []
        for deployable in wanted_deployables():
            reason = missing_sources(deployable)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param(deployable, id=deployable.name, marks=marks))
        metafunc.parametrize("deployable", params)
    if "lambda_runtime" in metafunc.fixturenames:
        metafunc.parametrize("lambda_runtime", lambda_runtimes(), ids=lambda r: r.name)
    if "sdk_label" in metafunc.fixturenames:
        metafunc.parametrize("sdk_label", list(sdk_versions()), ids=lambda label: f"sdk-{label}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which runtimes the packaging tests could run the zips under, when any of them ran."""
    ran = [
        report
        for key in ("passed", "failed", "skipped")
        for report in terminalreporter.stats.get(key, [])
        if "[" in getattr(report, "nodeid", "") and "python3." in getattr(report, "nodeid", "")
    ]
    if not ran:
        return
    terminalreporter.write_sep("-", "Lambda runtimes the zips were run under")
    for runtime in lambda_runtimes():
        found = find_python(runtime.version)
        verdict = str(found) if found else f"SKIPPED: no Python {runtime.version} on this machine"
        terminalreporter.write_line(f"{runtime.name}: {verdict}")


def _packager(tmp_path_factory: pytest.TempPathFactory, label: str) -> Packager:
    """The packager the zip tests build with. Without the target runtime's Python on this machine
    it leaves the bytecode out, so that every other check still runs (the bytecode checks then skip,
    saying so); with PACKAGING_REQUIRE_RUNTIMES=1 the build fails instead."""
    base = tmp_path_factory.mktemp(label)
    has_target_python = find_python(load_target(ROOT).python_version) is not None
    compile_ = has_target_python or os.environ.get(REQUIRE_RUNTIMES) == "1"
    return Packager(root=ROOT, build_dir=base / "build", out_dir=base / "dist", compile=compile_)


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> BuildCache:
    return BuildCache(_packager(tmp_path_factory, "first"))


@pytest.fixture(scope="session")
def rebuilds(tmp_path_factory: pytest.TempPathFactory) -> BuildCache:
    """A second, independent packager: its own build dir, its own dependency install."""
    return BuildCache(_packager(tmp_path_factory, "second"))


@pytest.fixture
def built(deployable: Deployable, builds: BuildCache) -> Built:
    return builds.get(deployable)


@pytest.fixture(scope="session")
def _unzipped_trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


@pytest.fixture
def unzipped(
    built: Built, _unzipped_trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The zip extracted once per session, as Lambda extracts it into /var/task."""
    name = built.deployable.name
    if name not in _unzipped_trees:
        tree = tmp_path_factory.mktemp(f"task-{name}")
        with zipfile.ZipFile(built.path) as archive:
            archive.extractall(tree)
        _unzipped_trees[name] = tree
    return _unzipped_trees[name]


@pytest.fixture(scope="session")
def _sdks() -> dict[str, SDK]:
    return {}


@pytest.fixture
def sdk(sdk_label: str, _sdks: dict[str, SDK], tmp_path_factory: pytest.TempPathFactory) -> SDK:
    """A folder holding only what the Lambda runtime adds (boto3, botocore and their helpers), at
    the version `sdk_label` names, installed once per session. Nothing else from this environment
    is reachable through it, so an import that works with the unzipped tree plus this folder works
    in Lambda."""
    if sdk_label not in _sdks:
        version = sdk_versions()[sdk_label]
        _sdks[sdk_label] = install_sdk(sdk_label, version, tmp_path_factory.mktemp(f"sdk-{sdk_label}"))
    return _sdks[sdk_label]


@pytest.fixture
def newest_sdk(_sdks: dict[str, SDK], tmp_path_factory: pytest.TempPathFactory) -> SDK:
    """The `sdk` folder for the newest pinned version, for tests that need one SDK only."""
    if "newest" not in _sdks:
        version = sdk_versions()["newest"]
        _sdks["newest"] = install_sdk("newest", version, tmp_path_factory.mktemp("sdk-newest"))
    return _sdks["newest"]


@pytest.fixture
def python(lambda_runtime: Runtime) -> Path:
    """This machine's interpreter standing in for `lambda_runtime` (the test is skipped without)."""
    return runtime_python(lambda_runtime)


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write {relative path: text} under a fresh folder and return it."""
    counter = iter(range(1_000_000))

    def make(files: dict[str, str]) -> Path:
        base = tmp_path / f"tree{next(counter)}"
        base.mkdir()
        for relative, text in files.items():
            path = base / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return base

    return make
