"""Benchmark: certificate issuance through acme_client's lambda_handler against Pebble, and the size of
acme_client's dependencies in a Lambda zip.

    .venv/bin/python -m bench.acme_issuance [--runs 5] [--no-size]

Starts moto in server mode, the devstack DNS server and Pebble (PEBBLE_VA_NOSLEEP=1, no nonce
rejection, no authorization reuse), then issues `*.<DOMAIN>` + `<DOMAIN>` N times through the handler
with real DNS-01 validation (the first run also registers the ACME account; the others are forced
renewals). Prints the wall time of each run and the median beside the 1.5 s target; never asserts.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, cast

TARGET_S = 1.5
DOMAIN = "lab-mcn.f5demos.com"
CHALLENGE_RECORD = "lab-mcn.challenge.f5demos.com"
BUCKET = "tops-cert-bucket"
DEPENDENCIES = ["acme", "josepy", "cryptography", "dnspython"]


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

    route53 = boto3.client("route53", endpoint_url=moto_url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    parent = route53.create_hosted_zone(Name="f5demos.com", CallerReference="p")["HostedZone"]["Id"]
    child = route53.create_hosted_zone(Name="challenge.f5demos.com", CallerReference="c")["HostedZone"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=parent,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": f"_acme-challenge.{DOMAIN}",
                        "Type": "CNAME",
                        "TTL": 10,
                        "ResourceRecords": [{"Value": CHALLENGE_RECORD}],
                    },
                }
            ]
        },
    )
    return str(child.split("/")[-1])


def bench_issuance(runs: int) -> list[float]:
    import boto3
    from moto.server import ThreadedMotoServer

    from devstack.dns import DNSServer
    from devstack.pebble import Pebble

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
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        moto_url = f"http://{host}:{port}"
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        zone_id = _seed(moto_url)
        route53 = boto3.client("route53", endpoint_url=moto_url, region_name="us-east-1")
        with DNSServer(route53) as dns, Pebble(dns.address, nonce_reject=0, authz_reuse=0) as pebble:
            os.environ.update(
                {
                    "CERT_NAME": "lab-mcn-wildcard",
                    "DOMAIN": DOMAIN,
                    "S3_BUCKET": BUCKET,
                    "EMAIL": "ops@example.com",
                    "CHALLENGE_RECORD": CHALLENGE_RECORD,
                    "CHALLENGE_ZONE_ID": zone_id,
                    "ACME_DIRECTORY_URL": pebble.directory_url,
                    "ACME_CA_BUNDLE": pebble.ca_bundle_path,
                    "ACME_DNS_SERVERS": dns.address,
                    "ACME_DNS_CHECK": "authoritative",
                    "ACME_START_JITTER": "0",
                    "ACME_INCLUDE_APEX": "true",
                }
            )
            from acme_client.function import lambda_handler

            times: list[float] = []
            for index in range(runs):
                event: dict[str, Any] = {"force": True} if index else {}
                started = time.perf_counter()
                response = lambda_handler(event, cast(Any, _Context()))
                elapsed = time.perf_counter() - started
                times.append(elapsed)
                body = response["body"]
                print(f"  run {index + 1}: {elapsed:6.3f} s  {body['action']:<8} serial {body['serial']}")
            return times
    finally:
        moto.stop()


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _zip_size(root: Path, target: Path) -> int:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(root))
    return target.stat().st_size


def bench_sizes() -> None:
    with tempfile.TemporaryDirectory(prefix="acme-deps-") as tmp:
        target = Path(tmp) / "site"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            "--platform",
            "manylinux2014_x86_64",
            "--implementation",
            "cp",
            "--python-version",
            "3.11",
            "--only-binary=:all:",
            *DEPENDENCIES,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
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
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if result.returncode == 0:
        print(f"  import acme_client.function (cold): {float(result.stdout.strip()):.3f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-size", action="store_true", help="skip the pip download for the size figures")
    args = parser.parse_args(argv)
    print(f"acme_client issuance through lambda_handler against Pebble, {args.runs} run(s):")
    times = bench_issuance(max(1, args.runs))
    median = statistics.median(times)
    verdict = "PASS" if median <= TARGET_S else "MISS"
    print(
        f"  median {median:.3f} s per issuance (target {TARGET_S} s: {verdict}); "
        f"min {min(times):.3f} s, max {max(times):.3f} s"
    )
    bench_import()
    if not args.no_size:
        print("acme_client dependencies for python3.11 / manylinux2014_x86_64:")
        bench_sizes()
    return 0


if __name__ == "__main__":
    sys.exit(main())
