"""Which deployables a change touches, from the changed paths (arguments, or one per line on stdin).

    git diff --name-only --no-renames A B | python -m scripts.changed [--matrix]
    python -m scripts.changed --all --matrix

`<package>/...` selects every deployable built from that package (udf_helpers/ selects every lab
zip). What goes into every zip or decides how zips are built selects all: shared/, the root
requirement and constraint files, deployables.toml, scripts/ and the workflows. Anything else
(tests/, devstack/, docs) selects nothing. Names come out in manifest order.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Iterable, Sequence
from typing import Final

from scripts.package import MANIFEST, ROOT, Deployable, PackageError, load_manifest, matrix_json

# Root-level files (glob patterns) and folders whose change rebuilds every zip.
GLOBAL_FILES: Final = (MANIFEST, "requirements*.txt", "constraints*.txt")
GLOBAL_DIRS: Final = ("shared/", "scripts/", ".github/workflows/")


def _clean(path: str) -> str:
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def affects_all(path: str) -> bool:
    """True when a change to `path` (relative to the repository root) can change every zip."""
    path = _clean(path)
    if "/" not in path:
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in GLOBAL_FILES)
    return path.startswith(GLOBAL_DIRS)


def select_changed(paths: Iterable[str], deployables: Sequence[Deployable]) -> list[Deployable]:
    """The deployables whose zip a change to `paths` can alter, in manifest order."""
    packages: set[str] = set()
    for raw in paths:
        path = _clean(raw)
        if not path:
            continue
        if affects_all(path):
            return list(deployables)
        top, _, rest = path.partition("/")
        if rest:
            packages.add(top)
    return [d for d in deployables if d.package in packages]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.changed",
        description="Print the deployables that changed paths select (paths from stdin if none given).",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="changed paths, relative to the repo root")
    parser.add_argument("--all", action="store_true", help="select every deployable; read no paths")
    parser.add_argument("--matrix", action="store_true", help="print a GitHub Actions matrix as JSON")
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(ROOT)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.all:
        chosen = manifest
    else:
        paths = args.paths if args.paths else sys.stdin.read().splitlines()
        chosen = select_changed(paths, manifest)
    if args.matrix:
        print(matrix_json(chosen))
    else:
        for deployable in chosen:
            print(deployable.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
