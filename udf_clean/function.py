"""Lambda entry point of udf_clean: an EventBridge schedule (the event is ignored)."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import aws
from shared.log import get_logger
from udf_clean import core
from udf_clean.config import load_config
from udf_clean.models import SweepBody

logger = get_logger("udf_clean")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> SweepBody:
    config = load_config(os.environ)
    return core.sweep_expired(aws.client("dynamodb"), config.table, now=int(time.time())).to_body()
