"""Lambda entry point of udf_worker: DynamoDB stream records of the deployment state table."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from shared import aws
from shared.batch import check_batch, process_batch
from shared.deadline import Deadline
from shared.handler import event_worker
from shared.invoke import lambda_client
from shared.log import get_logger
from udf_worker import core
from udf_worker.clients import LambdaInvoker, SsmTenants, TableLabCatalog, Worker
from udf_worker.config import WorkerConfig, load_config
from udf_worker.state import LabTable, StateTable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

logger = get_logger("udf_worker")


# A bad record inside a batch fails on its own (core.stream_change).
@event_worker(
    logger, parse=functools.partial(check_batch, event_type="DynamoDBStreams"), config=load_config, margin=1.0
)
def lambda_handler(event: dict[str, Any], config: WorkerConfig, deadline: Deadline) -> dict[str, Any]:
    db = aws.client("dynamodb")
    worker = Worker(
        state=StateTable(db, config.state_table),
        labs=TableLabCatalog(LabTable(db, config.lab_table)),
        tenants=SsmTenants(),
        invoker=LambdaInvoker(lambda_client()),
        functions=config.functions,
        deadline=deadline,
        min_step_seconds=config.min_step_seconds,
        max_retries=config.max_retries,
        sleep=time.sleep,
    )

    def record_handler(record: DynamoDBRecord) -> str:
        change = core.stream_change(record)
        logger.append_keys(dep_id=change.dep_id)
        try:
            return core.handle_change(change, worker)
        finally:
            logger.remove_keys(["dep_id"])

    return process_batch(
        event,
        record_handler,
        event_type="DynamoDBStreams",
        report_batch_item_failures=config.report_batch_item_failures,
    )
