"""Build the Lambda zips: dist/<name>.zip for the deployables listed in deployables.toml.

    python -m scripts.package NAME [NAME ...]      build these deployables
    python -m scripts.package --all                build every deployable
    python -m scripts.package --list [NAME ...]    print deployable names, one per line
    python -m scripts.package --matrix [NAME ...]  print a GitHub Actions matrix as JSON

A zip holds the runtime dependencies installed for the Lambda platform, `shared/`, the deployable's
package and a generated root `function.py` that re-exports its `lambda_handler`. Dependencies are
the root requirements.txt (every zip) plus `<package>/requirements.txt` (that package's extras),
held to one version each by the root constraints.txt. They are installed once per distinct set in
a run and copied into each zip that needs them; pip's own cache spares repeated downloads.

The runtime: `[runtime]` in deployables.toml names the Lambda runtime the zips are built for
(`target`, python3.13 when unset) and the runtimes the same zips must also run on while the
functions are switched (`also`). Dependencies are installed once per runtime, with wheels that
every one of those runtimes' Amazon Linux can load (the oldest glibc among them), and merged: pure
Python files must be identical, and native modules built per CPython version (cffi's
`_cffi_backend.cpython-3XX-...so`) sit side by side. A file that differs between the installs
stops the build.

Bytecode: every module is compiled by the target runtime's interpreter (scripts/interpreters.py
finds it) into `__pycache__/*.cpython-3XX.pyc` as unchecked-hash pycs that record
/var/task/<path> as their file name, with a fixed hash seed, so Lambda skips compiling on a cold
start and the bytes do not depend on the build folder. The other runtimes compile from source.

Zips are reproducible: sorted entries, one fixed timestamp (SOURCE_DATE_EPOCH or 1980-01-01),
fixed permissions, deflate at a fixed level, no machine-specific paths. The same tree gives the
same bytes, so the S3 ETag that Terraform uses changes only when the code does.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from scripts.interpreters import find_python, where_looked

ROOT: Final = Path(__file__).resolve().parent.parent
MANIFEST: Final = "deployables.toml"
ROOT_REQUIREMENTS: Final = "requirements.txt"
PACKAGE_REQUIREMENTS: Final = "requirements.txt"
CONSTRAINTS: Final = "constraints.txt"
SHARED: Final = "shared"
HANDLER_FILE: Final = "function.py"

DEFAULT_RUNTIME: Final = "python3.13"
ARCH: Final = "x86_64"
IMPLEMENTATION: Final = "cp"
# Where Lambda unzips the code: the file name each compiled module records.
TASK_ROOT: Final = "/var/task"
# Set for the compiling interpreter, so that nothing in a .pyc can follow a random hash seed.
PYC_HASH_SEED: Final = "0"
COMPILE_SCRIPT: Final = Path(__file__).resolve().parent / "compile_tree.py"

# The Lambda Python runtime ships the AWS SDK; a copy in every zip would add ~25 MB for nothing.
# Its helpers (jmespath, python-dateutil, urllib3) stay when our own dependencies ask for them:
# the zip comes first on the runtime's path, so the versions we tested are the ones that run.
RUNTIME_PROVIDED: Final = frozenset({"boto3", "botocore", "s3transfer"})

# Parts of Powertools that no worker imports, directly or through the parts it uses (logging,
# metrics, batch, parameters, data classes): about 1 MB of every zip. The packaging tests import
# each handler from the unzipped tree, and the parts we use reach these only when pydantic is present.
UNUSED_SUBPACKAGES: Final = tuple(
    f"aws_lambda_powertools/{part}"
    for part in (
        "event_handler",
        "utilities/parser",
        "utilities/idempotency",
        "utilities/auth_alpha",
        "utilities/kafka",
        "utilities/feature_flags",
        "utilities/circuit_breaker",
        "utilities/data_masking",
        "utilities/streaming",
        "utilities/validation",
    )
)

# Lambda rejects a function whose unzipped code exceeds 250 MB.
MAX_UNZIPPED_BYTES: Final = 250 * 1024 * 1024

FILE_MODE: Final = 0o644
DIR_MODE: Final = 0o755
COMPRESS_LEVEL: Final = 9
# 1980-01-01T00:00:00Z, the earliest time a zip entry can record.
ZIP_EPOCH: Final = 315532800

# What never leaves our own source folders for a zip.
_SKIP_DIRS: Final = frozenset({"tests", "test", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_SKIP_FILES: Final = ("*.pyc", "*.pyo", "requirements*.txt", "conftest.py", "test_*.py", "*_test.py")

_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# pip's per-requirement hash options, which are not part of a PEP 508 requirement.
_HASH_OPTION_RE: Final = re.compile(r"\s--hash(?:=|\s+)\S+")
_INCLUDE_RE: Final = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(\S+)$")
_COMMENT_RE: Final = re.compile(r"(^|\s+)#.*$")


class PackageError(Exception):
    """A bad manifest, requirement file or source tree, or a failed dependency install."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def normalize_name(name: str) -> str:
    """A distribution name in PEP 503 form, for comparing `typing_extensions` and `typing-extensions`."""
    return str(canonicalize_name(name))


