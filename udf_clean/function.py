"""Lambda entry point of udf_clean: an EventBridge schedule (the event is ignored)."""

from __future__ import annotations

import time
from typing import Any

from shared import aws
from shared.deadline import Deadline
from shared.handler import event_worker, raw_event
from shared.log import get_logger
from udf_clean import core
from udf_clean.config import CleanConfig, load_config
from udf_clean.models import SweepBody

logger = get_logger("udf_clean")


@event_worker(logger, parse=raw_event, config=load_config)
def lambda_handler(event: Any, config: CleanConfig, deadline: Deadline) -> SweepBody:
    return core.sweep_expired(aws.client("dynamodb"), config.table, now=int(time.time())).to_body()
