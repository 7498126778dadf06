"""Every deployable's zip: what it holds (the target runtime's bytecode included), that its handler
imports in Lambda's layout under every runtime of deployables.toml with the oldest and the newest
supported SDK, and that a second, independent build gives the same bytes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from scripts.package import (
    DIR_MODE,
    FILE_MODE,
    HANDLER_FILE,
    ROOT,
    RUNTIME_PROVIDED,
    SHARED,
    Built,
    Deployable,
    Packager,
    Runtime,
    load_target,
    normalize_name,
    sha256_file,
    zip_date_time,
)

from .support import SDK, BuildCache, isolated_env, missing_sources, wanted_deployables

pytestmark = pytest.mark.packaging

# Dependencies that only some workers need (ACME, certificate parsing): never in every zip.
HEAVY_EXTRAS = frozenset({"acme", "josepy", "cryptography", "cffi", "pyopenssl", "dnspython"})

# Run in a fresh interpreter started with -I -S -B: no site-packages, no PYTHON* variables, no cwd,
# no bytecode written. Its path is the unzipped tree, then the runtime's SDK folder, then the
# standard library, as in Lambda (/var/task, then /var/runtime).
IMPORT_PROBE = """
import importlib, importlib.metadata, importlib.util, json, sys, sysconfig
tree, sdk, module, dists = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
sys.path[:0] = [tree, sdk]
import function
target = importlib.import_module(module)
import botocore
origins = {
    name: mod.__file__
    for name, mod in sorted(sys.modules.items())
    if "." not in name and getattr(mod, "__file__", None)
}
paths = sysconfig.get_paths()
print(json.dumps({
    "callable": callable(function.lambda_handler),
    "same": function.lambda_handler is target.lambda_handler,
    "origins": origins,
    "versions": {dist: importlib.metadata.version(dist) for dist in dists},
    "stdlib": sorted({paths["stdlib"], paths["platstdlib"]}),
    "botocore": botocore.__version__,
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "cache_tag": sys.implementation.cache_tag,
}))
"""

# The flags word of an unchecked-hash .pyc (PEP 552): hash-based (bit 0), source not checked (bit 1 clear).
UNCHECKED_HASH_FLAGS = 0b01


def _names(built: Built) -> list[str]:
    with zipfile.ZipFile(built.path) as archive:
        return archive.namelist()


def _top_levels(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


def _dist_names(names: list[str]) -> set[str]:
    """Normalized distribution names of the dist-info folders in the zip."""
    return {
        normalize_name(top[: -len(".dist-info")].split("-")[0])
        for top in _top_levels(names)
        if top.endswith(".dist-info")
    }


def _pins(packager: Packager, deployable: Deployable) -> dict[str, str]:
    """{distribution: version} for each `name==version` line the deployable installs."""
    pins: dict[str, str] = {}
    for line in packager.requirements(deployable).lines:
        requirement = line.split(";", 1)[0].split(" --hash", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pins[normalize_name(name.split("[", 1)[0])] = version.strip()
    return pins


def test_zip_holds_handler_shared_and_package(deployable: Deployable, built: Built) -> None:
    # GIVEN a built zip
    names = set(_names(built))
    # THEN the root function.py re-exports the manifest's module, beside shared/ and the package
    assert HANDLER_FILE in names
    with zipfile.ZipFile(built.path) as archive:
        handler = archive.read(HANDLER_FILE).decode()
    assert handler == deployable.handler_source()
    assert f"from {deployable.module} import lambda_handler" in handler
    compile(handler, HANDLER_FILE, "exec")
    assert f"{SHARED}/__init__.py" in names
    assert f"{deployable.package}/__init__.py" in names
    module_path = deployable.module.replace(".", "/")
    assert f"{module_path}.py" in names or f"{module_path}/__init__.py" in names


def _target_tag() -> str:
    return "cpython-" + load_target().python_version.replace(".", "")


def test_zip_leaves_out_tests_caches_scripts_and_sdk(deployable: Deployable, built: Built) -> None:
    names = _names(built)
    ours = [name for name in names if name.split("/", 1)[0] in {SHARED, deployable.package}]
    # THEN the only bytecode is the target runtime's, in __pycache__ beside its source; no caches
    # of other tools and no console scripts
    tag = _target_tag()
    strays = [
        name
        for name in names
        if name.endswith((".pyc", ".pyo"))
        and not (name.endswith(f".{tag}.pyc") and "/__pycache__/" in f"/{name}")
    ]
    assert not strays
    assert not [name for name in names if name.split("/")[-1].startswith((".mypy_cache", ".pytest_cache"))]
    assert "bin" not in _top_levels(names)
    # AND no tests from this repository: neither the tests/ tree nor tests inside our packages
    assert "tests" not in _top_levels(names)
    assert not [name for name in ours if "/tests/" in name or "/test/" in name or "conftest" in name]
    assert not [name for name in ours if name.endswith("requirements.txt")]
    # AND no AWS SDK: the runtime has it
    assert not (_top_levels(names) & RUNTIME_PROVIDED)
    assert not (_dist_names(names) & RUNTIME_PROVIDED)


def test_zip_carries_exactly_the_requested_dependencies(
    deployable: Deployable, built: Built, builds: BuildCache
) -> None:
    names = _names(built)
    dists = _dist_names(names)
    pins = _pins(builds.packager, deployable)
    # THEN each pinned requirement is installed, metadata included (importlib.metadata reads it)
    assert set(pins) <= dists
    # AND the heavy extras ride only with the deployables whose requirements ask for them
    if not set(pins) & HEAVY_EXTRAS:
        assert not dists & HEAVY_EXTRAS


def _skip_without_bytecode(builds: BuildCache) -> None:
    if not builds.packager.compile:
        version = load_target().python_version
        pytest.skip(f"bytecode NOT checked: no Python {version} on this machine, zips built without it")


def test_zip_carries_unchecked_hash_bytecode_for_every_module(built: Built, builds: BuildCache) -> None:
    _skip_without_bytecode(builds)
    # GIVEN the zip's Python sources and its compiled files
    tag = _target_tag()
    with zipfile.ZipFile(built.path) as archive:
        names = set(archive.namelist())
        sources = sorted(name for name in names if name.endswith(".py"))
        compiled = sorted(name for name in names if name.endswith(".pyc"))
        headers = {name: archive.read(name)[:16] for name in compiled}
    # THEN every module has exactly one .pyc for the target runtime, and nothing else is compiled
    expected = {
        str(PurePosixPath(name).parent / "__pycache__" / f"{PurePosixPath(name).stem}.{tag}.pyc")
        for name in sources
    }
    assert set(compiled) == expected
    # AND each is unchecked-hash (no timestamp, the source is never read) with one magic number
    flags = {name: int.from_bytes(header[4:8], "little") for name, header in headers.items()}
    assert {name for name, value in flags.items() if value != UNCHECKED_HASH_FLAGS} == set()
    assert len({header[:4] for header in headers.values()}) == 1


def test_zip_entries_are_normalized(built: Built) -> None:
    # GIVEN the zip's central directory
    with zipfile.ZipFile(built.path) as archive:
        infos = archive.infolist()
    # THEN entries are sorted, with one timestamp, fixed modes, and deflated files
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    stamp = zip_date_time()
    for info in infos:
        assert info.date_time == stamp, info.filename
        assert info.create_system == 3, info.filename
        mode = info.external_attr >> 16
        if info.is_dir():
            assert mode == stat.S_IFDIR | DIR_MODE, info.filename
        else:
            assert mode == stat.S_IFREG | FILE_MODE, info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename


def test_zip_holds_nothing_specific_to_the_build_machine(built: Built, builds: BuildCache) -> None:
    # GIVEN the paths of this build: the staging dir and the interpreter that ran pip
    assert builds.packager.build_dir is not None
    markers = {str(builds.packager.build_dir).encode(), sys.prefix.encode(), sys.executable.encode()}
    with zipfile.ZipFile(built.path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            data = archive.read(info)
            # THEN no file mentions them (console-script lines are gone from RECORD too)
            assert not [marker for marker in markers if marker in data], info.filename
            if info.filename.endswith(".dist-info/RECORD"):
                assert b"../" not in data, info.filename


def test_handler_imports_from_the_unzipped_tree_and_the_runtime_sdk(
    deployable: Deployable,
    built: Built,
    unzipped: Path,
    lambda_runtime: Runtime,
    python: Path,
    sdk: SDK,
    builds: BuildCache,
) -> None:
    # GIVEN the unzipped tree, as in /var/task, and only the SDK that the runtime adds
    pins = _pins(builds.packager, deployable)
    env = isolated_env(unzipped.parent, AWS_LAMBDA_FUNCTION_NAME=f"tops-{deployable.name}")
    command = [
        str(python),
        "-I",
        "-S",
        "-B",
        "-c",
        IMPORT_PROBE,
        str(unzipped),
        str(sdk.path),
        deployable.module,
        json.dumps(sorted(pins)),
    ]
    # WHEN a fresh interpreter of the runtime's Python version imports function.lambda_handler
    result = subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, cwd=unzipped, timeout=120
    )
    assert result.returncode == 0, f"{lambda_runtime.name}: {result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN it is the manifest module's callable handler
    assert report["callable"] and report["same"]
    # AND every module came from the tree, the SDK folder or the standard library
    roots = [str(unzipped), str(sdk.path), *report["stdlib"]]
    strays = {name: path for name, path in report["origins"].items() if not path.startswith(tuple(roots))}
    assert not strays
    # AND what the zip carries wins over the runtime's copy (urllib3, jmespath)
    in_tree = {path.name.removesuffix(".py") for path in unzipped.iterdir()}
    shadowed = {
        name: path
        for name, path in report["origins"].items()
        if name in in_tree and not path.startswith(str(unzipped))
    }
    assert not shadowed
    # AND the installed versions are the pinned ones, beside the SDK version under test
    assert report["versions"] == pins
    assert report["botocore"] == sdk.version
    # AND for the target runtime, the shipped bytecode is this interpreter's (same magic number)
    if lambda_runtime.name == load_target().runtime:
        assert report["cache_tag"] == _target_tag()
        with zipfile.ZipFile(built.path) as archive:
            pyc = archive.read(f"{SHARED}/__pycache__/__init__.{_target_tag()}.pyc")
        assert pyc[:4].hex() == report["magic"]


def test_target_runtime_runs_the_shipped_bytecode_without_reading_the_source(
    lambda_runtime: Runtime, python: Path, builds: BuildCache, newest_sdk: SDK, tmp_path: Path
) -> None:
    # GIVEN one zip (all are compiled alike), unzipped, whose shared/__init__.py source now fails
    candidates = [d for d in wanted_deployables() if missing_sources(d) is None]
    if not candidates:
        pytest.skip("no deployable exists in the tree yet")
    tree = tmp_path / "task"
    with zipfile.ZipFile(builds.get(candidates[0]).path) as archive:
        archive.extractall(tree)
    (tree / SHARED / "__init__.py").write_text('raise RuntimeError("the source was compiled")\n')
    probe = "import sys; sys.path[:0] = sys.argv[1:3]; import function; print('imported')"
    # WHEN the runtime's Python imports the handler
    result = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", probe, str(tree), str(newest_sdk.path)],
        check=False,
        capture_output=True,
        text=True,
        env=isolated_env(tmp_path),
        timeout=120,
    )
    # THEN the target runtime runs the unchecked-hash bytecode and never reads the edited source,
    # while another runtime (no bytecode of its own in the zip) compiles the source and fails
    if lambda_runtime.name == load_target().runtime:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "imported"
    else:
        assert result.returncode != 0
        assert "the source was compiled" in result.stderr


def test_second_build_is_byte_identical(deployable: Deployable, built: Built, rebuilds: BuildCache) -> None:
    # GIVEN a second build from a fresh build dir and a fresh dependency install
    again = rebuilds.get(deployable)
    # THEN the zips are the same bytes
    assert again.path != built.path
    assert again.sha256 == built.sha256, _differences(built.path, again.path)
    assert again.size == built.size


def _differences(first: Path, second: Path) -> str:
    """Which entries differ: names whose presence, CRC or header fields do not match."""

    def table(path: Path) -> dict[str, tuple[int, int, tuple[int, ...], int]]:
        with zipfile.ZipFile(path) as archive:
            return {
                i.filename: (i.CRC, i.external_attr, i.date_time, i.compress_size) for i in archive.infolist()
            }

    one, two = table(first), table(second)
    names = sorted(name for name in one.keys() | two.keys() if one.get(name) != two.get(name))
    return f"entries that differ (a source edited between the builds?): {names[:20]}"


def test_cli_build_matches_the_in_process_build(tmp_path: Path, builds: BuildCache) -> None:
    # GIVEN the smallest deployable that exists in the tree
    candidates = [d for d in wanted_deployables() if missing_sources(d) is None]
    if not candidates:
        pytest.skip("no deployable exists in the tree yet")
    deployable = min(candidates, key=lambda d: len(builds.packager.requirements(d).lines))
    built = builds.get(deployable)
    # WHEN the command line builds it into another folder
    no_compile = [] if builds.packager.compile else ["--no-compile"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.package",
            deployable.name,
            "--out",
            str(tmp_path / "dist"),
            "--build-dir",
            str(tmp_path / "build"),
            *no_compile,
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    # THEN it reports and writes the same bytes
    assert result.returncode == 0, result.stderr
    assert f"sha256:{built.sha256}" in result.stdout
    assert (tmp_path / "dist" / deployable.zip_name).read_bytes() == built.path.read_bytes()
    # AND the staging tree is left for inspection, with only the target runtime's bytecode
    staged = tmp_path / "build" / deployable.name
    assert (staged / HANDLER_FILE).is_file()
    compiled = list(staged.rglob("*.pyc"))
    assert bool(compiled) == builds.packager.compile
    assert all(path.name.endswith(f".{_target_tag()}.pyc") for path in compiled)


@pytest.mark.skipif(
    not os.environ.get("PACKAGING_CHECK_DIST"), reason="set PACKAGING_CHECK_DIST=1 to compare dist/ zips"
)
def test_dist_zip_is_the_tested_zip(deployable: Deployable, built: Built) -> None:
    # GIVEN the zip that CI's package job built into dist/ for upload
    dist = ROOT / "dist" / deployable.zip_name
    assert dist.is_file(), f"{dist} was not built"
    # THEN it is byte for byte the zip these tests checked
    assert sha256_file(dist) == built.sha256, _differences(built.path, dist)
