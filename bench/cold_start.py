"""Benchmark 1, cold start: the import of `function.lambda_handler` from each unzipped zip, in a fresh
interpreter, against a bare `import boto3` measured in the same run.

    .venv/bin/python -m bench.cold_start [--runs 7] [--dist DIR] [--top 10]

Each sample is a new `python -I -S -B` whose path holds only the unzipped tree and a folder of
symlinks to what the Lambda runtime provides (boto3, botocore and their helpers), as in
tests/packaging. `-B` because Lambda's /var/task is read-only: the zips carry no bytecode, so every
cold start compiles every module it imports from source, and nothing may cache it between samples
here either. The baseline imports boto3 the way the runtime holds it, with its bytecode.

Samples are interleaved (baseline, zip, the zip with bytecode, next zip, ...) so that a slow moment of
the machine hits every figure alike. The verdict is the ratio of medians: at most 2.0 for
acme_client, 1.6 for every other deployable. The "with .pyc" ratio is the same zip with hash-based
bytecode compiled in (informational: what shipping bytecode would give). For each zip over target
the slowest imports from `-X importtime` are printed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.report import Figure, median, print_figures
from bench.zips import Zips

NAME: Final = "cold_start"
DEFAULT_TARGET: Final = 1.6
TARGETS: Final = {"acme_client": 2.0}
MIN_RUNS: Final = 7
SAMPLE_TIMEOUT_S: Final = 60.0

PROBE: Final = """
import sys, time
tree, sdk, what = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [p for p in (tree, sdk) if p]
started = time.perf_counter()
if what == "boto3":
    import boto3
else:
    from function import lambda_handler
print(time.perf_counter() - started)
"""


class SampleError(RuntimeError):
    """A probe interpreter failed: the import raised, or it did not finish in time."""


def _interpreter(*options: str) -> list[str]:
    return [sys.executable, "-I", "-S", "-B", *options]


def sample(tree: Path | None, sdk: Path, what: str) -> float:
    """Seconds one fresh interpreter takes to import `what` ("boto3" or "handler")."""
    command = [*_interpreter(), "-c", PROBE, str(tree or ""), str(sdk), what]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT_S,
                              cwd=sdk.parent, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SampleError(f"import of {what} took over {SAMPLE_TIMEOUT_S:.0f} s") from exc
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise SampleError(f"import failed: {last[0][:300]}")
    return float(done.stdout.strip())


@dataclass(frozen=True, slots=True)
class ImportLine:
    """One line of `-X importtime`, with the module that imported it (None at the top level)."""

    self_us: int
    cumulative_us: int
    depth: int
    module: str
    parent: ImportLine | None = None

    def chain(self) -> list[str]:
        """The importers, nearest first, up to the top-level import."""
        names: list[str] = []
        node = self.parent
        while node is not None:
            names.append(node.module)
            node = node.parent
        return names


def import_times(tree: Path, sdk: Path) -> list[ImportLine]:
    """`-X importtime` of the handler import from `tree` (source only, as shipped), in the order printed."""
    code = (f"import sys; sys.path[:0] = [{str(tree)!r}, {str(sdk)!r}]; "
            "from function import lambda_handler")
    done = subprocess.run([*_interpreter("-X", "importtime"), "-c", code], capture_output=True, text=True,
                          timeout=SAMPLE_TIMEOUT_S, cwd=sdk.parent, check=False)
    parsed: list[tuple[int, int, int, str]] = []
    for raw in done.stderr.splitlines():
        if not raw.startswith("import time:") or "self [us]" in raw:
            continue
        # "import time:   1293 |     277618 |   ns_create.function": two spaces per nesting level.
        own_us, total_us, name = raw.split(":", 1)[1].split("|", 2)
        module = name.rstrip()[1:]
        depth = (len(module) - len(module.lstrip(" "))) // 2
        parsed.append((int(own_us), int(total_us), depth, module.strip()))
    # A module is printed after everything it imports: its importer is the next line one level up.
    lines: list[ImportLine] = []
    above: dict[int, ImportLine] = {}
    for self_us, cumulative_us, depth, module in reversed(parsed):
        line = ImportLine(self_us, cumulative_us, depth, module, above.get(depth - 1))
        above[depth] = line
        lines.append(line)
    lines.reverse()
    return lines


def print_slowest(lines: list[ImportLine], own: set[str], top: int) -> None:
    """Where the cold start goes: each place where our code (`own` top-level packages and the root
    function.py) imports another package, heaviest first, with the chain of our modules that led there;
    then the modules with the largest own (self) time, mostly compiling a big source file."""

    def ours(module: str) -> bool:
        return module.split(".", 1)[0] in own

    entries = [x for x in lines if not ours(x.module) and x.parent is not None and ours(x.parent.module)]
    entries.sort(key=lambda x: -x.cumulative_us)
    print(f"    heaviest imports from our code (-X importtime, no bytecode, top {min(top, len(entries))}):")
    for x in entries[:top]:
        print(f"      {x.cumulative_us / 1000:7.1f} ms  {x.module}  <- {' <- '.join(x.chain())}")
    selfish = sorted(lines, key=lambda x: -x.self_us)[: max(3, top // 2)]
    print("    largest own (self) times:")
    for x in selfish:
        print(f"      {x.self_us / 1000:7.1f} ms  {x.module}")


@dataclass
class Samples:
    """One zip's samples, each beside the boto3 baseline taken just before it."""

    boto3: list[float] = field(default_factory=list)
    source: list[float] = field(default_factory=list)
    compiled: list[float] = field(default_factory=list)
    error: str | None = None


