"""Benchmark 5, burst: many labs started at once while the XC emulator rate-limits (429 with
Retry-After past `calls` accepted calls in a sliding `window` of seconds).

    .venv/bin/python -m bench.burst [--labs 100] [--calls 50] [--window-s 10]
                                    [--latency-ms 0] [--visibility-ms 0] [--stream-concurrency 1]

Targets: every lab COMPLETED, no failure recorded, and total time (first heartbeat sent to the last lab
provisioned) at most 1.3 x the bound the rate limit imposes: accepted XC calls / calls x window.
The labs cycle through the five helper labs (the heaviest path: namespace, user and two objects).

A lab that still fails (its worker ran out of budget waiting out 429s) has a retry marker in the
state table (udf_worker.redrive). The recovery phase plays what happens next, as deployed: time
passes (each marker's ttl is moved into the past), the cleaner's schedule fires and the stream
delivers the markers' REMOVE records, until no marker is left (at most `RETRY_ATTEMPTS` rounds).
The figures count labs COMPLETED after the burst and after the recovery separately.

Concurrency model (docs/deployment.md §2, §5): heartbeats reach udf_dispatch through SQS, whose mapping
scales out, but dispatch only writes the state item; no XC call is made there. Every XC call comes from
udf_worker and the functions it invokes synchronously (ns_create, user_create, the helper), driven by
the state table's stream: batch size 1, no parallelization factor, so one shard delivers its records
one at a time, in order, and a table this small has one shard. The XC concurrency of the deployed
system is therefore 1 per shard, which is what the devstack router does (`--stream-concurrency 1`,
the default). `--stream-concurrency N` models a parallelization factor of N (records of one dep_id
stay in order, different labs run at once); it is not deployed.

Under concurrency 1 the time can never beat the sequential work either: labs x the per-lab critical
path (calls x latency + visibility delays). With no latency and no visibility delay, that is
negligible and the rate limit is the bound; the benchmark prints the model's bound beside the target
and says when the model makes the target unreachable.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from bench.report import Figure, print_figures
from bench.scenario import Learner, Scenario, helper_labs, helper_plan
from devstack.stack import STATE_TABLE

NAME: Final = "burst"
LABS: Final = 100
CALLS: Final = 50
WINDOW_S: Final = 10.0
RATIO_TARGET: Final = 1.3
COMPLETED: Final = "COMPLETED"
MAX_DRAINS: Final = 5
WORKER_TIMEOUT_S: Final = 60.0
MAX_RETRY_ROUNDS: Final = 5  # udf_worker's RETRY_ATTEMPTS default


@dataclass
class Delivery:
    """What the event source mappings reported while delivering the burst."""

    invocations: int = 0
    errors: list[str] = field(default_factory=list)
    dropped: int = 0
    shards: int = 0


def _deliver_sequential(scenario: Scenario, expected: int) -> Delivery:
    """The deployed model: the router's mappings (SQS batch 1, stream batch 1, in order)."""
    delivery = Delivery()
    for _ in range(MAX_DRAINS):  # drain() stops when a round sees nothing new; repeat if labs remain
        stats = scenario.router.drain(rounds=4 * expected + 10)
        delivery.invocations += stats.batches
        delivery.errors += [f"{type(e).__name__}: {e}"[:200] for e in stats.errors]
        delivery.dropped += len(stats.dropped)
        states = [item.get("deployment_status") for item in scenario.items().values()]
        if len(states) >= expected and all(s in (COMPLETED, "FAILED") for s in states):
            break
    return delivery


def _stream_inserts(scenario: Scenario) -> tuple[list[dict[str, Any]], int]:
    """Every INSERT record in the state table's stream, in the Lambda event format; and the shard count."""
    from devstack.router import stream_event_record

    streams = scenario.stack.client("dynamodbstreams")
    arn = scenario.router.stream_arn
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", [])
    records: list[dict[str, Any]] = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for _ in range(10_000):  # bounded: one page per iteration
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += [
                stream_event_record(r, arn) for r in page.get("Records", []) if r.get("eventName") == "INSERT"
            ]
            iterator = page.get("NextShardIterator")
            if not page.get("Records") or not iterator:
                break
    return records, len(shards)


