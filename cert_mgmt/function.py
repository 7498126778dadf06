"""Lambda entry point of cert_mgmt (S3 ObjectCreated on `<CERT_NAME>/` in the cert bucket)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cert_mgmt.config import load_config
from cert_mgmt.core import push_certificates
from cert_mgmt.models import EventResult, parse_event
from shared import aws
from shared.deadline import Deadline
from shared.errors import TopsError
from shared.log import get_logger
from shared.tenant import call_with_tenant

logger = get_logger("cert_mgmt")


@logger.inject_lambda_context(correlation_id_path="Records[0].s3.object.key")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Publish the pair named by the event. Failures raise, so the asynchronous S3 invoke is retried."""
    try:
        config = load_config(os.environ)
        request = parse_event(event, bucket=config.bucket, cert_name=config.cert_name)
        if not request.targets:
            logger.info("no certificate pair file in the event", extra={"skipped": list(request.skipped)})
            return {"statusCode": 200, "body": EventResult(results=(), skipped=request.skipped).body()}
        logger.append_keys(certificate=",".join(t.name for t in request.targets))
        deadline = Deadline.from_context(context)
        result = call_with_tenant(
            config.ssm_base_path,
            lambda tenant, xc: push_certificates(request, s3=aws.client("s3"), xc=xc, deadline=deadline),
        )
    except TopsError as exc:
        logger.error("certificate push failed", extra={
            "error": type(exc).__name__, "detail": str(exc), "retryable": exc.retryable,
            "field": getattr(exc, "field", None)})
        raise
    return {"statusCode": 200, "body": result.body()}
