"""Benchmark: acme_client against Pebble — the cost of an issuance, the cost of a run that is not due,
and the size of acme_client's dependencies in a Lambda zip.

    .venv/bin/python -m bench.acme_issuance [--runs 5] [--no-size] [--no-cold]

Starts moto in server mode, the devstack DNS server and Pebble (PEBBLE_VA_NOSLEEP=1, no nonce
rejection, no authorization reuse, ACME_START_JITTER=0: nothing sleeps but the short polls), then:

- issuance: `*.<DOMAIN>` + `<DOMAIN>` N times through the handler with real DNS-01 validation (the
  first run also registers the ACME account; the others are forced renewals); median against 0.5 s;
- not due: with devstack's renewalInfo proxy in front of Pebble, one issuance, then N scheduled runs
  of a certificate that is not due, each asking ARI afresh (the stored answer is dropped first, as
  when the CA's Retry-After has passed: the case of a 6-hourly schedule). Each is compared with its
  floor, measured beside it: the S3 reads of the run plus one directory GET on a new connection. The
  requests made are counted (CA requests at the proxy, S3 calls on the handler's client). Runs
  before the Retry-After (no CA request at all) are shown too;
- cold (unless --no-cold): one not-due run and one issuing run, each in a fresh interpreter (imports
  included), with the process's peak RSS.

Prints every figure beside its target; never asserts. `figures()` gives them to `python -m bench`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

if TYPE_CHECKING:
    from bench.report import Figure

TARGET_S: Final = 0.5  # median issuance on Pebble, no sleeps
NOT_DUE_TARGET_X: Final = 1.5  # a not-due run against its floor (S3 reads + one directory GET)
NOT_DUE_CA_REQUESTS: Final = 2  # the directory and renewalInfo GETs
RSS_TARGET_MB: Final = 90.0
DOMAIN: Final = "lab-mcn.f5demos.com"
CHALLENGE_RECORD: Final = "lab-mcn.challenge.f5demos.com"
BUCKET: Final = "tops-cert-bucket"
CERT_NAME: Final = "lab-mcn-wildcard"
DEPENDENCIES: Final = ["acme", "josepy", "cryptography", "dnspython"]
ROOT: Final = Path(__file__).resolve().parent.parent


class _Context:
    function_name = "tops-acme-client-bench"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tops-acme-client-bench"
    aws_request_id = "bench"

    def __init__(self, timeout_s: float = 180.0) -> None:
        self._end = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


def _seed(moto_url: str) -> str:
    import boto3

    from devstack.route53 import seed_challenge_zones

    route53 = boto3.client("route53", endpoint_url=moto_url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    _, challenge = seed_challenge_zones(route53, DOMAIN, CHALLENGE_RECORD, ttl=10)
    return challenge


@dataclass
class _Stack:
    directory_url: str
    ca_bundle: str
    proxy: Any = None  # devstack.ari.AriProxy when asked for


@contextmanager
def _stack(*, ari: bool) -> Iterator[_Stack]:
    """moto, the DNS server and Pebble (behind the renewalInfo proxy when `ari`), the handler's env set."""
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    from devstack.ari import AriProxy
    from devstack.dns import DNSServer
    from devstack.pebble import Pebble
    from shared import aws

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    from devstack import moto_rules

    moto_rules.install()  # Route 53's CNAME rule, as the stack and the tests have it
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        moto_url = f"http://{host}:{port}"
        # moto's state belongs to the process, not to one server: start from nothing
        requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        aws.reset()
        zone_id = _seed(moto_url)
        route53 = boto3.client("route53", endpoint_url=moto_url, region_name="us-east-1")
        with DNSServer(route53) as dns, Pebble(dns.address, nonce_reject=0, authz_reuse=0) as pebble:
            proxy = AriProxy(pebble).start() if ari else None
            try:
                directory = proxy.directory_url if proxy is not None else pebble.directory_url
                os.environ.update(
                    {
                        "CERT_NAME": CERT_NAME,
                        "DOMAIN": DOMAIN,
                        "S3_BUCKET": BUCKET,
                        "EMAIL": "ops@example.com",
                        "CHALLENGE_RECORD": CHALLENGE_RECORD,
                        "CHALLENGE_ZONE_ID": zone_id,
                        "ACME_DIRECTORY_URL": directory,
                        "ACME_CA_BUNDLE": pebble.ca_bundle_path,
                        "ACME_DNS_SERVERS": dns.address,
                        "ACME_DNS_CHECK": "authoritative",
                        "ACME_START_JITTER": "0",
                        "ACME_INCLUDE_APEX": "true",
                    }
                )
                yield _Stack(directory, pebble.ca_bundle_path, proxy)
            finally:
                if proxy is not None:
                    proxy.stop()
    finally:
        aws.reset()
        moto.stop()


