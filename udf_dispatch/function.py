"""Lambda entry point of udf_dispatch: an SQS batch of heartbeats `{dep_id, lab_id, email, petname}`."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared import aws
from shared.batch import check_batch, process_batch
from shared.deadline import Deadline
from shared.handler import event_worker
from shared.log import get_logger
from udf_dispatch import core
from udf_dispatch.config import DispatchConfig, load_config
from udf_dispatch.models import Outcome

logger = get_logger("udf_dispatch")


# A bad message inside a batch is logged and dropped on its own (core.handle_message).
@event_worker(logger, parse=functools.partial(check_batch, event_type="SQS"), config=load_config)
def lambda_handler(event: dict[str, Any], config: DispatchConfig, deadline: Deadline) -> dict[str, Any]:
    db = aws.client("dynamodb")

    def record_handler(record: SQSRecord) -> Outcome:
        return core.handle_message(
            db,
            config.table,
            record.message_id,
            record.body,
            now=dt.datetime.now(dt.UTC),
            ttl_extension=config.ttl_extension_seconds,
        )

    return process_batch(
        event, record_handler, event_type="SQS", report_batch_item_failures=config.report_batch_item_failures
    )
