"""Helpers shared by the packaging tests and their fixtures."""

from __future__ import annotations

import os

from scripts.package import ROOT, Built, Deployable, Packager, load_manifest, module_file, select

# What the Lambda python3.11 runtime puts on the path after /var/task: the SDK and its helpers.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


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
