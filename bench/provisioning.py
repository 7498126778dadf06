"""Benchmark 4, provisioning against the floor: one lab of each kind that has a helper, through the
real pipeline (SQS heartbeat -> udf_dispatch -> stream -> udf_worker -> ns_create, user_create and the
lab helper over the Lambda invoke endpoint), with the XC emulator answering every call after a fixed
latency and keeping namespaces and objects invisible for a while after their create.

    .venv/bin/python -m bench.provisioning [--latency-ms 100] [--visibility-ms 1000]

Per lab, measured from the udf_worker invocation's start to its end (handlers already imported):

- floor = XC calls made x latency + the visibility delays on the critical path (the namespace, when
  the lab has one, and each lab object a later object waits for). Target: wall / floor <= 1.25.
- calls: the XC request log during the invocation, against the minimum the steps need plus one poll
  per wait. The minimum: ns_create POST + GET (it confirms the namespace is usable); user_create's
  account lookup (GET user_roles: the worker decides who owns the account before anything changes it)
  and its POST; the helper GET + POST per object (it reads before it writes, for idempotency) and one
  GET per object it waits for. The "ideal" time in the detail is that minimum x latency + the delays.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Final

from bench.report import Figure, print_figures
from bench.scenario import Learner, Scenario, call_breakdown, helper_labs, helper_plan

NAME: Final = "provisioning"
RATIO_TARGET: Final = 1.25
LATENCY_MS: Final = 100
VISIBILITY_MS: Final = 1000
COMPLETED: Final = "COMPLETED"


@dataclass(frozen=True, slots=True)
class LabRun:
    lab: str
    wall_s: float
    calls: int
    minimum: int
    waits: int
    delays_s: float
    breakdown: str
    status: str
    error: str = ""

    def floor_s(self, latency_s: float) -> float:
        return self.calls * latency_s + self.delays_s

    def ideal_s(self, latency_s: float) -> float:
        return self.minimum * latency_s + self.delays_s


def run(latency_ms: int = LATENCY_MS, visibility_ms: int = VISIBILITY_MS) -> list[Figure]:
    latency_s, visibility_s = latency_ms / 1000, visibility_ms / 1000
    print(
        f"provisioning: one lab of each helper kind through udf_worker; XC latency {latency_ms} ms "
        f"per call, namespaces and objects invisible {visibility_ms} ms after create",
        flush=True,
    )
    labs = helper_labs()
    runs: list[LabRun] = []
    with Scenario(labs) as scenario:
        durations: list[float] = []
        scenario.timed_worker(durations)
        scenario.xc.faults.latency_ms = latency_ms
        scenario.xc.state.configure(
            namespace_visibility_delay_ms=visibility_ms, object_visibility_delay_ms=visibility_ms
        )
        for lab in labs:
            learner = Learner.make(lab, f"bench-{lab.name}")
            plan = helper_plan(lab, learner.petname)
            waits = plan.waited + (1 if lab.user_ns else 0)
            minimum = (2 if lab.user_ns else 0) + 2 + 2 * plan.objects + plan.waited
            scenario.heartbeat([learner])
            queue = scenario.router.pump_queue()
            scenario.xc.faults.clear_requests()
            durations.clear()
            stream = scenario.router.pump_stream()
            records = scenario.xc.requests()
            item = scenario.items().get(learner.dep_id, {})
            problems = [repr(e)[:200] for e in (*queue.errors, *stream.errors)] + stream.dropped
            runs.append(
                LabRun(
                    lab=lab.name,
                    wall_s=sum(durations),
                    calls=len(records),
                    minimum=minimum,
                    waits=waits,
                    delays_s=waits * visibility_s,
                    breakdown=call_breakdown(records),
                    status=str(item.get("deployment_status")),
                    error="; ".join(problems)
                    or (f"{len(durations)} worker invocations" if len(durations) != 1 else ""),
                )
            )
            time.sleep(0)  # nothing shared between labs but the stack
    return _figures(runs, latency_s)


def _figures(runs: list[LabRun], latency_s: float) -> list[Figure]:
    figures: list[Figure] = []
    for r in runs:
        ok = r.status == COMPLETED and not r.error
        floor = r.floor_s(latency_s)
        why = "" if ok else f"; status {r.status} {r.error}".rstrip()
        value = r.wall_s / floor if ok and floor else None
        ratio = Figure(
            NAME,
            r.lab,
            "wall / floor",
            value,
            RATIO_TARGET,
            "x",
            f"wall {r.wall_s:.3f} s, floor {floor:.3f} s ({r.calls} calls x {latency_s:.3f} s + "
            f"{r.delays_s:.1f} s visibility); ideal {r.ideal_s(latency_s):.3f} s{why}",
        )
        calls = Figure(
            NAME,
            r.lab,
            "XC calls",
            float(r.calls) if ok else None,
            float(r.minimum + r.waits),
            "calls",
            f"minimum {r.minimum} + {r.waits} poll(s); {r.breakdown}{why}",
        )
        print_figures([ratio, calls])
        figures += [ratio, calls]
    if runs and all(r.status == COMPLETED and not r.error for r in runs):
        wall = sum(r.wall_s for r in runs)
        floor = sum(r.floor_s(latency_s) for r in runs)
        total = Figure(
            NAME,
            "all labs",
            "wall / floor",
            wall / floor,
            RATIO_TARGET,
            "x",
            f"wall {wall:.3f} s, floor {floor:.3f} s, ideal "
            f"{sum(r.ideal_s(latency_s) for r in runs):.3f} s; "
            f"calls {sum(r.calls for r in runs)} vs allowed "
            f"{sum(r.minimum + r.waits for r in runs)}",
        )
        print_figures([total])
        figures.append(total)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=int, default=LATENCY_MS)
    parser.add_argument("--visibility-ms", type=int, default=VISIBILITY_MS)
    args = parser.parse_args(argv)
    run(args.latency_ms, args.visibility_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