def _handler(event: dict[str, Any]) -> dict[str, Any]:
    from acme_client.function import lambda_handler

    return cast(dict[str, Any], lambda_handler(event, cast(Any, _Context())))


def bench_issuance(runs: int) -> list[float]:
    """Wall time of each issuance through the handler (the first one also registers the account)."""
    with _stack(ari=False):
        times: list[float] = []
        for index in range(runs):
            event: dict[str, Any] = {"force": True} if index else {}
            started = time.perf_counter()
            body = _handler(event)["body"]
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            print(f"  run {index + 1}: {elapsed:6.3f} s  {body['action']:<8} serial {body['serial']}")
        return times


@dataclass
class ChildRun:
    """One run in a fresh interpreter: wall time including imports, and the process's peak RSS."""

    action: str
    wall_s: float
    peak_rss_mb: float


@dataclass
class NotDue:
    times: list[float] = field(default_factory=list)  # ARI asked afresh
    floors: list[float] = field(default_factory=list)  # S3 reads + one directory GET, beside each run
    cached_times: list[float] = field(default_factory=list)  # before the CA's Retry-After
    ca_requests: list[list[str]] = field(default_factory=list)
    cached_ca_requests: list[list[str]] = field(default_factory=list)
    s3_calls: list[list[str]] = field(default_factory=list)
    cold_not_due: ChildRun | None = None
    cold_issuing: ChildRun | None = None

    @property
    def ratio(self) -> float:
        return statistics.median(self.times) / statistics.median(self.floors)


# Peak RSS from VmHWM: getrusage's ru_maxrss would carry the (large) bench parent's peak across exec.
_CHILD: Final = """
import json, sys, time
started = time.perf_counter()
from acme_client.function import lambda_handler
from bench.acme_issuance import _Context
body = lambda_handler(json.loads(sys.argv[1]), _Context())["body"]
wall = time.perf_counter() - started
status = open("/proc/self/status").read().split("VmHWM:")[1].split()
print(json.dumps({"action": body["action"], "wall_s": wall, "peak_rss_mb": int(status[0]) / 1024}))
"""


def _child_run(event: dict[str, Any]) -> ChildRun | None:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(event)],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        print(f"  cold run failed: {result.stderr.strip()[-400:]}")
        return None
    return ChildRun(**json.loads(result.stdout.strip().splitlines()[-1]))


def _forget_ari() -> None:
    """Drop the stored ARI answer, as when the CA's Retry-After has passed (not timed)."""
    from shared import aws

    s3 = aws.client("s3")
    key = f"_acme/state/{CERT_NAME}.json"
    state = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    state["ari"] = None
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(state).encode())


def _floor(stack: _Stack) -> float:
    """The S3 reads a not-due run makes (pair, metadata, state) plus one directory GET, new connection."""
    from acme_client.ari import HttpCaReader
    from shared import aws

    s3 = aws.client("s3")
    keys = [
        f"{CERT_NAME}/fullchain.pem",
        f"{CERT_NAME}/privkey.pem",
        f"_acme/certs/{CERT_NAME}.json",
        f"_acme/state/{CERT_NAME}.json",
    ]
    started = time.perf_counter()
    for key in keys:
        s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    HttpCaReader(verify=stack.ca_bundle, timeout=10).directory(stack.directory_url)
    return time.perf_counter() - started


def bench_not_due(runs: int, *, cold: bool = True) -> NotDue:
    """Scheduled runs of a certificate that is not due, through the renewalInfo proxy."""
    from shared import aws

    result = NotDue()
    with _stack(ari=True) as stack:
        proxy = stack.proxy
        assert _handler({})["body"]["action"] == "issued"
        s3_calls: list[str] = []
        aws.client("s3").meta.events.register(
            "before-call.s3", lambda model, **_: s3_calls.append(model.name)
        )
        for index in range(runs):
            _forget_ari()
            result.floors.append(_floor(stack))
            s3_calls.clear()
            seen = len(proxy.exchanges)
            started = time.perf_counter()
            body = _handler({})["body"]
            elapsed = time.perf_counter() - started
            result.times.append(elapsed)
            result.ca_requests.append([f"{e.method} {e.path.split('/')[1]}" for e in proxy.exchanges[seen:]])
            result.s3_calls.append(sorted(s3_calls))
            print(
                f"  run {index + 1}: {elapsed:6.3f} s  {body['action']:<6} "
                f"floor {result.floors[-1]:.3f} s  CA: {', '.join(result.ca_requests[-1])}  "
                f"S3: {len(s3_calls)} calls"
            )
        for _ in range(runs):
            seen = len(proxy.exchanges)
            started = time.perf_counter()
            _handler({})
            result.cached_times.append(time.perf_counter() - started)
            result.cached_ca_requests.append([e.path for e in proxy.exchanges[seen:]])
        if cold:
            _forget_ari()
            result.cold_not_due = _child_run({})
            result.cold_issuing = _child_run({"force": True})
    return result


