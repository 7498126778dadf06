"""Batches of SQS messages or stream records: the one check of the event's shape, and running the
records through Powertools' BatchProcessor under either event source mapping setting.

With `ReportBatchItemFailures` on, the returned `batchItemFailures` make SQS redeliver only the
failed records. Without it (the deployed mapping) SQS ignores the returned value and deletes the
whole batch when the invocation succeeds, so a failed record must fail the invocation instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

from shared.errors import ConfigError, InputError, RetryableError

EventSource = Literal["SQS", "DynamoDBStreams", "KinesisDataStreams"]

# Per event type: what its records are called in a refusal, and their `eventSource`.
_RECORDS: Final[dict[str, tuple[str, str]]] = {
    "SQS": ("SQS messages", "aws:sqs"),
    "DynamoDBStreams": ("DynamoDB stream records", "aws:dynamodb"),
    "KinesisDataStreams": ("Kinesis stream records", "aws:kinesis"),
}


class BatchFailedError(RetryableError):
    """Records failed and the mapping must deliver them again: some of them when it cannot redeliver
    records individually, or all of them."""

    def __init__(self, failed: int, total: int, first: BaseException | None) -> None:
        self.failed = failed
        self.total = total
        detail = f": {type(first).__name__}: {first}" if first is not None else ""
        super().__init__(f"{failed} of {total} records failed{detail}")


def check_batch(event: Any, event_type: EventSource) -> dict[str, Any]:
    """The event, once it is known to be a batch of `event_type` records.

    An event that is no such batch at all is refused as one InputError naming the field (Powertools
    would answer with UnexpectedBatchTypeError). A bad record inside a batch is not refused here: the
    worker's record handler deals with it on its own.
    """
    kind, source = _RECORDS[event_type]
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        got = f"{records!r:.60}" if isinstance(event, dict) else f"an event of type {type(event).__name__}"
        raise InputError("Records", f"must be a non-empty list of {kind}, got {got}")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InputError(f"Records[{index}]", f"must be an object, got {type(record).__name__}")
        found = record.get("eventSource", source)
        if found != source:
            raise InputError(f"Records[{index}].eventSource", f"must be {source!r}, got {found!r:.60}")
    return event


def process_batch(
    event: dict[str, Any],
    record_handler: Callable[[Any], Any],
    *,
    event_type: EventSource,
    report_batch_item_failures: bool,
) -> dict[str, Any]:
    """Process every record; return the partial batch response, or raise.

    Raises when every record failed, or when any did and `report_batch_item_failures` is off:
    the ConfigError of a record when one failed that way (a configuration problem is not cured by
    delivering again, and must not read as a retryable failure), BatchFailedError otherwise.
    """
    # Imported here: the batch utility is one of the slowest imports on the cold path.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(EventType[event_type], raise_on_entire_batch_failure=False)
    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor)
    )
    failures = response.get("batchItemFailures") or []
    everything = len(processor.exceptions) == len(processor.records)
    if not failures or (report_batch_item_failures and not everything):
        return response
    errors = [info[1] for info in processor.exceptions if info[1] is not None]
    for error in errors:
        if isinstance(error, ConfigError):
            raise error
    raise BatchFailedError(len(failures), len(processor.records), errors[0] if errors else None)
