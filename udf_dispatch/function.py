"""Lambda entry point of udf_dispatch: an SQS batch of heartbeats `{dep_id, lab_id, email, petname}`."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import aws
from shared.batch import process_batch
from shared.log import get_logger
from udf_dispatch import core
from udf_dispatch.config import load_config
from udf_dispatch.models import Outcome

logger = get_logger("udf_dispatch")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = load_config(os.environ)
    db = aws.client("dynamodb")

    def record_handler(record: SQSRecord) -> Outcome:
        return core.handle_message(db, config.table, record.message_id, record.body,
                                   now=dt.datetime.now(dt.UTC), ttl_extension=config.ttl_extension_seconds)

    return process_batch(event, context, record_handler, event_type="SQS",
                         report_batch_item_failures=config.report_batch_item_failures)
