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

Zips are reproducible: sorted entries, one fixed timestamp (SOURCE_DATE_EPOCH or 1980-01-01),
fixed permissions, deflate at a fixed level, no bytecode and no machine-specific paths. The same
tree gives the same bytes, so the S3 ETag that Terraform uses changes only when the code does.
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

ROOT: Final = Path(__file__).resolve().parent.parent
MANIFEST: Final = "deployables.toml"
ROOT_REQUIREMENTS: Final = "requirements.txt"
PACKAGE_REQUIREMENTS: Final = "requirements.txt"
CONSTRAINTS: Final = "constraints.txt"
SHARED: Final = "shared"
HANDLER_FILE: Final = "function.py"

DEFAULT_PLATFORM: Final = "manylinux2014_x86_64"
DEFAULT_PYTHON: Final = "3.11"
IMPLEMENTATION: Final = "cp"

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
# A named requirement: name, optional extras, then specifiers, a marker or hashes (no URL or path).
_REQUIREMENT_RE: Final = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*"
    r"(?P<rest>(?:[=<>!~;].*|--hash.*)?)$"
)
_INCLUDE_RE: Final = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(\S+)$")
_COMMENT_RE: Final = re.compile(r"(^|\s+)#.*$")


class PackageError(Exception):
    """A bad manifest, requirement file or source tree, or a failed dependency install."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def normalize_name(name: str) -> str:
    """A distribution name in PEP 503 form, for comparing `typing_extensions` and `typing-extensions`."""
    return re.sub(r"[-_.]+", "-", name).lower()


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


def load_manifest(root: Path = ROOT) -> list[Deployable]:
    """Read deployables.toml. Raises PackageError naming the entry and field that is wrong."""
    path = root / MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PackageError(f"{path}: {exc}") from exc
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


# --- requirements ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """The platform the dependencies are installed for: Lambda's python3.11 on x86_64 by default."""

    platform: str = DEFAULT_PLATFORM
    python_version: str = DEFAULT_PYTHON
    implementation: str = IMPLEMENTATION

    def pip_args(self) -> list[str]:
        return [
            "--platform",
            self.platform,
            "--implementation",
            self.implementation,
            "--python-version",
            self.python_version,
            # With a foreign platform pip can only resolve dependencies from wheels.
            "--only-binary=:all:",
        ]


@dataclass(frozen=True, slots=True)
class RequirementSet:
    """Requirement lines for pip (runtime-provided ones removed) and the constraint files to apply."""

    lines: tuple[str, ...]
    constraints: tuple[Path, ...] = ()
    dropped: tuple[str, ...] = ()

    def key(self, target: Target) -> str:
        """Same key, same installed tree: the lines, the constraint files' contents and the target."""
        digest = hashlib.sha256()
        for part in (target.platform, target.python_version, target.implementation, *self.lines):
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
            requirement = _REQUIREMENT_RE.match(line)
            if not requirement:
                raise PackageError(f"{path}: unsupported line {line!r}: only named requirements, -r and -c")
            if normalize_name(requirement.group("name")) in RUNTIME_PROVIDED:
                dropped.append(line)
            elif line not in lines:
                lines.append(line)

    for path in files:
        collect(path)
    return RequirementSet(tuple(lines), tuple(found_constraints), tuple(dropped))


# --- installed trees ------------------------------------------------------------------------


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
    target: Target = field(default_factory=Target)
    pip: Sequence[str] = (sys.executable, "-m", "pip")
    log: Callable[[str], None] = _log
    _installed: dict[str, Path] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.build_dir = (self.build_dir or self.root / "build").resolve()
        self.out_dir = (self.out_dir or self.root / "dist").resolve()

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
        """A tree with the deployable's dependencies installed for the target, shared per set."""
        requirements = self.requirements(deployable)
        key = requirements.key(self.target)
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
            command = [
                *self.pip,
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--no-compile",
                "--target",
                str(site),
                *self.target.pip_args(),
                "--requirement",
                str(listing),
            ]
            for constraint in requirements.constraints:
                command += ["--constraint", str(constraint)]
            self.log(f"  pip install ({len(requirements.lines)} requirements) for {self.target.platform}")
            result = subprocess.run(command, check=False)
            if result.returncode != 0:
                raise PackageError(f"pip install for {deployable.name} failed (exit {result.returncode})")
        tidy_site(site, self.log)
        self._installed[key] = site
        return site

    def stage(self, deployable: Deployable) -> Path:
        """build/<name>/: dependencies, shared/, the package and the root function.py."""
        self.check(deployable)
        site = self.dependencies(deployable)
        tree = self._build / deployable.name
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(site, tree)
        for folder in dict.fromkeys((SHARED, deployable.package)):
            if (tree / folder).exists():
                raise PackageError(f"{deployable.name}: a dependency also installs a top-level {folder!r}")
            shutil.copytree(self.root / folder, tree / folder, ignore=_ignore_ours)
        handler = tree / HANDLER_FILE
        if handler.exists():
            raise PackageError(f"{deployable.name}: a dependency also installs a top-level {HANDLER_FILE}")
        handler.write_text(deployable.handler_source(), encoding="utf-8")
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
    parser.add_argument("--platform", default=DEFAULT_PLATFORM, help="wheel platform for pip")
    parser.add_argument("--python-version", default=DEFAULT_PYTHON, help="target Python, e.g. 3.11")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true", help="print the names, one per line; build nothing")
    mode.add_argument("--matrix", action="store_true", help="print a GitHub Actions matrix; build nothing")
    return parser


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
            target=Target(platform=args.platform, python_version=args.python_version),
        )
        for deployable in chosen:
            built = packager.build(deployable)
            print(f"{built.path}  {built.size} bytes  sha256:{built.sha256}", flush=True)
    except PackageError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
