"""The zips the cold-start and size benchmarks look at, built once per run with the real packager, and
the AWS SDK as the Lambda runtime holds it.

`Zips.build()` runs `scripts.package` for every deployable into a temporary folder (or reads the
zips already in `--dist DIR`), `tree(name)` unzips one as Lambda unzips it into /var/task (with the
target runtime's bytecode the packager ships), `runtime_sdk()` is boto3 and botocore installed alone
and byte-compiled by the target runtime's Python, and `python()` is that interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from scripts.interpreters import find_python, where_looked
from scripts.package import (
    ROOT,
    Deployable,
    Packager,
    load_manifest,
    load_target,
    pip_install_command,
    read_requirements,
    write_zip,
)

# Where the SDK installs are kept between runs (build/ is the packager's scratch folder, not tracked).
SDK_CACHE = ROOT / "build" / "bench"


def sdk_version() -> str:
    """The boto3/botocore version pinned in requirements-dev.txt: what the tests and the bench use."""
    dev = read_requirements([ROOT / "requirements-dev.txt"])
    pins = {line.split("==")[0].strip().lower(): line.split("==")[1].strip() for line in dev.dropped}
    return pins["botocore"]


@dataclass
class Zips:
    """Every deployable's zip, unzipped trees and compiled copies, under one temporary folder."""

    dist: Path | None = None
    deployables: list[Deployable] = field(default_factory=lambda: load_manifest(ROOT))
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)
    _paths: dict[str, Path] = field(default_factory=dict, init=False, repr=False)

    @property
    def work(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tops-bench-")
        return Path(self._tmp.name)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def build(self) -> dict[str, Path]:
        """name -> zip path for every deployable (built on first call). Raises PackageError."""
        if self._paths:
            return self._paths
        if self.dist is not None:
            for d in self.deployables:
                path = self.dist / d.zip_name
                if not path.is_file():
                    raise FileNotFoundError(f"{path} is missing: run `python -m scripts.package --all`")
                self._paths[d.name] = path
            return self._paths
        packager = Packager(
            root=ROOT, build_dir=self.work / "build", out_dir=self.work / "dist", log=lambda message: None
        )
        for d in self.deployables:
            print(f"  building {d.zip_name}", flush=True)
            self._paths[d.name] = packager.build(d).path
        return self._paths

    def tree(self, name: str) -> Path:
        """The zip unzipped, as shipped (bytecode for the target runtime only)."""
        tree = self.work / "task" / name
        if not tree.exists():
            with zipfile.ZipFile(self.build()[name]) as archive:
                archive.extractall(tree)
        return tree

    def source_only_zip_size(self, name: str) -> int:
        """Bytes of the same zip without its bytecode (what the packager shipped before .pyc)."""
        dest = self.work / "dist-source" / f"{name}.zip"
        if not dest.exists():
            tree = self.work / "task-source" / name
            shutil.copytree(self.tree(name), tree)
            for cache in sorted(tree.rglob("__pycache__"), reverse=True):
                shutil.rmtree(cache)
            write_zip(tree, dest)
        return dest.stat().st_size

    def python(self) -> Path:
        """The target runtime's interpreter (scripts/interpreters.py). Raises FileNotFoundError."""
        version = load_target(ROOT).python_version
        found = find_python(version)
        if found is None:
            raise FileNotFoundError(f"no Python {version} on this machine: looked at {where_looked(version)}")
        return found

    def runtime_sdk(self) -> Path:
        """boto3 and botocore (and what they depend on) installed alone into a folder, with bytecode
        from the target runtime's Python, as the runtime holds its SDK: nothing else from this
        environment is importable beside the unzipped tree. Installed once, then kept in build/bench/."""
        python = self.python()
        version = sdk_version()
        sdk = SDK_CACHE / f"sdk-{version}-{python.name}"
        if sdk.is_dir():
            return sdk
        SDK_CACHE.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=".sdk-", dir=SDK_CACHE))
        try:
            install = pip_install_command(
                partial,
                "--constraint",
                str(ROOT / "constraints.txt"),
                f"boto3=={version}",
                f"botocore=={version}",
            )
            subprocess.run(install, check=True, capture_output=True, text=True, timeout=600)
            shutil.rmtree(partial / "bin", ignore_errors=True)
            subprocess.run(
                [str(python), "-m", "compileall", "-q", "-j", "0", str(partial)],
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            partial.rename(sdk)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(
                f"installing the SDK for the bench failed: {exc.stderr.strip()[-400:]}"
            ) from exc
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return sdk