def requirement_name(line: str) -> str | None:
    """The normalised name of a named requirement line (PEP 508, with pip's `--hash` options allowed);
    None for anything else (a URL or path requirement, an option, a malformed line)."""
    try:
        requirement = Requirement(_HASH_OPTION_RE.sub("", " " + line).strip())
    except InvalidRequirement:
        return None
    return None if requirement.url else normalize_name(requirement.name)


# --- the manifest ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deployable:
    """One zip: its name (dist/<name>.zip), the package copied beside shared/, the handler module."""

    name: str
    package: str
    module: str

    @property
    def zip_name(self) -> str:
        return f"{self.name}.zip"

    def handler_source(self) -> str:
        """The root function.py that Lambda loads as `function.lambda_handler`."""
        return (
            f"# Generated by scripts/package.py for {self.zip_name}; Lambda calls function.lambda_handler.\n"
            f"from {self.module} import lambda_handler  # noqa: F401\n"
        )


def read_manifest(root: Path = ROOT) -> dict[str, object]:
    """deployables.toml as a dict. Raises PackageError when it is missing or not TOML."""
    path = root / MANIFEST
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PackageError(f"{path}: {exc}") from exc


def manifest_table(root: Path, name: str) -> dict[str, object]:
    """The `[name]` table of deployables.toml ({} when absent). Raises PackageError if not a table."""
    table = read_manifest(root).get(name, {})
    if not isinstance(table, dict):
        raise PackageError(f"{root / MANIFEST}: [{name}] must be a table")
    return table


def load_target(root: Path = ROOT) -> Target:
    """The `[runtime]` table: `target` (default python3.13) and `also` (runtimes the same zips must
    also run on). Raises PackageError for an unknown runtime or a value of the wrong type."""
    table = manifest_table(root, "runtime")
    where = f"{root / MANIFEST}: [runtime]"
    target = table.get("target", DEFAULT_RUNTIME)
    also = table.get("also", [])
    if not isinstance(target, str):
        raise PackageError(f"{where} 'target' must be a string like {DEFAULT_RUNTIME!r}")
    if not isinstance(also, list) or not all(isinstance(name, str) for name in also):
        raise PackageError(f"{where} 'also' must be a list of runtime names")
    try:
        return Target(runtime=target, also=tuple(also))
    except PackageError as exc:
        raise PackageError(f"{where}: {exc}") from exc


