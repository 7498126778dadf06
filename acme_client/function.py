"""Lambda entry point (`function.lambda_handler`): parse, configure, build clients, call the core."""

from __future__ import annotations

import os
from typing import Any, Final

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from acme_client.config import load_config
from acme_client.core import renew_certificate
from acme_client.models import Response, parse_event
from shared import aws
from shared.deadline import Deadline
from shared.log import get_logger

SERVICE: Final = "acme_client"
SAFETY_MARGIN_S: Final = 10.0  # kept back from the Lambda timeout for logging and the metric flush

logger = get_logger(SERVICE)


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: Any, context: LambdaContext) -> Response:
    request = parse_event(event)
    config = load_config(os.environ)
    logger.append_keys(cert_name=config.cert_name, domain=config.domain)
    deadline = Deadline.from_context(context, margin=SAFETY_MARGIN_S)
    metrics = Metrics(namespace=config.metrics_namespace, service=SERVICE)
    try:
        result = renew_certificate(request, config, s3=aws.client("s3"), route53=aws.client("route53"),
                                   metrics=metrics, deadline=deadline)
    finally:
        metrics.flush_metrics()
    return result.to_response()
