"""Running a batch through Powertools' BatchProcessor under either event source mapping setting.

With `ReportBatchItemFailures` on, the returned `batchItemFailures` make SQS redeliver only the
failed records. Without it (the deployed mapping) SQS ignores the returned value and deletes the
whole batch when the invocation succeeds, so a failed record must fail the invocation instead.
Powertools already raises when every record failed; this adds the partial case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from shared.errors import RetryableError

EventSource = Literal["SQS", "DynamoDBStreams", "KinesisDataStreams"]


class BatchFailedError(RetryableError):
    """Some records failed and the mapping cannot redeliver them individually."""

    def __init__(self, failed: int, total: int, first: BaseException | None) -> None:
        self.failed = failed
        self.total = total
        detail = f": {type(first).__name__}: {first}" if first is not None else ""
        super().__init__(f"{failed} of {total} records failed{detail}")


def process_batch(
    event: dict[str, Any], context: Any, record_handler: Callable[[Any], Any], *, event_type: EventSource,
    report_batch_item_failures: bool,
) -> dict[str, Any]:
    """Process every record; return the partial batch response or raise as described above."""
    # Imported here: the batch utility is one of the slowest imports on the cold path.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(EventType[event_type])
    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                 context=context)
    )
    failures = response.get("batchItemFailures") or []
    if failures and not report_batch_item_failures:
        first = processor.exceptions[0][1] if processor.exceptions else None
        raise BatchFailedError(len(failures), len(processor.records), first)
    return response