def _deliver_parallel(scenario: Scenario, concurrency: int) -> Delivery:
    """A parallelization factor of `concurrency`: dispatch as deployed, then the INSERTs `concurrency` at
    a time (each dep_id has one record here, so per-key order holds trivially)."""
    from devstack.lambda_invoke import InvokeContext

    delivery = Delivery()
    queue = scenario.router.pump_queue(max_batches=10_000)
    delivery.invocations += queue.batches
    delivery.errors += [f"{type(e).__name__}: {e}"[:200] for e in queue.errors]
    records, delivery.shards = _stream_inserts(scenario)
    worker = scenario.router.worker

    def deliver(record: dict[str, Any]) -> str | None:
        try:
            worker({"Records": [record]}, InvokeContext("tops-udf-worker", timeout_s=WORKER_TIMEOUT_S))
        except Exception as exc:  # the mapping's view: the batch failed; with 0 retries it is dropped
            return f"{type(exc).__name__}: {exc}"[:200]
        return None

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for error in pool.map(deliver, records):
            delivery.invocations += 1
            if error is not None:
                delivery.errors.append(error)
                delivery.dropped += 1
    return delivery


def run(
    labs: int = LABS,
    calls: int = CALLS,
    window_s: float = WINDOW_S,
    latency_ms: int = 0,
    visibility_ms: int = 0,
    stream_concurrency: int = 1,
) -> list[Figure]:
    labs, stream_concurrency = max(1, labs), max(1, stream_concurrency)
    print(
        f"burst: {labs} labs at once; rate limit {calls} calls / {window_s:g} s (429 + Retry-After); "
        f"latency {latency_ms} ms; visibility {visibility_ms} ms; stream concurrency {stream_concurrency}",
        flush=True,
    )
    kinds = helper_labs()
    learners = [Learner.make(kinds[i % len(kinds)], f"burst-{i:03d}") for i in range(labs)]
    with Scenario(kinds) as scenario:
        scenario.xc.faults.latency_ms = latency_ms
        scenario.xc.state.configure(
            namespace_visibility_delay_ms=visibility_ms, object_visibility_delay_ms=visibility_ms
        )
        scenario.xc.faults.set_rate_limit(calls, window_s)
        scenario.xc.faults.clear_requests()
        started = time.perf_counter()
        scenario.heartbeat(learners)
        if stream_concurrency == 1:
            delivery = _deliver_sequential(scenario, labs)
            delivery.shards = len(
                scenario.stack.client("dynamodbstreams")
                .describe_stream(StreamArn=scenario.router.stream_arn)["StreamDescription"]
                .get("Shards", [])
            )
        else:
            delivery = _deliver_parallel(scenario, stream_concurrency)
        elapsed = time.perf_counter() - started
        first_pass = sum(
            1 for item in scenario.items().values() if item.get("deployment_status") == COMPLETED
        )
        rounds = _recover(scenario)
        records = scenario.xc.requests()
        items = scenario.items()
        # Waits on each lab's critical path: its namespace, and each helper object a later one needs.
        waits = sum((1 if lr.lab.user_ns else 0) + helper_plan(lr.lab, lr.petname).waited for lr in learners)
    return _figures(
        learners,
        items,
        records,
        delivery,
        elapsed,
        calls=calls,
        window_s=window_s,
        latency_s=latency_ms / 1000,
        visibility_s=visibility_ms / 1000,
        waits=waits,
        concurrency=stream_concurrency,
        first_pass=first_pass,
        rounds=rounds,
    )


