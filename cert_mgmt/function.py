"""Lambda entry point of cert_mgmt (S3 ObjectCreated on `<CERT_NAME>/` in the cert bucket)."""

from __future__ import annotations

from typing import Any

from cert_mgmt.config import Config, load_config
from cert_mgmt.core import push_certificates
from cert_mgmt.models import EventResult, parse_event
from shared import aws
from shared.deadline import Deadline
from shared.handler import event_worker, raw_event
from shared.log import get_logger
from shared.tenant import call_with_tenant

logger = get_logger("cert_mgmt")


@event_worker(
    logger,
    parse=raw_event,
    config=load_config,
    failure="certificate push failed",
    correlation_id_path="Records[0].s3.object.key",
)
def lambda_handler(event: Any, config: Config, deadline: Deadline) -> dict[str, Any]:
    """Publish the pair named by the event (read once the settings name the bucket and certificate it
    may touch). Failures raise, so the asynchronous S3 invoke is retried. The tenant is read only
    when the event names a pair file."""
    request = parse_event(event, bucket=config.bucket, cert_name=config.cert_name)
    if not request.targets:
        logger.info("no certificate pair file in the event", extra={"skipped": list(request.skipped)})
        return {"statusCode": 200, "body": EventResult(results=(), skipped=request.skipped).body()}
    logger.append_keys(certificate=",".join(t.name for t in request.targets))
    result = call_with_tenant(
        config.ssm_base_path,
        lambda tenant, xc: push_certificates(request, s3=aws.client("s3"), xc=xc, deadline=deadline),
    )
    return {"statusCode": 200, "body": result.body()}