def load_manifest(root: Path = ROOT) -> list[Deployable]:
    """Read deployables.toml. Raises PackageError naming the entry and field that is wrong."""
    path = root / MANIFEST
    data = read_manifest(root)
    entries = data.get("deployable")
    if not isinstance(entries, list) or not entries:
        raise PackageError(f"{path}: no [[deployable]] entries")
    deployables: list[Deployable] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{path}: deployable #{index}"
        if not isinstance(entry, dict):
            raise PackageError(f"{where}: not a table")
        values: dict[str, str] = {}
        for key in ("name", "package", "module"):
            value = entry.get(key)
            if not isinstance(value, str) or not value:
                raise PackageError(f"{where}: '{key}' must be a non-empty string")
            values[key] = value
        deployable = Deployable(**values)
        if not _NAME_RE.match(deployable.name):
            raise PackageError(f"{where}: 'name' {deployable.name!r} must match {_NAME_RE.pattern}")
        if not _IDENTIFIER_RE.match(deployable.package):
            raise PackageError(f"{where}: 'package' {deployable.package!r} is not a Python identifier")
        parts = deployable.module.split(".")
        if parts[0] != deployable.package or not all(_IDENTIFIER_RE.match(part) for part in parts):
            raise PackageError(
                f"{where}: 'module' {deployable.module!r} must be a module inside {deployable.package!r}"
            )
        if deployable.name in seen:
            raise PackageError(f"{where}: 'name' {deployable.name!r} is listed twice")
        seen.add(deployable.name)
        deployables.append(deployable)
    return deployables


def select(deployables: Sequence[Deployable], names: Iterable[str]) -> list[Deployable]:
    """The named deployables in manifest order. Raises PackageError for an unknown name."""
    wanted = set(names)
    unknown = sorted(wanted - {d.name for d in deployables})
    if unknown:
        known = ", ".join(d.name for d in deployables)
        raise PackageError(f"unknown deployable(s) {', '.join(unknown)}; known: {known}")
    return [d for d in deployables if d.name in wanted]


def matrix_json(deployables: Iterable[Deployable]) -> str:
    """A GitHub Actions matrix, one job per deployable (`matrix.name`), on one line."""
    return json.dumps({"include": [{"name": d.name} for d in deployables]}, separators=(",", ":"))


def module_file(root: Path, module: str) -> Path | None:
    """The source file of a dotted module under `root`, or None when it does not exist."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# --- runtimes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Runtime:
    """A Lambda Python runtime: its identifier, CPython version and operating system's glibc."""

    name: str
    version: str
    system: str
    glibc: tuple[int, int]


# The Lambda runtimes a zip can be built for (AWS's runtime table; glibc of the OS image).
RUNTIMES: Final = {
    runtime.name: runtime
    for runtime in (
        Runtime("python3.11", "3.11", "Amazon Linux 2", (2, 26)),
        Runtime("python3.12", "3.12", "Amazon Linux 2023", (2, 34)),
        Runtime("python3.13", "3.13", "Amazon Linux 2023", (2, 34)),
    )
}


def runtime(name: str) -> Runtime:
    """The runtime called `name`. Raises PackageError naming the known ones."""
    try:
        return RUNTIMES[name]
    except KeyError:
        raise PackageError(f"unknown Lambda runtime {name!r}; known: {', '.join(RUNTIMES)}") from None