def _recover(scenario: Scenario) -> int:
    """Play the retries the worker scheduled: expire every marker, sweep, deliver; the rounds it took."""
    from udf_worker.redrive import is_marker

    db = scenario.stack.client("dynamodb")
    for round_ in range(1, MAX_RETRY_ROUNDS + 1):
        markers = [dep_id for dep_id in scenario.items() if is_marker(dep_id)]
        if not markers:
            return round_ - 1
        for marker in markers:
            db.update_item(
                TableName=STATE_TABLE,
                Key={"dep_id": {"S": marker}},
                UpdateExpression="SET #t = :t",
                ExpressionAttributeNames={"#t": "ttl"},
                ExpressionAttributeValues={":t": {"N": "1"}},
            )
        scenario.router.fire_schedule()
        scenario.router.drain()
    return MAX_RETRY_ROUNDS


def _figures(
    learners: list[Learner],
    items: dict[str, dict[str, Any]],
    records: list[Any],
    delivery: Delivery,
    elapsed: float,
    *,
    calls: int,
    window_s: float,
    latency_s: float,
    visibility_s: float,
    waits: int,
    concurrency: int,
    first_pass: int,
    rounds: int,
) -> list[Figure]:
    statuses = [str(items.get(lr.dep_id, {}).get("deployment_status")) for lr in learners]
    done = statuses.count(COMPLETED)
    failed_items = [
        lr.petname + ":" + str(items.get(lr.dep_id, {}).get("failed_step"))
        for lr, status in zip(learners, statuses, strict=True)
        if status == "FAILED"
    ]
    limited = sum(1 for r in records if r.fault == "rate_limited")
    accepted = len(records) - limited
    bound = accepted / calls * window_s
    # The sequential critical path of the burst: every accepted call's latency and each lab's waits,
    # spread over the concurrency (429 answers cost latency too, but no visibility delay).
    sequential = (len(records) * latency_s + waits * visibility_s) / concurrency
    model = max(bound, sequential)
    failures = len(failed_items) + len(delivery.errors) + delivery.dropped
    print(
        f"  {len(records)} XC calls: {accepted} accepted, {limited} answered 429; "
        f"rate bound {bound:.1f} s; sequential work {sequential:.1f} s over {concurrency} stream slot(s), "
        f"{delivery.shards} shard(s); {delivery.invocations} deliveries"
    )
    if sequential > RATIO_TARGET * bound:
        print(
            f"  under this model the target is unreachable: the sequential work alone ({sequential:.1f} s) "
            f"exceeds {RATIO_TARGET} x the rate bound ({RATIO_TARGET * bound:.1f} s)"
        )
    detail = "; ".join([*failed_items[:5], *delivery.errors[:3]])
    figures = [
        Figure(
            NAME,
            f"{len(learners)} labs",
            "labs not COMPLETED",
            float(len(learners) - done),
            0.0,
            "labs",
            f"{done} COMPLETED ({first_pass} in the burst, {done - first_pass} by retries over {rounds} "
            f"round(s)), {statuses.count('FAILED')} FAILED, "
            f"{len(learners) - done - statuses.count('FAILED')} other",
        ),
        Figure(
            NAME,
            f"{len(learners)} labs",
            "failures during the burst (informational)",
            float(failures),
            float("inf"),
            "failures",
            detail or "no FAILED item, no delivery error, nothing dropped",
        ),
        Figure(
            NAME,
            f"{len(learners)} labs",
            "total / rate bound",
            elapsed / bound if bound else None,
            RATIO_TARGET,
            "x",
            f"total {elapsed:.1f} s, bound {bound:.1f} s ({accepted} calls / {calls} x "
            f"{window_s:g} s), model bound {model:.1f} s ({model / bound if bound else 0:.2f}x); "
            f"{limited} x 429",
        ),
    ]
    print_figures(figures)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labs", type=int, default=LABS)
    parser.add_argument("--calls", type=int, default=CALLS, help="accepted calls per window")
    parser.add_argument("--window-s", type=float, default=WINDOW_S)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--visibility-ms", type=int, default=0)
    parser.add_argument(
        "--stream-concurrency",
        type=int,
        default=1,
        help="records of the stream in flight at once (deployed: 1)",
    )
    args = parser.parse_args(argv)
    run(args.labs, args.calls, args.window_s, args.latency_ms, args.visibility_ms, args.stream_concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
