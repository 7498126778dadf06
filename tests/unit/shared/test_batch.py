"""shared.batch: the batch shape check, and what a batch's failures make of the invocation."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from shared.batch import BatchFailedError, check_batch, process_batch
from shared.errors import ConfigError, InputError, RetryableError
from tests.fixtures.events import load_event

SQS = load_event("udf_dispatch_heartbeat")
STREAM = load_event("udf_worker_insert")


@pytest.mark.parametrize(
    ("event_type", "good", "other", "kind", "source"),
    [
        ("SQS", SQS, STREAM, "SQS messages", "aws:sqs"),
        ("DynamoDBStreams", STREAM, SQS, "DynamoDB stream records", "aws:dynamodb"),
    ],
)
@pytest.mark.parametrize(
    ("make", "field", "says"),
    [
        (lambda good, other: {}, "Records", "must be a non-empty list of {kind}, got None"),
        (lambda good, other: {"Records": []}, "Records", "must be a non-empty list of {kind}, got []"),
        (lambda good, other: [], "Records", "must be a non-empty list of {kind}, got an event of type list"),
        (lambda good, other: "INSERT", "Records", "got an event of type str"),
        (lambda good, other: {"Records": ["a message"]}, "Records[0]", "must be an object, got str"),
        (
            lambda good, other: {"Records": [*good["Records"], None]},
            "Records[1]",
            "must be an object, got NoneType",
        ),
        (lambda good, other: other, "Records[0].eventSource", "must be '{source}', got"),
    ],
)
def test_check_batch_refuses_what_is_no_batch_as_one_input_error_naming_the_field(
    event_type: Any,
    good: Any,
    other: Any,
    kind: str,
    source: str,
    make: Any,
    field: str,
    says: str,
) -> None:
    with pytest.raises(InputError) as caught:
        check_batch(make(good, other), event_type)
    assert caught.value.field == field
    assert str(caught.value) == f"invalid {field}: {caught.value.reason}"
    assert says.format(kind=kind, source=source) in str(caught.value)


@pytest.mark.parametrize(("event_type", "good"), [("SQS", SQS), ("DynamoDBStreams", STREAM)])
def test_check_batch_returns_a_batch_as_it_is(event_type: Any, good: Any) -> None:
    event = copy.deepcopy(good)
    del event["Records"][0]["eventSource"]  # an absent source is not refused: only a wrong one
    assert check_batch(event, event_type) is event


def three_messages() -> dict[str, Any]:
    event = copy.deepcopy(SQS)
    record = event["Records"][0]
    event["Records"] = [dict(record, messageId=f"m-{n}", body=str(n)) for n in range(3)]
    return event


def failing(errors: Mapping[str, Exception]) -> Any:
    """A record handler that raises `errors[body]` for those bodies and succeeds for the others."""

    def handle(record: Any) -> str:
        error = errors.get(record.body)
        if error is not None:
            raise error
        return "ok"

    return handle


@pytest.mark.parametrize("report", [True, False])
def test_process_batch_all_succeed_is_an_empty_failure_list(report: bool) -> None:
    result = process_batch(three_messages(), failing({}), event_type="SQS", report_batch_item_failures=report)
    assert result == {"batchItemFailures": []}


def test_process_batch_with_partial_responses_reports_only_the_failed_records() -> None:
    errors = {"1": RetryableError("slow"), "2": ConfigError(["TABLE is not set"])}
    result = process_batch(
        three_messages(), failing(errors), event_type="SQS", report_batch_item_failures=True
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}


def test_process_batch_without_partial_responses_fails_the_invocation_retryable() -> None:
    with pytest.raises(BatchFailedError) as caught:
        process_batch(
            three_messages(),
            failing({"1": RetryableError("slow")}),
            event_type="SQS",
            report_batch_item_failures=False,
        )
    assert (caught.value.failed, caught.value.total, caught.value.retryable) == (1, 3, True)
    assert str(caught.value) == "1 of 3 records failed: RetryableError: slow"


@pytest.mark.parametrize("report", [True, False])
def test_process_batch_every_record_failed_fails_the_invocation(report: bool) -> None:
    errors = {str(n): RetryableError(f"slow {n}") for n in range(3)}
    with pytest.raises(BatchFailedError) as caught:
        process_batch(three_messages(), failing(errors), event_type="SQS", report_batch_item_failures=report)
    assert (caught.value.failed, caught.value.total) == (3, 3)


@pytest.mark.parametrize(
    ("errors", "report"),
    [
        ({"1": RetryableError("slow"), "2": ConfigError(["TABLE is not set"])}, False),
        ({str(n): ConfigError(["TABLE is not set"]) for n in range(3)}, False),
        ({str(n): ConfigError(["TABLE is not set"]) for n in range(3)}, True),
    ],
)
def test_process_batch_configuration_error_stays_one_and_not_retryable(
    errors: Mapping[str, Exception],
    report: bool,
) -> None:
    # GIVEN a record that failed for its configuration, where the invocation has to fail
    # WHEN the batch is processed
    with pytest.raises(ConfigError) as caught:
        process_batch(three_messages(), failing(errors), event_type="SQS", report_batch_item_failures=report)
    # THEN the invocation fails with that ConfigError, not a retryable BatchFailedError
    assert caught.value.retryable is False and caught.value.problems == ["TABLE is not set"]
