"""Lambda entry point of token_refresh (EventBridge schedule, every 12 hours)."""

from __future__ import annotations

from typing import Any, Final

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.logging import correlation_paths

from shared.config import PARAM_TOKEN_NAME, PARAM_TOKEN_TYPE, Tenant
from shared.deadline import Deadline
from shared.handler import event_worker
from shared.log import get_logger
from shared.xc.client import XCClient
from token_refresh.config import Config, credential_from, load_config, tenant_label
from token_refresh.core import refresh_token
from token_refresh.models import RefreshRequest, parse_event

SERVICE: Final = "token_refresh"
logger = get_logger(SERVICE)
metrics = Metrics(service=SERVICE)


@metrics.log_metrics
@event_worker(
    logger,
    parse=parse_event,
    config=load_config,
    failure="token refresh failed",
    correlation_id_path=correlation_paths.EVENT_BRIDGE,
    tenant=lambda request, config: config.ssm_base_path,
    ssm_params=(PARAM_TOKEN_NAME, PARAM_TOKEN_TYPE),
    # Always read SSM afresh: the schedule runs twice a day and must see a rotated token at once.
    force_fetch=True,
)
def lambda_handler(
    request: RefreshRequest, config: Config, tenant: Tenant, xc: XCClient, deadline: Deadline
) -> dict[str, Any]:
    """Renew the credential when due. A scheduled worker raises on failure, so the invoke is retried."""
    credential = credential_from(tenant)
    label = tenant_label(tenant.url)
    logger.append_keys(tenant=label, credential=credential.name, kind=credential.kind)
    # Powertools clears dimensions only when it flushes a metric: a failed run left this container's.
    metrics.clear_metrics()
    metrics.namespace = config.metrics_namespace
    metrics.add_dimension(name="tenant", value=label)
    metrics.add_dimension(name="credential", value=credential.name)
    result = refresh_token(request, credential, config.renewal, xc=xc, metrics=metrics, deadline=deadline)
    return {"statusCode": 200, "body": result.body()}