def figures(runs: int = 5, *, cold: bool = True) -> list[Figure]:
    """Every figure of this benchmark, for `python -m bench`."""
    from bench.report import Figure

    print(
        f"issuance: acme_client through lambda_handler against Pebble (VA no-sleep), {runs} runs", flush=True
    )
    times = bench_issuance(max(1, runs))
    found = [
        Figure(
            "issuance",
            "acme_client",
            "median s per issuance",
            statistics.median(times),
            TARGET_S,
            "s",
            f"{len(times)} runs (first registers the account); min {min(times):.3f} s, "
            f"max {max(times):.3f} s",
        )
    ]
    print(f"not due: scheduled runs through the renewalInfo proxy, {runs} runs", flush=True)
    not_due = bench_not_due(max(1, runs), cold=cold)
    requests = max(len(r) for r in not_due.ca_requests)
    found += [
        Figure(
            "issuance",
            "acme_client",
            "not-due run / floor",
            not_due.ratio,
            NOT_DUE_TARGET_X,
            "x",
            f"median {statistics.median(not_due.times):.3f} s vs floor "
            f"{statistics.median(not_due.floors):.3f} s (4 S3 GETs + 1 directory GET); before the CA's "
            f"Retry-After {statistics.median(not_due.cached_times):.3f} s, no CA request",
        ),
        Figure(
            "issuance",
            "acme_client",
            "CA requests, not-due run",
            requests,
            NOT_DUE_CA_REQUESTS,
            "calls",
            f"{', '.join(not_due.ca_requests[0])}; S3 {', '.join(not_due.s3_calls[0])}",
        ),
    ]
    for name, run in (("not-due", not_due.cold_not_due), ("issuing", not_due.cold_issuing)):
        if run is not None:
            found.append(
                Figure(
                    "issuance",
                    "acme_client",
                    f"peak RSS, cold {name} run",
                    run.peak_rss_mb,
                    RSS_TARGET_MB,
                    "MB",
                    f"{run.action} in {run.wall_s:.3f} s incl. imports; "
                    "the bench's own interpreter, not a Lambda sandbox",
                )
            )
    return found


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _zip_size(root: Path, target: Path) -> int:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(root))
    return target.stat().st_size


def bench_sizes() -> None:
    from scripts.package import pip_install_command

    with tempfile.TemporaryDirectory(prefix="acme-deps-") as tmp:
        target = Path(tmp) / "site"
        command = pip_install_command(
            target,
            "--platform",
            "manylinux2014_x86_64",
            "--implementation",
            "cp",
            "--python-version",
            "3.11",
            "--only-binary=:all:",
            *DEPENDENCIES,
        )
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            print(f"  skipped: pip could not install the dependencies ({result.stderr.strip()[-300:]})")
            return
        installed = _tree_size(target)
        zipped = _zip_size(target, Path(tmp) / "deps.zip")
        packages = sorted(
            p.name
            for p in target.iterdir()
            if p.is_dir() and not p.name.endswith(".dist-info") and p.name not in ("bin", "__pycache__")
        )
        print(f"  packages: {', '.join(packages)}")
        print(
            f"  installed: {installed / 1e6:6.2f} MB   zipped: {zipped / 1e6:6.2f} MB "
            "(Lambda limits: 250 MB unzipped, 50 MB zipped upload)"
        )


def bench_import() -> None:
    code = "import time; t=time.perf_counter(); import acme_client.function; print(time.perf_counter()-t)"
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    if result.returncode == 0:
        print(f"  import acme_client.function (cold): {float(result.stdout.strip()):.3f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-size", action="store_true", help="skip the pip download for the size figures")
    parser.add_argument("--no-cold", action="store_true", help="skip the runs in fresh interpreters")
    args = parser.parse_args(argv)
    for figure in figures(max(1, args.runs), cold=not args.no_cold):
        print(figure.line())
    bench_import()
    if not args.no_size:
        print("acme_client dependencies for python3.11 / manylinux2014_x86_64:")
        bench_sizes()
    return 0


if __name__ == "__main__":
    sys.exit(main())
