"""Lambda entry point (`function.lambda_handler`): parse, configure, build clients, call the core."""

from __future__ import annotations

from typing import Final

from aws_lambda_powertools import Metrics

from acme_client.config import AcmeConfig, load_config
from acme_client.core import renew_certificate
from acme_client.models import RenewRequest, Response, parse_event
from shared import aws
from shared.deadline import Deadline
from shared.handler import event_worker
from shared.log import get_logger

SERVICE: Final = "acme_client"
SAFETY_MARGIN_S: Final = 10.0  # kept back from the Lambda timeout for logging and the metric flush

logger = get_logger(SERVICE)
metrics = Metrics(service=SERVICE)


@metrics.log_metrics
@event_worker(logger, parse=parse_event, config=load_config, log_event=False, margin=SAFETY_MARGIN_S)
def lambda_handler(request: RenewRequest, config: AcmeConfig, deadline: Deadline) -> Response:
    logger.append_keys(cert_name=config.cert_name, domain=config.domain)
    # Powertools clears dimensions only when it flushes a metric: a failed run left this container's.
    metrics.clear_metrics()
    metrics.namespace = config.metrics_namespace
    return renew_certificate(
        request,
        config,
        s3=aws.client("s3"),
        route53=aws.client("route53"),
        metrics=metrics,
        deadline=deadline,
    ).to_response()
