"""The zips the cold-start and size benchmarks look at, built once per run with the real packager.

`Zips.build()` runs `scripts.package` for every deployable into a temporary folder (or reads the
zips already in `--dist DIR`), `tree(name)` unzips one as Lambda unzips it into /var/task (with the
target runtime's bytecode the packager ships), and `compiled_tree(name)` is a copy that also holds
bytecode for the interpreter running the benchmark, for when that is not the target's version.
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from scripts.package import ROOT, Deployable, Packager, load_manifest, write_zip

# What the Lambda python3.11 runtime puts on the path after /var/task: the SDK and its helpers.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


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
        packager = Packager(root=ROOT, build_dir=self.work / "build", out_dir=self.work / "dist",
                            log=lambda message: None)
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

    def compiled_tree(self, name: str) -> Path:
        """A copy of the tree with unchecked-hash `.pyc` files beside every module (reproducible
        bytecode: no timestamps), as a zip holding bytecode would unzip."""
        tree = self.work / "task-pyc" / name
        if not tree.exists():
            shutil.copytree(self.tree(name), tree)
            compileall.compile_dir(tree, quiet=2, workers=0,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
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

    def runtime_sdk(self) -> Path:
        """A folder holding only what the runtime adds (boto3 and its helpers), as symlinks, so that
        nothing else from this environment is importable beside the unzipped tree."""
        import importlib.util

        sdk = self.work / "runtime-sdk"
        if sdk.exists():
            return sdk
        sdk.mkdir(parents=True)
        for module in RUNTIME_MODULES:
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.origin:
                raise ModuleNotFoundError(f"{module} must be installed in the bench environment")
            if spec.submodule_search_locations:
                source = Path(next(iter(spec.submodule_search_locations)))
            else:
                source = Path(spec.origin)
            (sdk / source.name).symlink_to(source, target_is_directory=source.is_dir())
        return sdk
