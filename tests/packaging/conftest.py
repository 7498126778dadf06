"""Fixtures for the packaging tests: one build of each deployable per session, built on demand.

`PACKAGING_DEPLOYABLES` (names separated by spaces or commas) limits the per-zip tests to those
deployables; CI's package job sets it to the one it builds.
"""

from __future__ import annotations

import importlib.util
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.package import ROOT, Built, Deployable, Packager

from .support import RUNTIME_MODULES, BuildCache, missing_sources, wanted_deployables


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "deployable" in metafunc.fixturenames:
        params = []
        for deployable in wanted_deployables():
            reason = missing_sources(deployable)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param(deployable, id=deployable.name, marks=marks))
        metafunc.parametrize("deployable", params)


def _packager(tmp_path_factory: pytest.TempPathFactory, label: str) -> Packager:
    base = tmp_path_factory.mktemp(label)
    return Packager(root=ROOT, build_dir=base / "build", out_dir=base / "dist")


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
def runtime_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only what the Lambda runtime adds (boto3 and its helpers), as symlinks.

    Nothing else from this environment is reachable through it, so an import that works with
    the unzipped tree plus this folder works in Lambda.
    """
    sdk = tmp_path_factory.mktemp("runtime-sdk")
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, f"{name} must be installed for the packaging tests"
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
        else:
            source = Path(spec.origin)
        (sdk / source.name).symlink_to(source, target_is_directory=source.is_dir())
    return sdk


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
