"""Event routing for the local stack: what the deployed event source mappings and schedules do.

- `pump_queue()`: receive from the udf queue, call udf_dispatch with SQS events of `sqs_batch_size`
  records, then delete what the mapping would delete: everything when the handler returned (without
  `ReportBatchItemFailures`), or all but the reported failures (with it); nothing when it raised.
  Messages not deleted are made visible again at once (the visibility timeout, shortened).
- `pump_stream()`: read the state table's stream (all shards, from where the last pump stopped), keep
  the records whose `eventName` passes the filter (deployed: INSERT and REMOVE), and call udf_worker
  with them in the Lambda event format, `stream_batch_size` at a time, in order. A failed batch (the
  handler raised, or reported failures) is retried up to `stream_max_retries` times (deployed: 0),
  from the first failed record when failures are reported; then it is dropped and counted.
- `pump_bucket()`: list the cert bucket under `cert_prefix` (the deployed notification's filter) and
  call cert_mgmt with one `ObjectCreated:Put` event per object that is new or changed since the last
  pump, oldest first (a listing gives whole seconds: ties go in key order; S3 itself promises no
  order). A failed invocation is delivered again on the next pumps, twice at most (the asynchronous
  invoke's two retries, without their minutes of delay).
- `fire_schedule(handler)`: call a handler with an EventBridge scheduled event.
- `duplicate=True` delivers every batch twice (at-least-once delivery, exaggerated).

Handlers are called in process as `handler(event, context)`; `handler_for(module)` imports one.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote_plus

from devstack.lambda_invoke import DEFAULT_ACCOUNT, DEFAULT_REGION, InvokeContext

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]
DEPLOYED_STREAM_FILTER: Final = frozenset({"INSERT", "REMOVE"})
ASYNC_RETRIES: Final = 2  # what Lambda gives an asynchronous invoke (the S3 notification) that failed


def handler_for(module: str) -> Handler:
    """The `lambda_handler` of a module, e.g. `udf_worker.function`."""
    handler: Handler = importlib.import_module(module).lambda_handler
    return handler


@dataclass
class Stats:
    """What a pump did: batches delivered (duplicates included), records seen, and the failures."""

    batches: int = 0
    records: int = 0
    failed_batches: int = 0
    dropped: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def stream_event_record(
    record: dict[str, Any], stream_arn: str, region: str = DEFAULT_REGION
) -> dict[str, Any]:
    """A DynamoDB Streams API record (as boto3 returns it) in the Lambda event format."""
    event = _jsonable(record)
    event.setdefault("eventVersion", "1.1")
    event.setdefault("eventSource", "aws:dynamodb")
    event.setdefault("awsRegion", region)
    event["eventSourceARN"] = stream_arn
    return event


def sqs_event_record(message: dict[str, Any], queue_arn: str, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """An SQS ReceiveMessage message in the Lambda event format."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": message.get("Attributes") or {},
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def s3_event(
    bucket: str, obj: dict[str, Any], region: str = DEFAULT_REGION, configuration: str = "tops-cert-mgmt"
) -> dict[str, Any]:
    """The notification S3 sends for one object of a ListObjectsV2 listing (key URL-encoded, as S3
    encodes it)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": obj["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration,
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote_plus(obj["Key"], safe="/"),
                        "size": obj["Size"],
                        "eTag": obj["ETag"].strip('"'),
                    },
                },
            }
        ]
    }


def scheduled_event(
    rule: str, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": now,
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule}"],
        "detail": {},
    }


class EventRouter:
    """Delivers queue messages, stream records and schedules to in-process handlers (see module doc)."""

    def __init__(
        self,
        *,
        sqs: Any = None,
        queue_url: str | None = None,
        dispatch: Handler | None = None,
        streams: Any = None,
        stream_arn: str | None = None,
        worker: Handler | None = None,
        cleaner: Handler | None = None,
        s3: Any = None,
        bucket: str | None = None,
        cert_prefix: str = "",
        cert_mgmt: Handler | None = None,
        sqs_batch_size: int = 1,
        sqs_report_failures: bool = False,
        stream_batch_size: int = 1,
        stream_report_failures: bool = False,
        stream_max_retries: int = 0,
        stream_filter: Iterable[str] = DEPLOYED_STREAM_FILTER,
        duplicate: bool = False,
        timeout_s: float = 60.0,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.dispatch = dispatch
        self.streams = streams
        self.stream_arn = stream_arn
        self.worker = worker
        self.cleaner = cleaner
        self.s3 = s3
        self.bucket = bucket
        self.cert_prefix = cert_prefix
        self.cert_mgmt = cert_mgmt
        self.sqs_batch_size = sqs_batch_size
        self.sqs_report_failures = sqs_report_failures
        self.stream_batch_size = stream_batch_size
        self.stream_report_failures = stream_report_failures
        self.stream_max_retries = stream_max_retries
        self.stream_filter = frozenset(stream_filter)
        self.duplicate = duplicate
        self.timeout_s = timeout_s
        self.region = region
        self.account = account
        self._queue_arn: str | None = None
        self._positions: dict[str, str] = {}  # shard id -> last sequence number handled
        self._etags: dict[str, str] = {}  # object key -> ETag already notified
        self._retries: list[tuple[dict[str, Any], int]] = []  # S3 events to deliver again, attempts made

    def wrap_handlers(self, wrap: Callable[[str, Handler], Handler]) -> None:
        """Replace each handler by `wrap(<deployable>, handler)`, e.g. to print a line per delivery."""
        for attribute, deployable in (
            ("dispatch", "udf_dispatch"),
            ("worker", "udf_worker"),
            ("cleaner", "udf_clean"),
            ("cert_mgmt", "cert_mgmt"),
        ):
            handler = getattr(self, attribute)
            if handler is not None:
                setattr(self, attribute, wrap(deployable, handler))

    # ------------------------------------------------------------------ SQS

    def pump_queue(self, max_batches: int = 100) -> Stats:
        """Deliver queue messages until the queue is empty (or `max_batches` deliveries)."""
        if self.sqs is None or self.queue_url is None or self.dispatch is None:
            raise RuntimeError("the router has no queue or dispatch handler")
        stats = Stats()
        for _ in range(max_batches):
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.sqs_batch_size),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            records = [sqs_event_record(m, self._arn_of_queue(), self.region) for m in received]
            keep: set[str] = set()
            for _ in range(2 if self.duplicate else 1):
                keep |= self._deliver_sqs(records, stats)
            handles = {r["messageId"]: r["receiptHandle"] for r in records}
            for message_id, handle in handles.items():
                if message_id in keep:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                    )
                else:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
        return stats

    def _deliver_sqs(self, records: list[dict[str, Any]], stats: Stats) -> set[str]:
        """Call dispatch once; return the message ids the mapping would not delete."""
        assert self.dispatch is not None
        stats.batches += 1
        stats.records += len(records)
        try:
            result = self.dispatch({"Records": records}, self._context("tops-udf-dispatch"))
        except Exception as exc:  # the mapping's view: the invocation failed, nothing is deleted
            stats.failed_batches += 1
            stats.errors.append(exc)
            log.warning("dispatch failed; messages stay in the queue", extra={"error": str(exc)})
            return {r["messageId"] for r in records}
        stats.results.append(result)
        if not self.sqs_report_failures:
            return set()
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        if failed:
            stats.failed_batches += 1
        return failed

    def _arn_of_queue(self) -> str:
        if self._queue_arn is None:
            attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            self._queue_arn = str(attrs["Attributes"]["QueueArn"])
        return self._queue_arn

    # ------------------------------------------------------------------ DynamoDB stream

    def skip_existing(self) -> None:
        """Start after every record already in the stream (the deployed mapping starts at LATEST)."""
        for shard_id, records in self._read_shards():
            if records:
                self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]

    def pump_stream(self) -> Stats:
        """Deliver every new stream record that passes the filter, in order, shard by shard."""
        if self.streams is None or self.stream_arn is None or self.worker is None:
            raise RuntimeError("the router has no stream or worker handler")
        stats = Stats()
        for shard_id, records in self._read_shards():
            if not records:
                continue
            wanted = [
                stream_event_record(r, self.stream_arn, self.region)
                for r in records
                if r.get("eventName") in self.stream_filter
            ]
            for start in range(0, len(wanted), self.stream_batch_size):
                self._deliver_stream(wanted[start : start + self.stream_batch_size], stats)
            self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        return stats

    def _deliver_stream(self, batch: list[dict[str, Any]], stats: Stats) -> None:
        for _ in range(2 if self.duplicate else 1):
            pending = batch
            attempts = 0
            while pending:
                failed_from = self._call_worker(pending, stats)
                if failed_from is None:
                    break
                attempts += 1
                if attempts > self.stream_max_retries:
                    dropped = [r["dynamodb"]["SequenceNumber"] for r in pending[failed_from:]]
                    stats.dropped.extend(dropped)
                    log.warning("stream records dropped after retries", extra={"sequence_numbers": dropped})
                    break
                pending = pending[failed_from:]

    def _call_worker(self, batch: list[dict[str, Any]], stats: Stats) -> int | None:
        """Invoke the worker; None on success, else the index of the first record to retry from."""
        assert self.worker is not None
        stats.batches += 1
        stats.records += len(batch)
        try:
            result = self.worker({"Records": batch}, self._context("tops-udf-worker"))
        except Exception as exc:  # the whole batch failed
            stats.failed_batches += 1
            stats.errors.append(exc)
            log.warning("worker failed", extra={"error": str(exc)})
            return 0
        stats.results.append(result)
        if not self.stream_report_failures:
            return None
        failed = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
        if not failed:
            return None
        stats.failed_batches += 1
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        return min((sequence.index(s) for s in failed if s in sequence), default=0)

    def _read_shards(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(shard id, new records) for every shard of the stream."""
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        shards = description.get("Shards", [])
        found = []
        for shard in shards:
            shard_id = shard["ShardId"]
            after = self._positions.get(shard_id)
            if after is None:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            else:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard_id,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=after,
                )["ShardIterator"]
            records: list[dict[str, Any]] = []
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                records.extend(page.get("Records", []))
                if not page.get("Records"):
                    break
                iterator = page.get("NextShardIterator")
            found.append((shard_id, records))
        return found

    # ------------------------------------------------------------------ S3 notifications

    def pump_bucket(self) -> Stats:
        """Deliver the failed S3 events due for a retry, then one event per new or changed object."""
        if self.s3 is None or self.bucket is None or self.cert_mgmt is None:
            raise RuntimeError("the router has no bucket or cert_mgmt handler")
        stats = Stats()
        due, self._retries = self._retries, []
        for event, attempts in due:
            self._deliver_s3(event, attempts, stats)
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=self.cert_prefix).get("Contents", [])
        changed = [o for o in listing if self._etags.get(o["Key"]) != o["ETag"]]
        changed.sort(key=lambda o: (o["LastModified"], o["Key"]))
        for obj in changed:
            self._etags[obj["Key"]] = obj["ETag"]
            self._deliver_s3(s3_event(self.bucket, obj, self.region), 0, stats)
        return stats

    def _deliver_s3(self, event: dict[str, Any], attempts: int, stats: Stats) -> None:
        assert self.cert_mgmt is not None
        for _ in range(2 if self.duplicate else 1):
            stats.batches += 1
            stats.records += 1
            try:
                stats.results.append(self.cert_mgmt(event, self._context("tops-cert-mgmt")))
            except Exception as exc:  # the asynchronous invoke failed: Lambda tries it again
                stats.failed_batches += 1
                stats.errors.append(exc)
                if attempts < ASYNC_RETRIES:
                    self._retries.append((event, attempts + 1))
                else:
                    key = event["Records"][0]["s3"]["object"]["key"]
                    stats.dropped.append(key)
                    log.warning("S3 notification dropped after retries", extra={"key": key})
                return

    # ------------------------------------------------------------------ schedules and loops

    def fire_schedule(
        self,
        handler: Handler | None = None,
        rule: str = "tops-udf-lab-cleaner-schedule",
        function: str = "tops-udf-cleaner",
    ) -> Any:
        """Call `handler` (default: the cleaner) with a scheduled event; return its result."""
        target = handler or self.cleaner
        if target is None:
            raise RuntimeError("the router has no cleaner handler")
        event = scheduled_event(rule, region=self.region, account=self.account)
        return target(event, self._context(function))

    def drain(self, rounds: int = 20) -> Stats:
        """Pump the queue and the stream until neither has anything new (at most `rounds` times)."""
        total = Stats()
        for _ in range(rounds):
            parts: Sequence[Stats] = [
                self.pump_queue() if self.dispatch is not None and self.sqs is not None else Stats(),
                self.pump_stream() if self.worker is not None and self.streams is not None else Stats(),
                self.pump_bucket() if self.cert_mgmt is not None and self.s3 is not None else Stats(),
            ]
            for part in parts:
                total.batches += part.batches
                total.records += part.records
                total.failed_batches += part.failed_batches
                total.dropped.extend(part.dropped)
                total.results.extend(part.results)
                total.errors.extend(part.errors)
            if not any(p.records for p in parts):
                break
        return total

    def wiring(self, *, interval_s: float = 1.0, schedule_every_s: float = 60.0) -> list[str]:
        """One line per event source this router stands in for, as `run()` drives them."""
        lines = []
        if self.sqs is not None and self.queue_url and self.dispatch is not None:
            queue = self.queue_url.rstrip("/").rsplit("/", 1)[-1]
            lines.append(
                f"SQS {queue} -> udf_dispatch ({self.sqs_batch_size} message per batch, "
                f"polled every {interval_s:g} s)"
            )
        if self.streams is not None and self.stream_arn and self.worker is not None:
            table = self.stream_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
            lines.append(
                f"DynamoDB stream of {table}, {' and '.join(sorted(self.stream_filter))} -> "
                f"udf_worker ({self.stream_batch_size} record per batch, {self.stream_max_retries} "
                f"retries, polled every {interval_s:g} s)"
            )
        if self.s3 is not None and self.bucket and self.cert_mgmt is not None:
            under = self.cert_prefix or "(any key)"
            lines.append(
                f"S3 {self.bucket}, ObjectCreated under {under} -> cert_mgmt "
                f"(polled every {interval_s:g} s, {ASYNC_RETRIES} retries)"
            )
        if self.cleaner is not None:
            lines.append(f"schedule, every {schedule_every_s:g} s from the start -> udf_clean")
        return lines

    def run(self, stop: threading.Event, *, interval_s: float = 1.0, schedule_every_s: float = 60.0) -> None:
        """Route until `stop` is set: pump the queue, the stream and the bucket every `interval_s`, and
        fire the cleaner at once and then every `schedule_every_s`."""
        next_schedule = 0.0
        elapsed = 0.0
        while not stop.is_set():
            try:
                self.drain(rounds=1)
                if self.cleaner is not None and elapsed >= next_schedule:
                    self.fire_schedule()
                    next_schedule = elapsed + schedule_every_s
            except Exception:  # keep routing: one bad round must not stop the local stack
                log.exception("routing round failed")
            stop.wait(interval_s)
            elapsed += interval_s

    def _context(self, function: str) -> InvokeContext:
        return InvokeContext(
            function_name=function, timeout_s=self.timeout_s, region=self.region, account=self.account
        )


def dumps(event: Any) -> str:
    """An event as JSON (for logging or writing fixtures)."""
    return json.dumps(_jsonable(event), indent=2, sort_keys=True)