@dataclass(frozen=True, slots=True)
class Target:
    """What the zips are built for: the target runtime (whose bytecode they carry), the runtimes
    the same zips must also run on, and the architecture."""

    runtime: str = DEFAULT_RUNTIME
    also: tuple[str, ...] = ()
    arch: str = ARCH
    implementation: str = IMPLEMENTATION

    def __post_init__(self) -> None:
        for name in (self.runtime, *self.also):
            runtime(name)

    @property
    def runtimes(self) -> tuple[Runtime, ...]:
        """The target first, then the others, each once."""
        return tuple(runtime(name) for name in dict.fromkeys((self.runtime, *self.also)))

    @property
    def python_version(self) -> str:
        """The target runtime's CPython version, e.g. "3.13"."""
        return runtime(self.runtime).version

    @property
    def glibc(self) -> tuple[int, int]:
        """The oldest glibc among the runtimes: every native module must load on it."""
        return min(r.glibc for r in self.runtimes)

    @property
    def platforms(self) -> tuple[str, ...]:
        """pip platform tags for wheels that load on `glibc` (manylinux2014 = glibc 2.17)."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{self.arch}" for m in range(minor, 16, -1)]
        return (*tags, f"manylinux2014_{self.arch}")

    def pip_args(self, for_runtime: Runtime) -> list[str]:
        args: list[str] = []
        for platform in self.platforms:
            args += ["--platform", platform]
        return [
            *args,
            "--implementation",
            self.implementation,
            "--python-version",
            for_runtime.version,
            # With a foreign platform pip can only resolve dependencies from wheels.
            "--only-binary=:all:",
        ]

    def describe(self) -> str:
        others = [r.name for r in self.runtimes[1:]]
        also = f" (also {', '.join(others)})" if others else ""
        return f"{self.runtime}{also} on {self.arch}, glibc {self.glibc[0]}.{self.glibc[1]}"


# --- requirements ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequirementSet:
    """Requirement lines for pip (runtime-provided ones removed) and the constraint files to apply."""

    lines: tuple[str, ...]
    constraints: tuple[Path, ...] = ()
    dropped: tuple[str, ...] = ()

    def key(self, target: Target) -> str:
        """Same key, same installed tree: the lines, the constraint files' contents and the target."""
        digest = hashlib.sha256()
        parts = (target.arch, target.implementation, *target.platforms, *(r.name for r in target.runtimes))
        for part in (*parts, "|", *self.lines):
            digest.update(part.encode() + b"\0")
        for path in self.constraints:
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]


def _logical_lines(text: str) -> Iterator[str]:
    """Lines of a requirements file with continuations joined and comments removed."""
    pending = ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = " ".join(_COMMENT_RE.sub("", pending + raw).split())
        pending = ""
        if line:
            yield line
    line = " ".join(_COMMENT_RE.sub("", pending).split())
    if line:
        yield line


def read_requirements(files: Sequence[Path], constraints: Sequence[Path] = ()) -> RequirementSet:
    """Merge requirement files, following `-r` and `-c`, and drop what the Lambda runtime provides.

    Only named requirements (with optional specifiers, markers and `--hash`) are accepted, so
    that every dependency goes through the constraints. Raises PackageError otherwise.
    """
    lines: list[str] = []
    found_constraints: list[Path] = [path.resolve() for path in constraints]
    dropped: list[str] = []
    seen: set[Path] = set()

    def collect(path: Path) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PackageError(f"cannot read requirements file {path}: {exc}") from exc
        for line in _logical_lines(text):
            include = _INCLUDE_RE.match(line)
            if include:
                target = path.parent / include.group(2)
                if include.group(1) in ("-r", "--requirement"):
                    collect(target)
                elif target.resolve() not in found_constraints:
                    found_constraints.append(target.resolve())
                continue
            name = requirement_name(line)
            if name is None:
                raise PackageError(f"{path}: unsupported line {line!r}: only named requirements, -r and -c")
            if name in RUNTIME_PROVIDED:
                dropped.append(line)
            elif line not in lines:
                lines.append(line)

    for path in files:
        collect(path)
    return RequirementSet(tuple(lines), tuple(found_constraints), tuple(dropped))


# --- installed trees ------------------------------------------------------------------------


def pip_install_command(
    target: Path, *args: str, pip: Sequence[str] = (sys.executable, "-m", "pip")
) -> list[str]:
    """`pip install` into the folder `target`: quiet, no prompts, no bytecode; `args` say what to install."""
    return [
        *pip,
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
        "--target",
        str(target),
        *args,
    ]


