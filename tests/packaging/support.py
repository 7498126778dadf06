"""Helpers shared by the packaging tests and their fixtures."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.interpreters import find_python, where_looked
from scripts.package import (
    ROOT,
    Built,
    Deployable,
    Packager,
    Runtime,
    load_manifest,
    load_target,
    manifest_table,
    module_file,
    pip_install_command,
    read_requirements,
    select,
)

# What a Lambda Python runtime puts on the path after /var/task: the SDK and its helpers.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
SDK_DISTRIBUTIONS = ("boto3", "botocore")
# Set to 1 (CI does) to fail, not skip, when a runtime's Python is missing from the machine.
REQUIRE_RUNTIMES = "PACKAGING_REQUIRE_RUNTIMES"


def wanted_deployables() -> list[Deployable]:
    manifest = load_manifest(ROOT)
    only = os.environ.get("PACKAGING_DEPLOYABLES", "").replace(",", " ").split()
    return select(manifest, only) if only else manifest


def missing_sources(deployable: Deployable) -> str | None:
    """Why a deployable cannot be built from this tree yet, or None."""
    if not (ROOT / deployable.package / "__init__.py").is_file():
        return f"{deployable.package}/ is not in the tree yet"
    if module_file(ROOT, deployable.module) is None:
        return f"{deployable.module} is not in the tree yet"
    return None


def lambda_runtimes() -> tuple[Runtime, ...]:
    """The runtimes every zip must run on: the target and the `also` list of deployables.toml."""
    return load_target(ROOT).runtimes


def runtime_python(runtime: Runtime) -> Path:
    """This machine's interpreter for `runtime`; skips the test when there is none (fails instead
    when PACKAGING_REQUIRE_RUNTIMES=1)."""
    found = find_python(runtime.version)
    if found is None:
        message = (
            f"{runtime.name} NOT TESTED: no Python {runtime.version} on this machine "
            f"(looked at {where_looked(runtime.version)})"
        )
        if os.environ.get(REQUIRE_RUNTIMES) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass(frozen=True)
class SDK:
    """The AWS SDK as a Lambda runtime ships it, installed alone into a folder."""

    label: str
    version: str
    path: Path


def sdk_versions() -> dict[str, str]:
    """label -> boto3/botocore version: `oldest` ([runtime] oldest_sdk in deployables.toml) and
    `newest` (the pin in requirements-dev.txt)."""
    oldest = manifest_table(ROOT, "runtime").get("oldest_sdk")
    assert isinstance(oldest, str) and oldest, "deployables.toml [runtime] needs oldest_sdk"
    dev = read_requirements([ROOT / "requirements-dev.txt"])
    pins = {line.split("==")[0].strip().lower(): line.split("==")[1].strip() for line in dev.dropped}
    newest = pins.get("botocore")
    assert newest and pins.get("boto3") == newest, "requirements-dev.txt pins boto3 and botocore alike"
    return {"oldest": oldest, "newest": newest}


def install_sdk(label: str, version: str, dest: Path) -> SDK:
    """pip-install boto3 and botocore `version` (with what they depend on) into `dest`."""
    command = pip_install_command(dest, *(f"{name}=={version}" for name in SDK_DISTRIBUTIONS))
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"installing the {label} SDK {version} failed:\n{result.stderr}"
    return SDK(label, version, dest)


class BuildCache:
    """Builds each deployable once with one packager and remembers the result or the failure."""

    def __init__(self, packager: Packager) -> None:
        self.packager = packager
        self._results: dict[str, Built | Exception] = {}

    def get(self, deployable: Deployable) -> Built:
        if deployable.name not in self._results:
            try:
                self._results[deployable.name] = self.packager.build(deployable)
            except Exception as exc:  # kept so that later tests fail fast with the same error
                self._results[deployable.name] = exc
        result = self._results[deployable.name]
        if isinstance(result, Exception):
            raise result
        return result


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a function: a PATH, a locale, a region, and what the test adds."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }
