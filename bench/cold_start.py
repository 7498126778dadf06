"""Benchmark 1, cold start: the whole cold invocation of each worker against a hand-written floor, its
peak memory, and the import of every zip against a bare `import boto3`.

    .venv/bin/python -m bench.cold_start [--runs 9] [--dist DIR] [--before DIR] [--no-acme]
                                         [--only NAME ...] [--trace NAME]

**Whole cold invocation.** Each sample is a new process of the target runtime's Python (python3.13,
`-I -S -B`) whose path holds only the unzipped zip and the AWS SDK installed alone with its bytecode
(bench/zips.py), the way the Lambda runtime holds it. It imports `function.lambda_handler`, calls it
once with a valid event against the local stack and exits. Timed from just before the process is
spawned to the handler's return, so interpreter start, import and first call are all inside; the
parts are reported separately. `-B` because /var/task is read-only: whatever the zip does not carry
as bytecode is compiled on every cold start, here too.

- ns_create (a new namespace with its owner label), user_create (a new user), token_refresh (a
  credential due for renewal: renewed and read back) against moto in server mode and the devstack
  XC emulator, no added latency (devstack.stack.LocalStack without Pebble);
- udf_worker: one INSERT record of a new deployment of the example lab, its callees (ns_create,
  user_create twice, the lab helper) stubbed at the devstack Lambda invoke endpoint by functions
  that answer their real shapes at once, so that the figure is the worker's own cost;
- acme_client (unless --no-acme): a scheduled run whose certificate is still valid and whose ARI
  answer must be asked afresh, against Pebble behind the devstack renewalInfo proxy
  (bench/acme_issuance.py's stack); and, for memory only, an issuing run (`force`).

The floor of each is `bench/floor.py`: the same AWS and XC calls made with boto3 and urllib, run the
same way. Samples are interleaved (floor, worker and, with --before, the zip of an earlier build, in
an order rotated every round, the workers rotated too), so a slow moment of the machine hits every
figure alike. The ratio is the median of the per-round ratios worker / floor. Targets: 1.25x the
floor (1.5x for acme_client's not-due run), 90 MB of peak RSS (VmHWM of the process, which excludes
the Lambda runtime client's own memory), and the AWS and XC calls of the floor. An untimed run of
each counts the calls (botocore operations, and XC requests from the emulator's log).

**Import only** (secondary): a new process imports `function.lambda_handler` and exits, for every
zip, beside a bare `import boto3` in the same round; at most 2.0x for acme_client, 1.6x otherwise.
For a zip over target the slowest imports (`-X importtime`) are listed.

`--trace NAME` runs one more sample of that worker under `-X importtime` and cProfile and prints
where the import and the first call go.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.report import Figure, median, print_figures
from bench.zips import Zips

NAME: Final = "cold_start"
WHOLE_TARGET: Final = 1.25
WHOLE_TARGETS: Final = {"acme_client": 1.5}
RSS_TARGET_MB: Final = 90.0
IMPORT_TARGET: Final = 1.6
IMPORT_TARGETS: Final = {"acme_client": 2.0}
MIN_RUNS: Final = 5
DEFAULT_RUNS: Final = 9
SAMPLE_TIMEOUT_S: Final = 120.0
FLOOR_SOURCE: Final = Path(__file__).resolve().parent / "floor.py"
XC_WORKERS: Final = ("ns_create", "user_create", "token_refresh", "udf_worker")
MARK: Final = "@@cold_start@@ "

# Runs in the target runtime's Python with nothing but the tree and the SDK on its path. Prints one
# line after MARK: the monotonic clock (system-wide on Linux, so the parent can subtract its spawn
# time) at the start, after the import and after the handler returned, the peak RSS and the result.
PROBE: Final = r"""
import sys, time
began = time.monotonic()
import json, importlib
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["path"]
calls = {}
if spec.get("count"):  # census runs only: never timed
    import botocore.endpoint
    _send = botocore.endpoint.Endpoint.make_request
    def _counting(self, operation_model, request_dict):
        key = operation_model.service_model.service_name + ":" + operation_model.name
        calls[key] = calls.get(key, 0) + 1
        return _send(self, operation_model, request_dict)
    botocore.endpoint.Endpoint.make_request = _counting
profile = None
if spec.get("profile"):
    import cProfile
    profile = cProfile.Profile()

class Context:
    function_name = spec["function"]
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + spec["function"]
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/" + spec["function"]
    log_stream_name = "bench"
    def __init__(self, timeout_s):
        self._end = time.monotonic() + timeout_s
    def get_remaining_time_in_millis(self):
        return max(0, int((self._end - time.monotonic()) * 1000))

started = time.monotonic()
handler = getattr(importlib.import_module(spec["module"]), spec["handler"])
imported = time.monotonic()
result = None
if "event" in spec:
    context = Context(spec["timeout_s"])
    if profile is not None:
        profile.enable()
    result = handler(spec["event"], context)
    returned = time.monotonic()
    if profile is not None:
        profile.disable()
        import pstats
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(spec["profile"])
else:
    returned = imported
with open("/proc/self/status") as status:
    hwm_kb = int(status.read().split("VmHWM:")[1].split()[0])
print(MARK + json.dumps({"began": began, "started": started, "imported": imported, "returned": returned,
                         "rss_kb": hwm_kb, "result": result, "calls": calls}, default=str), flush=True)
""".replace("MARK", repr(MARK))


class SampleError(RuntimeError):
    """A probe process failed: the import or the handler raised, or it did not finish in time."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One cold invocation (or import), in seconds, measured from the parent's spawn."""

    whole: float
    start: float  # spawn to the probe's first statement: fork, exec, interpreter start-up
    imported: float
    call: float
    rss_mb: float
    result: Any
    calls: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Target:
    """Something to run in a fresh process: a tree on the path, a module and a function in it."""

    label: str
    path: tuple[Path, ...]
    module: str = "function"
    handler: str = "lambda_handler"


def probe(
    python: Path,
    target: Target,
    *,
    env: Mapping[str, str],
    function: str,
    event: Any = None,
    timeout_s: float = 60.0,
    count: bool = False,
    options: Sequence[str] = (),
    profile: int = 0,
) -> tuple[Sample, str]:
    """Run `target` once in a new process (the handler with `event`, or only its import when `event` is
    None); return the sample and the process's stderr. Raises SampleError."""
    spec: dict[str, Any] = {
        "path": [str(p) for p in target.path],
        "module": target.module,
        "handler": target.handler,
        "function": function,
        "timeout_s": timeout_s,
        "count": count,
        "profile": profile,
    }
    if event is not None:
        spec["event"] = event
    command = [str(python), "-I", "-S", "-B", *options, "-c", PROBE, json.dumps(spec)]
    spawned = time.monotonic()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=SAMPLE_TIMEOUT_S,
            env=dict(env),
            cwd=target.path[0],
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SampleError(f"{target.label}: no answer in {SAMPLE_TIMEOUT_S:.0f} s") from exc
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["(no output)"])[-1]
        raise SampleError(f"{target.label}: exit {done.returncode}: {tail[:300]}")
    got = json.loads(lines[-1][len(MARK) :])
    sample = Sample(
        whole=got["returned"] - spawned,
        start=got["began"] - spawned,
        imported=got["imported"] - got["started"],
        call=got["returned"] - got["imported"],
        rss_mb=got["rss_kb"] / 1024,
        result=got["result"],
        calls=got["calls"],
    )
    return sample, done.stderr


# --------------------------------------------------------------------------- the cases


@dataclass
class Case:
    """One worker's cold invocation: how to make each sample's event (untimed), how to check what the
    sample did (untimed; a message when it did not do the work), and its floor function."""

    name: str
    function: str
    floor: str
    prepare: Callable[[int], Any]
    check: Callable[[Any, Any], str | None]
    env: Mapping[str, str]
    timeout_s: float = 60.0
    target: float = WHOLE_TARGET
    xc_log: Callable[[], int] | None = None  # requests the XC emulator has seen, for the census
    events: dict[int, Any] = field(default_factory=dict)

    def event(self, index: int) -> Any:
        if index not in self.events:
            self.events[index] = self.prepare(index)
        return self.events[index]


@dataclass
class Results:
    """Samples by variant ("floor", "worker", "before"), in round order."""

    samples: dict[str, list[Sample | None]] = field(default_factory=dict)
    census: dict[str, tuple[Mapping[str, int], int | None]] = field(default_factory=dict)
    error: str | None = None

    def add(self, variant: str, sample: Sample | None) -> None:
        self.samples.setdefault(variant, []).append(sample)

    def good(self, variant: str) -> list[Sample]:
        return [s for s in self.samples.get(variant, []) if s is not None]

    def ratio(self, variant: str, base: str = "floor") -> float | None:
        """Median over rounds of whole(variant) / whole(base) taken in the same round."""
        pairs = [
            a.whole / b.whole
            for a, b in zip(self.samples.get(variant, []), self.samples.get(base, []), strict=False)
            if a is not None and b is not None
        ]
        return statistics.median(pairs) if pairs else None


def _lambda_env(function: str, tree: Path, home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """What the Lambda runtime sets for a function, plus the function's own variables."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(tree),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }


_STACK_KEYS: Final = (
    "AWS_",
    "SSM_BASE_PATH",
    "S3_BUCKET",
    "CERT_NAME",
    "DEPLOYMENT_STATE_TABLE",
    "LAB_CONFIGURATION_TABLE",
    "NS_",
    "USER_",
    "ENV",
    "DOMAIN",
    "EMAIL",
    "CHALLENGE_",
    "ACME_",
    "POWERTOOLS_",
)


def _stack_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_STACK_KEYS)}


def _callee_stubs() -> dict[str, Callable[[Any, Any], Any]]:
    """udf_worker's callees, answering their real shapes at once (README: Workers in detail)."""

    def ns_create(event: Any, context: Any) -> Any:
        return {
            "statusCode": 200,
            "body": {
                "namespace": event["namespace_name"],
                "owner": event.get("owner"),
                "created": True,
                "state": "created",
                "waited_s": 0.0,
                "create_attempts": 1,
            },
        }

    def user_create(event: Any, context: Any) -> Any:
        if event.get("lookup"):
            return {
                "statusCode": 200,
                "body": {"email": event["email"], "exists": False, "namespace_roles": [], "group_names": []},
            }
        roles, groups = event.get("namespace_roles") or [], event.get("group_names") or []
        return {
            "statusCode": 200,
            "body": {
                "email": event["email"],
                "created": True,
                "state": "created",
                "updated": False,
                "added_roles": roles,
                "added_groups": groups,
                "renamed_from": None,
                "namespace_roles": roles,
                "group_names": groups,
            },
        }

    def helper(event: Any, context: Any) -> Any:
        return {
            "statusCode": 200,
            "body": {"lab": "example", "action": event.get("action", "create"), "objects": []},
        }

    return {
        "tops-ns-create": ns_create,
        "tops-user-create": user_create,
        "tops-udf-helper-example-pre": helper,
    }


@contextmanager
def xc_cases(home: Path, trees: Mapping[str, Path]) -> Iterator[list[Case]]:
    """The local stack (moto, XC emulator, stubbed callees) and the four XC workers' cases."""
    from bench.scenario import quiet
    from devstack.stack import BASE_PATH, CREDENTIAL, LAB_ROWS, STATE_TABLE, LocalStack, StackOptions
    from scripts.package import ROOT

    quiet()
    stack = LocalStack(StackOptions(pebble=False, validate_refs=False))
    stack.start()
    try:
        assert stack.invoke is not None
        for route, stub in _callee_stubs().items():
            stack.invoke.registry.set(route, stub)
        db = stack.client("dynamodb")
        example = next(
            lab_id
            for lab_id, row in LAB_ROWS.items()
            if str(row.get("pre_lambda") or "").endswith("example-pre-dev")
        )
        common = _stack_env(stack.env)
        run_id = uuid.uuid4().hex[:6]

        def env(function: str, name: str) -> dict[str, str]:
            return _lambda_env(function, trees.get(name, ROOT), home, common)

        def ok(result: Any, sample: Any) -> str | None:
            if isinstance(result, dict) and result.get("statusCode") == 200:
                return None
            return f"answered {json.dumps(result)[:200]}"

        def ns_event(i: int) -> Any:
            return {
                "ssm_base_path": BASE_PATH,
                "namespace_name": f"cs-{run_id}-{i}",
                "owner": str(uuid.uuid4()),
                "description": "cold start bench",
            }

        def user_event(i: int) -> Any:
            return {
                "ssm_base_path": BASE_PATH,
                "first_name": "Lab User",
                "last_name": f"cs{i}",
                "email": f"cs-{run_id}-{i}@bench.example.com",
                "group_names": ["xc-lab-users"],
                "namespace_roles": [{"namespace": "system", "role": "f5xc-web-app-scanning-user"}],
            }

        def token_event(i: int) -> Any:
            # Due again before every sample: three days left, so each run renews and reads back.
            stack.xc.state.seed_credential(
                "service_credentials", CREDENTIAL, stack.token, time.time() + 3 * 86400
            )
            return {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": "2026-01-01T00:00:00Z",
                "region": "us-east-1",
                "resources": ["arn:aws:events:us-east-1:123456789012:rule/tr"],
                "detail": {},
            }

        def token_ok(result: Any, sample: Any) -> str | None:
            if (
                isinstance(result, dict)
                and result.get("statusCode") == 200
                and result.get("body", {}).get("renewed") is not False
            ):
                return None
            return f"answered {json.dumps(result)[:200]}"

        def stream_event(i: int) -> Any:
            dep_id = str(uuid.uuid4())
            item = {
                "dep_id": {"S": dep_id},
                "lab_id": {"S": example},
                "email": {"S": f"w{i}-{run_id}@bench.test"},
                "petname": {"S": f"cs-{run_id}-w{i}"},
                "deployment_status": {"S": "STARTING"},
                "created_at": {"S": "2026-01-01T00:00:00.000000"},
                "ttl": {"N": str(int(time.time()) + 3600)},
            }
            db.put_item(TableName=STATE_TABLE, Item=item)
            return {
                "Records": [
                    {
                        "eventID": uuid.uuid4().hex,
                        "eventName": "INSERT",
                        "eventVersion": "1.1",
                        "eventSource": "aws:dynamodb",
                        "awsRegion": "us-east-1",
                        "dynamodb": {
                            "ApproximateCreationDateTime": int(time.time()),
                            "Keys": {"dep_id": {"S": dep_id}},
                            "NewImage": item,
                            "SequenceNumber": str(10**20 + i),
                            "SizeBytes": 300,
                            "StreamViewType": "NEW_AND_OLD_IMAGES",
                        },
                        "eventSourceARN": (
                            f"arn:aws:dynamodb:us-east-1:123456789012:table/{STATE_TABLE}/stream/x"
                        ),
                    }
                ]
            }

        def stream_ok(result: Any, event: Any) -> str | None:
            if not isinstance(result, dict) or result.get("batchItemFailures"):
                return f"answered {json.dumps(result)[:200]}"
            key = event["Records"][0]["dynamodb"]["Keys"]
            item = db.get_item(TableName=STATE_TABLE, Key=key, ConsistentRead=True).get("Item", {})
            status = item.get("deployment_status", {}).get("S")
            if status == "COMPLETED":
                return None
            return f"deployment ended {status}: {item.get('failure_reason')}"

        def xc_requests() -> int:
            return len(stack.xc.faults.requests)

        yield [
            Case(
                "ns_create",
                "tops-ns-create-dev",
                "ns_create",
                ns_event,
                ok,
                env("tops-ns-create-dev", "ns_create"),
                xc_log=xc_requests,
            ),
            Case(
                "user_create",
                "tops-user-create-dev",
                "user_create",
                user_event,
                ok,
                env("tops-user-create-dev", "user_create"),
                xc_log=xc_requests,
            ),
            Case(
                "token_refresh",
                "tops-token-refresh-sec",
                "token_refresh",
                token_event,
                token_ok,
                env("tops-token-refresh-sec", "token_refresh"),
                xc_log=xc_requests,
            ),
            Case(
                "udf_worker",
                "tops-udf-worker-dev",
                "udf_worker",
                stream_event,
                stream_ok,
                env("tops-udf-worker-dev", "udf_worker"),
                timeout_s=300.0,
                xc_log=xc_requests,
            ),
        ]
    finally:
        stack.stop()


@contextmanager
def acme_cases(home: Path, trees: Mapping[str, Path]) -> Iterator[tuple[Case, Case]]:
    """Pebble behind the renewalInfo proxy, one certificate issued; the not-due case (ARI asked afresh
    before each sample, untimed) and the issuing case (forced)."""
    from bench import acme_issuance

    with acme_issuance._stack(ari=True):
        assert acme_issuance._handler({})["body"]["action"] == "issued"
        common = _stack_env(os.environ)
        env = _lambda_env("tops-acme-client-mcn", trees.get("acme_client", Path.cwd()), home, common)

        def not_due(i: int) -> Any:
            acme_issuance._forget_ari()
            return {}

        def skipped(result: Any, event: Any) -> str | None:
            action = result.get("body", {}).get("action") if isinstance(result, dict) else None
            return None if action == "valid" else f"answered {json.dumps(result)[:200]}"

        def issued(result: Any, event: Any) -> str | None:
            action = result.get("body", {}).get("action") if isinstance(result, dict) else None
            return None if action in ("issued", "renewed") else f"answered {json.dumps(result)[:200]}"

        yield (
            Case(
                "acme_client",
                "tops-acme-client-mcn",
                "acme_client",
                not_due,
                skipped,
                env,
                timeout_s=180.0,
                target=WHOLE_TARGETS["acme_client"],
            ),
            Case(
                "acme_client issuing",
                "tops-acme-client-mcn",
                "",
                lambda i: {"force": True},
                issued,
                env,
                timeout_s=180.0,
            ),
        )


# --------------------------------------------------------------------------- running


@dataclass
class Bench:
    python: Path
    sdk: Path
    floor_dir: Path
    trees: dict[str, Path]
    before: dict[str, Path]

    def targets(self, case: Case) -> dict[str, Target]:
        found = {"worker": Target(f"{case.name} worker", (self.trees[case.name.split()[0]], self.sdk))}
        if case.floor:
            found["floor"] = Target(f"{case.name} floor", (self.floor_dir, self.sdk), "floor", case.floor)
        if case.name.split()[0] in self.before:
            found["before"] = Target(f"{case.name} before", (self.before[case.name.split()[0]], self.sdk))
        return found

    def probe_case(
        self,
        case: Case,
        target: Target,
        event: Any,
        *,
        count: bool = False,
        options: Sequence[str] = (),
        profile: int = 0,
    ) -> tuple[Sample, str]:
        """`probe` of `target` with the case's environment, function name and timeout."""
        return probe(
            self.python,
            target,
            env=case.env,
            function=case.function,
            event=event,
            timeout_s=case.timeout_s,
            count=count,
            options=options,
            profile=profile,
        )

    def one(self, case: Case, variant: str, target: Target, index: int, results: Results) -> None:
        event = case.event(index)
        try:
            sample, _ = self.probe_case(case, target, event)
        except SampleError as exc:
            results.add(variant, None)
            results.error = results.error or str(exc)
            return
        problem = case.check(sample.result, event)
        if problem is not None:
            results.add(variant, None)
            results.error = results.error or f"{target.label}: {problem}"
            return
        results.add(variant, sample)

    def rounds(self, cases: Sequence[Case], runs: int) -> dict[str, Results]:
        results = {case.name: Results() for case in cases}
        index = 0
        for round_no in range(runs):
            order = list(cases[round_no % len(cases) :]) + list(cases[: round_no % len(cases)])
            for case in order:
                targets = list(self.targets(case).items())
                shift = round_no % len(targets)
                for variant, target in targets[shift:] + targets[:shift]:
                    index += 1
                    self.one(case, variant, target, index, results[case.name])
            print(f"  round {round_no + 1}/{runs} done", flush=True)
        return results

    def census(self, case: Case, results: Results) -> None:
        """One untimed run per variant that counts the AWS operations and the XC requests."""
        for variant, target in self.targets(case).items():
            event = case.prepare(10_000 + len(results.census))
            seen = case.xc_log() if case.xc_log else None
            try:
                sample, _ = self.probe_case(case, target, event, count=True)
            except SampleError as exc:
                results.error = results.error or str(exc)
                continue
            xc = case.xc_log() - seen if case.xc_log and seen is not None else None
            results.census[variant] = (sample.calls, xc)

    def trace(self, case: Case, top: int) -> None:
        """One sample under -X importtime and cProfile: where the import and the first call go."""
        target = self.targets(case)["worker"]
        _, stderr = self.probe_case(case, target, case.prepare(20_000), options=("-X", "importtime"))
        imports = [line for line in stderr.splitlines() if line.startswith("import time:")]
        _, stderr = self.probe_case(case, target, case.prepare(20_001), profile=top)
        profile = stderr.splitlines()
        print(f"  trace of {case.name}: imports by cumulative time (first call included), top {top}")
        parsed: list[tuple[int, int, str]] = []
        for raw in imports:
            if "self [us]" in raw:
                continue
            own_us, total_us, module = raw.split(":", 1)[1].split("|", 2)
            parsed.append((int(total_us), int(own_us), module.rstrip()))
        for total, own, module in sorted(parsed, reverse=True)[:top]:
            print(f"    {total / 1000:7.1f} ms (self {own / 1000:5.1f})  {module.strip()}")
        print(f"  trace of {case.name}: first call under cProfile (sorted by cumulative time)")
        for line in profile[: top + 12]:
            print("   ", line)


def _call_summary(calls: Mapping[str, int], xc: int | None) -> str:
    aws = sum(calls.values())
    parts = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(calls.items()))
    return f"AWS {aws} ({parts})" + (f", XC {xc}" if xc is not None else "")


def whole_figures(case: Case, results: Results) -> list[Figure]:
    figures: list[Figure] = []
    worker, floor, before = results.good("worker"), results.good("floor"), results.good("before")
    if not worker or (case.floor and not floor):
        return [
            Figure(
                NAME,
                case.name,
                "whole cold invocation / floor" if case.floor else "peak RSS",
                None,
                case.target if case.floor else RSS_TARGET_MB,
                "x" if case.floor else "MB",
                f"error: {results.error}",
            )
        ]

    def parts(samples: list[Sample]) -> str:
        def ms(values: list[float]) -> str:
            return f"{median(values) * 1000:.0f}"

        return (
            f"{ms([s.whole for s in samples])} ms = start {ms([s.start for s in samples])}"
            f" + import {ms([s.imported for s in samples])} + call {ms([s.call for s in samples])}"
        )

    if case.floor:
        detail = f"worker {parts(worker)}; floor {parts(floor)}; {len(worker)} rounds"
        if before:
            detail += (
                f"; before {parts(before)} ({results.ratio('before'):.2f}x the floor, "
                f"{results.ratio('before', 'worker'):.2f}x the worker)"
            )
        if results.error:
            detail += f"; some samples failed: {results.error}"
        figures.append(
            Figure(
                NAME,
                case.name,
                "whole cold invocation / floor",
                results.ratio("worker"),
                case.target,
                "x",
                detail,
            )
        )
    rss = max(s.rss_mb for s in worker)
    detail = f"max of {len(worker)} runs, median {median([s.rss_mb for s in worker]):.1f} MB"
    if floor:
        detail += f"; floor {max(s.rss_mb for s in floor):.1f} MB"
    if before:
        detail += f"; before {max(s.rss_mb for s in before):.1f} MB"
    if not case.floor:
        detail += f"; whole {parts(worker)}"
    figures.append(Figure(NAME, case.name, "peak RSS, cold invocation", rss, RSS_TARGET_MB, "MB", detail))
    if "worker" in results.census and "floor" in results.census:
        calls, xc = results.census["worker"]
        floor_calls, floor_xc = results.census["floor"]
        made = sum(calls.values()) + (xc or 0)
        allowed = sum(floor_calls.values()) + (floor_xc or 0)
        detail = f"worker {_call_summary(calls, xc)}; floor {_call_summary(floor_calls, floor_xc)}"
        if "before" in results.census:
            detail += f"; before {_call_summary(*results.census['before'])}"
        if case.name != "acme_client":  # its floor is defined with one CA request fewer (issue 12)
            figures.append(Figure(NAME, case.name, "AWS + XC calls", made, allowed, "calls", detail))
    return figures


def import_only(
    bench: Bench, zips: Zips, before: Zips | None, runs: int, top: int, home: Path
) -> list[Figure]:
    """Every zip's `import function` beside a bare `import boto3`, interleaved."""
    names = [d.name for d in zips.deployables]
    env = _lambda_env("tops-import-only", Path.cwd(), home, {})
    boto3 = Target("boto3", (bench.sdk,), "boto3", "__name__")
    samples: dict[str, dict[str, list[float]]] = {n: {"boto3": [], "worker": [], "before": []} for n in names}
    errors: dict[str, str] = {}
    for round_no in range(runs):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            if name in errors:
                continue
            variants = [("boto3", boto3), ("worker", Target(name, (zips.tree(name), bench.sdk)))]
            if before is not None and name in {d.name for d in before.deployables}:
                variants.append(("before", Target(f"{name} before", (before.tree(name), bench.sdk))))
            shift = round_no % len(variants)
            for variant, target in variants[shift:] + variants[:shift]:
                try:
                    sample, _ = probe(bench.python, target, env=env, function="tops-import-only")
                except SampleError as exc:
                    errors[name] = str(exc)
                    break
                samples[name][variant].append(sample.imported)
    figures: list[Figure] = []
    explained: dict[str, str] = {}
    for d in zips.deployables:
        got = samples[d.name]
        limit = IMPORT_TARGETS.get(d.name, IMPORT_TARGET)
        if d.name in errors or not got["worker"]:
            figure = Figure(
                NAME, d.name, "import only / boto3", None, limit, "x", f"error: {errors.get(d.name)}"
            )
        else:
            base, mine = median(got["boto3"]), median(got["worker"])
            detail = f"median {mine * 1000:.0f} ms vs boto3 {base * 1000:.0f} ms"
            if got["before"]:
                was = median(got["before"])
                pairs = [b / w for b, w in zip(got["before"], got["worker"], strict=False)]
                detail += f"; before {was * 1000:.0f} ms ({was / base:.2f}x; {median(pairs):.2f}x this zip)"
            figure = Figure(NAME, d.name, "import only / boto3", mine / base, limit, "x", detail)
        print_figures([figure])
        figures.append(figure)
        if figure.value is not None and not figure.passed:
            if d.package in explained:
                print(f"    (same package, same imports as {explained[d.package]})")
            else:
                explained[d.package] = d.name
                print_slowest(
                    import_times(bench.python, zips.tree(d.name), bench.sdk),
                    {"function", "shared", d.package},
                    top,
                )
    return figures


@dataclass(frozen=True, slots=True)
class ImportLine:
    """One line of `-X importtime`, with the module that imported it (None at the top level)."""

    self_us: int
    cumulative_us: int
    depth: int
    module: str
    parent: ImportLine | None = None

    def chain(self) -> list[str]:
        names: list[str] = []
        node = self.parent
        while node is not None:
            names.append(node.module)
            node = node.parent
        return names


def import_times(python: Path, tree: Path, sdk: Path) -> list[ImportLine]:
    """`-X importtime` of the handler import from `tree`, in the order printed."""
    code = f"import sys; sys.path[:0] = [{str(tree)!r}, {str(sdk)!r}]; from function import lambda_handler"
    done = subprocess.run(
        [str(python), "-I", "-S", "-B", "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=SAMPLE_TIMEOUT_S,
        cwd=tree,
        check=False,
    )
    parsed: list[tuple[int, int, int, str]] = []
    for raw in done.stderr.splitlines():
        if not raw.startswith("import time:") or "self [us]" in raw:
            continue
        own_us, total_us, name = raw.split(":", 1)[1].split("|", 2)
        module = name.rstrip()[1:]
        depth = (len(module) - len(module.lstrip(" "))) // 2
        parsed.append((int(own_us), int(total_us), depth, module.strip()))
    lines: list[ImportLine] = []
    above: dict[int, ImportLine] = {}
    for self_us, cumulative_us, depth, module in reversed(parsed):
        line = ImportLine(self_us, cumulative_us, depth, module, above.get(depth - 1))
        above[depth] = line
        lines.append(line)
    lines.reverse()
    return lines


def print_slowest(lines: list[ImportLine], own: set[str], top: int) -> None:
    """Each place where our code imports another package, heaviest first, with the chain that led there."""

    def ours(module: str) -> bool:
        return module.split(".", 1)[0] in own

    entries = [x for x in lines if not ours(x.module) and x.parent is not None and ours(x.parent.module)]
    entries.sort(key=lambda x: -x.cumulative_us)
    print(f"    heaviest imports from our code (-X importtime, top {min(top, len(entries))}):")
    for x in entries[:top]:
        print(f"      {x.cumulative_us / 1000:7.1f} ms  {x.module}  <- {' <- '.join(x.chain())}")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def run(
    runs: int = DEFAULT_RUNS,
    dist: Path | None = None,
    top: int = 10,
    zips: Zips | None = None,
    *,
    before_dist: Path | None = None,
    acme: bool = True,
    only: Sequence[str] = (),
    trace: str | None = None,
    imports: bool = True,
) -> list[Figure]:
    runs = max(MIN_RUNS, runs)
    owned = zips is None
    zips = zips or Zips(dist=dist)
    before = Zips(dist=before_dist) if before_dist is not None else None
    try:
        return _run(zips, before, runs, top, acme=acme, only=only, trace=trace, imports=imports)
    finally:
        if owned:
            zips.close()
        if before is not None:
            before.close()


def _run(
    zips: Zips,
    before: Zips | None,
    runs: int,
    top: int,
    *,
    acme: bool,
    only: Sequence[str],
    trace: str | None,
    imports: bool,
) -> list[Figure]:
    python = zips.python()
    print(
        f"cold start: whole cold invocations (new {python.name} process -> import -> first call), "
        f"{runs} interleaved rounds; {_load()}",
        flush=True,
    )
    zips.build()
    if before is not None:
        before.build()
    sdk = zips.runtime_sdk()
    home = zips.work / "home"
    home.mkdir(exist_ok=True)
    floor_dir = zips.work / "floor"
    floor_dir.mkdir(exist_ok=True)
    shutil.copyfile(FLOOR_SOURCE, floor_dir / "floor.py")
    subprocess.run([str(python), "-m", "compileall", "-q", str(floor_dir)], check=True, capture_output=True)
    names = (*XC_WORKERS, "acme_client")
    trees = {n: zips.tree(n) for n in names}
    before_trees = {n: before.tree(n) for n in names} if before is not None else {}
    bench = Bench(python, sdk, floor_dir, trees, before_trees)
    wanted = set(only) or set(names)
    figures: list[Figure] = []

    if wanted & set(XC_WORKERS):
        with xc_cases(home, trees) as cases:
            chosen = [c for c in cases if c.name in wanted]
            results = bench.rounds(chosen, runs)
            for case in chosen:
                bench.census(case, results[case.name])
                found = whole_figures(case, results[case.name])
                print_figures(found)
                figures += found
                if trace == case.name:
                    bench.trace(case, top)
    if acme and "acme_client" in wanted:
        try:
            with acme_cases(home, trees) as (not_due, issuing):
                results = bench.rounds([not_due], runs)
                bench.census(not_due, results[not_due.name])
                found = whole_figures(not_due, results[not_due.name])
                if trace == "acme_client":
                    bench.trace(not_due, top)
                issuing_results = bench.rounds([issuing], max(3, runs // 3))
                found += whole_figures(issuing, issuing_results[issuing.name])
                print_figures(found)
                figures += found
        except Exception as exc:  # Pebble missing, ...: a figure without a value, the rest still counts
            figures.append(
                Figure(
                    NAME,
                    "acme_client",
                    "whole cold invocation / floor",
                    None,
                    WHOLE_TARGETS["acme_client"],
                    "x",
                    f"error: {type(exc).__name__}: {exc}",
                )
            )
            print_figures(figures[-1:])
    if imports:
        print(
            f"cold start, import only: `import function` / `import boto3`, {runs} interleaved rounds",
            flush=True,
        )
        figures += import_only(bench, zips, before, runs, top, home)
    print(f"  {_load()} at the end", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"interleaved rounds (>= {MIN_RUNS})")
    parser.add_argument("--dist", type=Path, default=None, help="read the zips here instead of building them")
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="zips of an earlier build, measured interleaved as a third variant",
    )
    parser.add_argument(
        "--top", type=int, default=10, help="lines listed by --trace and for a zip over target"
    )
    parser.add_argument("--no-acme", action="store_true", help="skip acme_client (needs Pebble)")
    parser.add_argument("--no-imports", action="store_true", help="skip the import-only figures")
    parser.add_argument(
        "--only",
        nargs="*",
        default=(),
        help="workers whose whole cold invocation is measured (default: all; `none`: only "
        "the import-only figures)",
    )
    parser.add_argument("--trace", default=None, help="print an import and cProfile trace of this worker")
    args = parser.parse_args(argv)
    figures = run(
        args.runs,
        args.dist,
        args.top,
        before_dist=args.before,
        acme=not args.no_acme,
        only=args.only,
        trace=args.trace,
        imports=not args.no_imports,
    )
    print("summary")
    print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