def run(runs: int = MIN_RUNS, dist: Path | None = None, top: int = 10,
        zips: Zips | None = None) -> list[Figure]:
    runs = max(MIN_RUNS, runs)
    owned = zips is None
    zips = zips or Zips(dist=dist)
    try:
        return _run(zips, runs, top)
    finally:
        if owned:
            zips.close()


def _run(zips: Zips, runs: int, top: int) -> list[Figure]:
    print(f"cold start: import function.lambda_handler / import boto3, median of {runs} fresh "
          "interpreters each", flush=True)
    paths = zips.build()
    names = [d.name for d in zips.deployables]
    sdk = zips.runtime_sdk()
    trees = {name: zips.tree(name) for name in names}
    compiled = {name: zips.compiled_tree(name) for name in names}
    samples = {name: Samples() for name in names}
    for round_no in range(runs):
        # Rotate the order each round so no zip always runs first or last.
        order = names[round_no % len(names):] + names[:round_no % len(names)]
        for name in order:
            got = samples[name]
            if got.error is not None:
                continue
            try:
                got.boto3.append(sample(None, sdk, "boto3"))
                got.source.append(sample(trees[name], sdk, "handler"))
                got.compiled.append(sample(compiled[name], sdk, "handler"))
            except SampleError as exc:
                got.error = str(exc)
    baseline = [s for got in samples.values() for s in got.boto3]
    print(f"  bare `import boto3`: median {median(baseline) * 1000:.1f} ms over {len(baseline)} interpreters "
          "(each zip is divided by the median of the boto3 samples taken beside its own)")
    figures: list[Figure] = []
    explained: dict[str, str] = {}
    for d in zips.deployables:
        name = d.name
        target = TARGETS.get(name, DEFAULT_TARGET)
        got = samples[name]
        if got.error is not None or not got.source:
            figure = Figure(NAME, name, "import / boto3", None, target, "x", f"error: {got.error}")
            print_figures([figure])
            figures.append(figure)
            continue
        boto3_s, source_s, compiled_s = median(got.boto3), median(got.source), median(got.compiled)
        figure = Figure(
            NAME, name, "import / boto3", source_s / boto3_s, target, "x",
            f"median {source_s * 1000:.0f} ms vs boto3 {boto3_s * 1000:.0f} ms; with .pyc "
            f"{compiled_s / boto3_s:.2f}x ({compiled_s * 1000:.0f} ms); zip {paths[name].stat().st_size} B",
        )
        print_figures([figure])
        figures.append(figure)
        if not figure.passed:
            if d.package in explained:  # the lab helpers share one package: list its imports once
                print(f"    (same package, same imports as {explained[d.package]})")
            else:
                explained[d.package] = name
                print_slowest(import_times(trees[name], sdk), {"function", "shared", d.package}, top)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help=f"interpreters per zip (>= {MIN_RUNS})")
    parser.add_argument("--dist", type=Path, default=None, help="read the zips here instead of building them")
    parser.add_argument("--top", type=int, default=10, help="imports listed for a zip over target")
    args = parser.parse_args(argv)
    run(args.runs, args.dist, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