def _record_paths(record: Path) -> Iterator[tuple[str, str]]:
    """(path, raw line) for each entry of a dist-info RECORD file."""
    for raw in record.read_text(encoding="utf-8").splitlines(keepends=True):
        row = next(csv.reader([raw]), [])
        if row and row[0]:
            yield row[0], raw


def _outside(path: str) -> bool:
    return path.startswith(("/", "../")) or "/../" in path


def _dist_name(dist_info: Path) -> str:
    return normalize_name(dist_info.name[: -len(".dist-info")].split("-")[0])


def tidy_site(site: Path, log: Callable[[str], None] = _log) -> None:
    """Make a `pip install --target` tree fit for a zip.

    Drops `bin/` (console scripts carry this machine's interpreter path), bytecode, any
    runtime-provided distribution pulled in as a dependency, and the unused Powertools parts;
    removes RECORD lines for files that are not in the tree, so nothing machine-specific is left.
    """
    shutil.rmtree(site / "bin", ignore_errors=True)
    for unused in UNUSED_SUBPACKAGES:
        shutil.rmtree(site / unused, ignore_errors=True)
    for dist_info in sorted(site.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if _dist_name(dist_info) in RUNTIME_PROVIDED:
            log(f"  dropping {dist_info.name}: the Lambda runtime provides it")
            if record.is_file():
                for path, _raw in _record_paths(record):
                    if not _outside(path):
                        (site / path).unlink(missing_ok=True)
            shutil.rmtree(dist_info, ignore_errors=True)
            continue
        if record.is_file():
            kept = [
                raw for path, raw in _record_paths(record) if not _outside(path) and (site / path).exists()
            ]
            record.write_text("".join(kept), encoding="utf-8")
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for pattern in ("*.pyc", "*.pyo"):
        for compiled in site.rglob(pattern):
            compiled.unlink()
    # Directories emptied by the removals above.
    for directory in sorted((p for p in site.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def _files(tree: Path) -> dict[str, Path]:
    return {path.relative_to(tree).as_posix(): path for path in sorted(tree.rglob("*")) if path.is_file()}


def merge_site(dest: Path, other: Path, label: str) -> list[str]:
    """Add to `dest` what the install `other` (for another runtime) has and `dest` lacks.

    That is the other CPython version's native modules (their file names carry the version) and
    any distribution only that version needs. A file present in both must be identical, except in
    `*.dist-info/` (the WHEEL tag names the version): there `dest` wins, and RECORD gains the lines
    of the files added. Returns the paths added. Raises PackageError naming a file that differs,
    since one zip could not then serve both runtimes.
    """
    ours, theirs = _files(dest), _files(other)
    added: list[str] = []
    for relative, path in theirs.items():
        mine = ours.get(relative)
        if mine is None:
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            added.append(relative)
        elif mine.read_bytes() != path.read_bytes() and ".dist-info/" not in relative:
            raise PackageError(
                f"{relative} differs between the {label} install and the target's: a zip for both runtimes"
                " needs the same pure-Python files (pin a version that ships one wheel per CPython version"
                " or an abi3 wheel)"
            )
    new = set(added)
    for record in sorted(other.glob("*.dist-info/RECORD")):
        relative = record.relative_to(other).as_posix()
        lines = [raw for path, raw in _record_paths(record) if path in new]
        if lines and relative not in new and (dest / relative).is_file():
            kept = (dest / relative).read_text(encoding="utf-8")
            (dest / relative).write_text(kept + "".join(lines), encoding="utf-8")
    return added


def _ignore_ours(directory: str, names: list[str]) -> set[str]:
    """copytree filter for our own packages: no tests, caches, bytecode or requirement files."""
    skipped: set[str] = set()
    for name in names:
        if name.startswith("."):
            skipped.add(name)
        elif os.path.isdir(os.path.join(directory, name)):
            if name in _SKIP_DIRS:
                skipped.add(name)
        elif any(fnmatch.fnmatch(name, pattern) for pattern in _SKIP_FILES):
            skipped.add(name)
    return skipped


# --- zips -----------------------------------------------------------------------------------


def zip_date_time(environ: Mapping[str, str] | None = None) -> tuple[int, int, int, int, int, int]:
    """The one timestamp of every entry: SOURCE_DATE_EPOCH (UTC, not before 1980) or 1980-01-01."""
    environ = os.environ if environ is None else environ
    raw = environ.get("SOURCE_DATE_EPOCH", "").strip()
    seconds = ZIP_EPOCH
    if raw:
        try:
            seconds = max(int(raw), ZIP_EPOCH)
        except ValueError as exc:
            raise PackageError(f"SOURCE_DATE_EPOCH must be an integer, got {raw!r}") from exc
    moment = time.gmtime(seconds)
    return (moment.tm_year, moment.tm_mon, moment.tm_mday, moment.tm_hour, moment.tm_min, moment.tm_sec)


def tree_entries(tree: Path) -> list[tuple[str, Path]]:
    """(archive name, path) for every directory (name ends in '/') and file under `tree`, sorted.

    Raises PackageError for a symlink or a special file, which would not zip reproducibly.
    """
    entries: list[tuple[str, Path]] = []
    for current, dirnames, filenames in os.walk(tree):
        here = Path(current)
        for name in (*dirnames, *filenames):
            path = here / name
            mode = path.lstat().st_mode
            arcname = path.relative_to(tree).as_posix()
            if stat.S_ISLNK(mode):
                raise PackageError(f"{path}: symlinks are not packaged")
            if stat.S_ISDIR(mode):
                entries.append((arcname + "/", path))
            elif stat.S_ISREG(mode):
                entries.append((arcname, path))
            else:
                raise PackageError(f"{path}: not a regular file")
    entries.sort(key=lambda entry: entry[0])
    return entries


def write_zip(
    tree: Path, dest: Path, date_time: tuple[int, int, int, int, int, int] | None = None
) -> tuple[int, int]:
    """Zip `tree` to `dest` reproducibly; returns (entries, unzipped bytes).

    The file is written beside `dest` and renamed, so a failed build never leaves a partial zip
    where the upload step would find it. Raises PackageError if Lambda would reject the size.
    """
    stamp = zip_date_time() if date_time is None else date_time
    entries = tree_entries(tree)
    total = sum(path.stat().st_size for arcname, path in entries if not arcname.endswith("/"))
    if total > MAX_UNZIPPED_BYTES:
        raise PackageError(f"{tree}: {total} bytes unzipped, over Lambda's {MAX_UNZIPPED_BYTES} limit")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for arcname, path in entries:
                info = zipfile.ZipInfo(arcname, date_time=stamp)
                info.create_system = 3  # Unix, so the permission bits below are honoured
                if arcname.endswith("/"):
                    info.external_attr = ((stat.S_IFDIR | DIR_MODE) << 16) | 0x10  # 0x10: MS-DOS dir
                    info.compress_type = zipfile.ZIP_STORED
                    archive.writestr(info, b"")
                else:
                    info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes(), compresslevel=COMPRESS_LEVEL)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return len(entries), total


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the packager ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Built:
    """A finished zip."""

    deployable: Deployable
    path: Path
    size: int
    sha256: str
    entries: int
    unzipped: int


@dataclass
class Packager:
    """Builds zips for one target; installs each distinct dependency set once per instance."""

    root: Path = ROOT
    build_dir: Path | None = None
    out_dir: Path | None = None
    # None: the `[runtime]` table of the root's deployables.toml.
    target: Target | None = None
    pip: Sequence[str] = (sys.executable, "-m", "pip")
    log: Callable[[str], None] = _log
    # Ship bytecode for the target runtime; `python` compiles it (None: found by find_python).
    compile: bool = True
    python: Path | None = None
    hash_seed: str = PYC_HASH_SEED
    _installed: dict[str, Path] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.build_dir = (self.build_dir or self.root / "build").resolve()
        self.out_dir = (self.out_dir or self.root / "dist").resolve()
        if self.target is None:
            self.target = load_target(self.root)

    @property
    def resolved_target(self) -> Target:
        assert self.target is not None  # set in __post_init__
        return self.target

    def compiler(self) -> Path:
        """The interpreter that compiles the bytecode: the target runtime's Python version.
        Raises PackageError when this machine has none."""
        if self.python is not None:
            return self.python
        version = self.resolved_target.python_version
        found = find_python(version)
        if found is None:
            raise PackageError(
                f"no Python {version} to compile the bytecode for {self.resolved_target.runtime}: looked at "
                f"{where_looked(version)}"
            )
        self.python = found
        return found

    def compile_tree(self, tree: Path, *parts: str) -> int:
        """Compile the modules under `tree` (only the files or folders `parts`, relative to it, when
        given) with the target's interpreter; returns the number compiled. Raises PackageError."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": self.hash_seed,
        }
        command = [str(self.compiler()), "-S", "-s", "-B", str(COMPILE_SCRIPT), str(tree), TASK_ROOT, *parts]
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise PackageError(f"compiling the bytecode in {tree} failed: {result.stderr.strip()}")
        return int(result.stdout.strip() or 0)

    @property
    def _build(self) -> Path:
        assert self.build_dir is not None  # set in __post_init__
        return self.build_dir

    @property
    def _out(self) -> Path:
        assert self.out_dir is not None  # set in __post_init__
        return self.out_dir

    def requirements(self, deployable: Deployable) -> RequirementSet:
        """The root requirements plus the package's own, under the root constraints."""
        files = [self.root / ROOT_REQUIREMENTS, self.root / deployable.package / PACKAGE_REQUIREMENTS]
        constraints = [self.root / CONSTRAINTS] if (self.root / CONSTRAINTS).is_file() else []
        return read_requirements([path for path in files if path.is_file()], constraints)

    def check(self, deployable: Deployable) -> None:
        """Raises PackageError when the sources a deployable needs are missing."""
        for folder in (SHARED, deployable.package):
            if not (self.root / folder / "__init__.py").is_file():
                raise PackageError(f"{deployable.name}: package {folder}/ not found under {self.root}")
        if module_file(self.root, deployable.module) is None:
            raise PackageError(f"{deployable.name}: handler module {deployable.module} not found")

    def dependencies(self, deployable: Deployable) -> Path:
        """A tree with the deployable's dependencies for every runtime of the target, compiled for
        the target runtime; shared by the deployables with the same requirement set."""
        requirements = self.requirements(deployable)
        key = requirements.key(self.resolved_target)
        if key in self._installed:
            return self._installed[key]
        for line in requirements.dropped:
            self.log(f"  not installing {line!r}: the Lambda runtime provides it")
        home = self._build / ".deps" / key
        shutil.rmtree(home, ignore_errors=True)
        site = home / "site"
        site.mkdir(parents=True)
        if requirements.lines:
            listing = home / "requirements.txt"
            listing.write_text("".join(f"{line}\n" for line in requirements.lines), encoding="utf-8")
            first, *others = self.resolved_target.runtimes
            self._install(deployable, requirements, listing, first, site)
            for other in others:
                extra = home / other.name
                self._install(deployable, requirements, listing, other, extra)
                added = merge_site(site, extra, other.name)
                if added:
                    self.log(f"  added for {other.name}: {', '.join(added)}")
                shutil.rmtree(extra)
        if self.compile:
            self.compile_tree(site)
        self._installed[key] = site
        return site

    def _install(
        self,
        deployable: Deployable,
        requirements: RequirementSet,
        listing: Path,
        for_runtime: Runtime,
        site: Path,
    ) -> None:
        site.mkdir(parents=True, exist_ok=True)
        command = pip_install_command(
            site, *self.resolved_target.pip_args(for_runtime), "--requirement", str(listing), pip=self.pip
        )
        for constraint in requirements.constraints:
            command += ["--constraint", str(constraint)]
        self.log(
            f"  pip install ({len(requirements.lines)} requirements) for {for_runtime.name}, "
            f"glibc {self.resolved_target.glibc[0]}.{self.resolved_target.glibc[1]}"
        )
        result = subprocess.run(command, check=False)
        if result.returncode != 0:
            raise PackageError(
                f"pip install for {deployable.name} ({for_runtime.name}) failed (exit {result.returncode})"
            )
        tidy_site(site, self.log)

    def stage(self, deployable: Deployable) -> Path:
        """build/<name>/: dependencies, shared/, the package and the root function.py, with the
        bytecode for the target runtime when `compile` is on."""
        self.check(deployable)
        site = self.dependencies(deployable)
        tree = self._build / deployable.name
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(site, tree)
        ours = list(dict.fromkeys((SHARED, deployable.package)))
        for folder in ours:
            if (tree / folder).exists():
                raise PackageError(f"{deployable.name}: a dependency also installs a top-level {folder!r}")
            shutil.copytree(self.root / folder, tree / folder, ignore=_ignore_ours)
        handler = tree / HANDLER_FILE
        if handler.exists():
            raise PackageError(f"{deployable.name}: a dependency also installs a top-level {HANDLER_FILE}")
        handler.write_text(deployable.handler_source(), encoding="utf-8")
        if self.compile:
            self.compile_tree(tree, *ours, HANDLER_FILE)
        return tree

    def build(self, deployable: Deployable) -> Built:
        """Stage and zip one deployable to <out>/<name>.zip."""
        self.log(f"building {deployable.zip_name}")
        tree = self.stage(deployable)
        dest = self._out / deployable.zip_name
        entries, unzipped = write_zip(tree, dest)
        built = Built(deployable, dest, dest.stat().st_size, sha256_file(dest), entries, unzipped)
        return built


# --- command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.package",
        description="Build reproducible Lambda zips for the deployables in deployables.toml.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="deployables to build (zip names)")
    parser.add_argument("--all", action="store_true", help="every deployable in the manifest")
    parser.add_argument("--out", type=Path, default=None, help="where zips go (default: dist/)")
    parser.add_argument("--build-dir", type=Path, default=None, help="staging trees (default: build/)")
    parser.add_argument(
        "--runtime",
        default=None,
        choices=sorted(RUNTIMES),
        help="the Lambda runtime to build for (default: [runtime] target in deployables.toml)",
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="leave the bytecode out (the zip then differs)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true", help="print the names, one per line; build nothing")
    mode.add_argument("--matrix", action="store_true", help="print a GitHub Actions matrix; build nothing")
    return parser


def _cli_target(runtime_name: str | None) -> Target:
    configured = load_target(ROOT)
    if runtime_name is None or runtime_name == configured.runtime:
        return configured
    return Target(runtime=runtime_name, also=tuple(r.name for r in configured.runtimes))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(ROOT)
        chosen = manifest if args.all or not args.names else select(manifest, args.names)
        if args.list:
            for deployable in chosen:
                print(deployable.name)
            return 0
        if args.matrix:
            print(matrix_json(chosen))
            return 0
        if not args.all and not args.names:
            parser.error("name the deployables to build, or pass --all")
        packager = Packager(
            root=ROOT,
            build_dir=args.build_dir,
            out_dir=args.out,
            target=_cli_target(args.runtime),
            compile=not args.no_compile,
        )
        _log(f"target: {packager.resolved_target.describe()}")
        for deployable in chosen:
            built = packager.build(deployable)
            print(f"{built.path}  {built.size} bytes  sha256:{built.sha256}", flush=True)
    except PackageError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
