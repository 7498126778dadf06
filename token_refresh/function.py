"""Lambda entry point of token_refresh (EventBridge schedule, every 12 hours)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import PARAM_TOKEN_NAME, PARAM_TOKEN_TYPE, Tenant
from shared.deadline import Deadline
from shared.errors import TopsError
from shared.log import get_logger
from shared.tenant import call_with_tenant
from shared.xc.client import XCClient
from token_refresh.config import credential_from, load_config, tenant_label
from token_refresh.core import refresh_token
from token_refresh.models import RefreshResult, parse_event

SERVICE = "token_refresh"
logger = get_logger(SERVICE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Renew the credential when due. A scheduled worker raises on failure, so the invoke is retried."""
    try:
        request = parse_event(event)
        config = load_config(os.environ)

        def refresh(tenant: Tenant, xc: XCClient) -> RefreshResult:
            credential = credential_from(tenant)
            label = tenant_label(tenant.url)
            logger.append_keys(tenant=label, credential=credential.name, kind=credential.kind)
            metrics = Metrics(namespace=config.metrics_namespace, service=SERVICE)
            metrics.clear_metrics()
            metrics.add_dimension(name="tenant", value=label)
            metrics.add_dimension(name="credential", value=credential.name)
            try:
                return refresh_token(request, credential, config.renewal, xc=xc, metrics=metrics,
                                     deadline=Deadline.from_context(context))
            finally:
                if metrics.metric_set:
                    metrics.flush_metrics()
                else:
                    metrics.clear_metrics()

        # Always read SSM afresh: the schedule runs twice a day and must see a rotated token at once.
        result = call_with_tenant(config.ssm_base_path, refresh, extra=(PARAM_TOKEN_NAME, PARAM_TOKEN_TYPE),
                                  force_fetch=True)
    except TopsError as exc:
        logger.error("token refresh failed", extra={"error": type(exc).__name__, "detail": str(exc),
                                                    "field": getattr(exc, "field", None)})
        raise
    return {"statusCode": 200, "body": result.body()}
