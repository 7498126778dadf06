"""The router's S3 notifications (cert bucket -> cert_mgmt), its wiring lines, and the one line per
invocation that the local stack prints (devstack.trace)."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import unquote_plus

import pytest

from devstack.lambda_invoke import Invocation
from devstack.router import ASYNC_RETRIES, EventRouter
from devstack.trace import Console

pytestmark = pytest.mark.integration

BUCKET = "tops-cert-bucket-dev"
PREFIX = "lab-sec-wildcard-dev/"


class CertMgmt:
    """A stand-in for cert_mgmt: records each event's key; fails the first `fail` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.keys: list[str] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        record = event["Records"][0]
        assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
        assert record["s3"]["bucket"]["name"] == BUCKET
        self.keys.append(unquote_plus(record["s3"]["object"]["key"]))
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the other half of the pair is not there yet")
        return {"statusCode": 200, "body": {"action": "created"}}


@pytest.fixture
def s3(moto_server: Any) -> Any:
    client = moto_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _router(s3: Any, cert_mgmt: Any) -> EventRouter:
    return EventRouter(s3=s3, bucket=BUCKET, cert_prefix=PREFIX, cert_mgmt=cert_mgmt)


def test_pump_bucket_sends_one_event_per_new_or_changed_object_under_the_prefix(s3):
    # GIVEN the pair written under the prefix, and acme_client's own objects outside it
    cert_mgmt = CertMgmt()
    router = _router(s3, cert_mgmt)
    s3.put_object(Bucket=BUCKET, Key="_acme/state/lab-sec-wildcard-dev.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}privkey.pem", Body=b"key")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}fullchain.pem", Body=b"chain")
    # WHEN the router pumps twice
    first = router.pump_bucket()
    second = router.pump_bucket()
    # THEN each object under the prefix was notified once, and nothing outside it
    assert sorted(cert_mgmt.keys) == [f"{PREFIX}fullchain.pem", f"{PREFIX}privkey.pem"]
    assert (first.records, second.records) == (2, 0)
    # WHEN one object is written again (a renewal) THEN only it is notified
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}fullchain.pem", Body=b"renewed chain")
    assert router.pump_bucket().records == 1
    assert cert_mgmt.keys[-1] == f"{PREFIX}fullchain.pem"


def test_pump_bucket_encodes_keys_as_s3_does(s3: Any) -> None:
    events: list[dict[str, Any]] = []
    router = _router(s3, lambda event, context: events.append(event))
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}archive/2025-03-01T06:00:12Z fullchain.pem", Body=b"x")
    router.pump_bucket()
    key = events[0]["Records"][0]["s3"]["object"]["key"]
    assert key == f"{PREFIX}archive/2025-03-01T06%3A00%3A12Z+fullchain.pem"


def test_pump_bucket_retries_a_failed_event_twice_then_drops_it(s3):
    # GIVEN a cert_mgmt that fails its first two calls, then one that always fails
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}privkey.pem", Body=b"key")
    flaky = CertMgmt(fail=2)
    router = _router(s3, flaky)
    # WHEN pumping: the first delivery and its two retries, one per pump
    stats = [router.pump_bucket() for _ in range(3)]
    # THEN the third attempt succeeded, and nothing more is pending
    assert [s.failed_batches for s in stats] == [1, 1, 0]
    assert len(flaky.keys) == 1 + ASYNC_RETRIES
    assert router.pump_bucket().records == 0
    # AND an event that keeps failing is dropped after the retries
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}fullchain.pem", Body=b"chain")
    router.cert_mgmt = CertMgmt(fail=10)
    dropped = [router.pump_bucket().dropped for _ in range(1 + ASYNC_RETRIES)]
    assert dropped[-1] == [f"{PREFIX}fullchain.pem"]
    assert router.pump_bucket().records == 0


def test_drain_includes_the_bucket_and_wiring_names_each_source(s3):
    cert_mgmt = CertMgmt()
    router = _router(s3, cert_mgmt)
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}fullchain.pem", Body=b"chain")
    assert router.drain().records == 1
    assert router.wiring() == [
        f"S3 {BUCKET}, ObjectCreated under {PREFIX} -> cert_mgmt (polled every 1 s, {ASYNC_RETRIES} retries)"
    ]


def test_console_prints_one_line_per_delivery_and_per_invoke():
    # GIVEN a console and traced handlers
    out = io.StringIO()
    console = Console(out)

    def ok(event: Any, context: Any) -> Any:
        return {"statusCode": 200, "body": {"action": "replaced"}}

    def broken(event: Any, context: Any) -> Any:
        raise ValueError("bad\nthing")

    event = {"Records": [{"s3": {"object": {"key": f"{PREFIX}fullchain.pem"}}}]}
    console.traced("cert_mgmt", ok)(event, None)
    with pytest.raises(ValueError):
        console.traced("udf_clean", broken)({}, None)
    console.invocation(
        Invocation(
            "tops-ns-create-dev", "tops-ns-create", {}, None, "InputError", 0.5, "invalid namespace_name"
        )
    )
    # THEN each is one line: function, what, outcome, duration
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(
        r"\[\s*\d+\.\d\ds\] cert_mgmt \[lab-sec-wildcard-dev/fullchain\.pem\] 200 replaced "
        r"\(\d\.\d\ds\)",
        lines[0],
    )
    assert re.search(r"udf_clean \[schedule\] raised ValueError: bad thing \(", lines[1])
    assert lines[2].endswith("  -> tops-ns-create InputError: invalid namespace_name (0.50s)")
