"""`python -m bench [NAME ...]`: run the benchmarks (all of them, or the ones named) and print every
figure beside its target with a PASS or MISS verdict.

    python -m bench                                  cold_start size issuance provisioning burst
    python -m bench cold_start size --dist dist      measure zips already built
    python -m bench cold_start --before old-dist     cold starts of these zips beside older ones
    python -m bench --results bench/RESULTS.md       also rewrite the figures block of RESULTS.md

A miss is reported, never raised, and so is a benchmark that cannot run (its figure has no value):
the exit status is 0 whatever the verdicts. Each benchmark has its own command line with more knobs
(`python -m bench.burst --help`).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Final

from bench.cold_start import DEFAULT_RUNS as COLD_START_RUNS
from bench.report import Figure, print_figures, write_results
from bench.zips import Zips

ORDER: Final = ("cold_start", "size", "issuance", "provisioning", "burst")


def _issuance(runs: int) -> list[Figure]:
    from bench import acme_issuance

    return acme_issuance.figures(max(1, runs))


def _runners(args: argparse.Namespace, zips: Zips) -> dict[str, Callable[[], list[Figure]]]:
    from bench import burst, cold_start, provisioning, size

    return {
        "cold_start": lambda: cold_start.run(args.runs, top=args.top, zips=zips, before_dist=args.before),
        "size": lambda: size.run(top=args.top, zips=zips),
        "issuance": lambda: _issuance(args.issuance_runs),
        "provisioning": provisioning.run,
        "burst": lambda: burst.run(labs=args.burst_labs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run, among {', '.join(ORDER)} (default: all)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=COLD_START_RUNS,
        help="cold start: interleaved rounds of fresh processes per worker",
    )
    parser.add_argument("--top", type=int, default=10, help="imports or zip entries listed for a miss")
    parser.add_argument("--dist", type=Path, default=None, help="read the zips here instead of building them")
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="cold start: zips of an earlier build, measured beside these (before/after)",
    )
    parser.add_argument("--issuance-runs", type=int, default=5)
    parser.add_argument("--burst-labs", type=int, default=100)
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="rewrite the figures block of this markdown file (e.g. bench/RESULTS.md)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose among {', '.join(ORDER)}")
    chosen = [name for name in ORDER if name in args.names] if args.names else list(ORDER)

    zips = Zips(dist=args.dist)
    runners = _runners(args, zips)
    figures: list[Figure] = []
    try:
        for name in chosen:
            started = time.monotonic()
            try:
                figures += runners[name]()
            except Exception as exc:  # a benchmark that cannot run is a miss, and the others still run
                traceback.print_exc(limit=4)
                failed = Figure(
                    name, "-", "could not run", None, 0.0, "failures", f"error: {type(exc).__name__}: {exc}"
                )
                print_figures([failed])
                figures.append(failed)
            print(f"  ({name}: {time.monotonic() - started:.0f} s)\n", flush=True)
    finally:
        zips.close()

    print("summary")
    print_figures(figures)
    passed = sum(f.passed for f in figures)
    print(f"{passed} of {len(figures)} figures within target; {len(figures) - passed} MISS")
    if args.results is not None:
        write_results(args.results, figures)
        print(f"figures written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
