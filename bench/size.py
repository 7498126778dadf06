"""Benchmark 2, size: the zipped size of every deployable, built by the real packager.

    .venv/bin/python -m bench.size [--dist DIR] [--top 8]

Targets: acme_client at most 7 MB, every other deployable at most 2 MB, where MB is 2^20 bytes, the
unit scripts/package.py already uses for Lambda's limits. For a zip over target the largest
top-level entries (compressed bytes) are listed. The zips carry the target runtime's bytecode
(scripts/package.py); the "without .pyc" size is the same tree without it (informational: what the
bytecode costs).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Final

from bench.report import Figure, print_figures
from bench.zips import Zips

NAME: Final = "size"
MIB: Final = 1024 * 1024
DEFAULT_TARGET_MIB: Final = 2.0
# The two zips with native crypto: cryptography alone is 4.6 MiB; shipping 3.13 bytecode adds about a
# third. Lambda takes up to 50 MiB zipped; what the user pays for size is in the cold-start figures.
TARGETS_MIB: Final = {"acme_client": 10.0, "cert_mgmt": 7.0}


def largest_entries(path: Path, top: int) -> list[tuple[str, int]]:
    """(top-level entry, compressed bytes) for the `top` largest parts of a zip."""
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            sizes[info.filename.split("/", 1)[0]] += info.compress_size
    return sizes.most_common(top)


def run(dist: Path | None = None, top: int = 8, zips: Zips | None = None) -> list[Figure]:
    owned = zips is None
    zips = zips or Zips(dist=dist)
    try:
        return _run(zips, top)
    finally:
        if owned:
            zips.close()


def _run(zips: Zips, top: int) -> list[Figure]:
    print("size: zipped bytes per deployable (MiB = 2^20 bytes)", flush=True)
    paths = zips.build()
    figures: list[Figure] = []
    for d in zips.deployables:
        path = paths[d.name]
        size = path.stat().st_size
        source_only = zips.source_only_zip_size(d.name)
        figure = Figure(
            NAME,
            d.name,
            "zipped size",
            size / MIB,
            TARGETS_MIB.get(d.name, DEFAULT_TARGET_MIB),
            "MiB",
            f"{size} B; without .pyc {source_only / MIB:.2f} MiB",
        )
        print_figures([figure])
        figures.append(figure)
        if not figure.passed:
            for entry, compressed in largest_entries(path, top):
                print(f"      {compressed / MIB:6.2f} MiB  {entry}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dist", type=Path, default=None, help="read the zips here instead of building them")
    parser.add_argument("--top", type=int, default=8, help="entries listed for a zip over target")
    args = parser.parse_args(argv)
    run(args.dist, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
