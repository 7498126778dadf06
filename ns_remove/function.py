"""Lambda entry point of ns_remove. Payload: `{ssm_base_path, namespace_name, owner?}`."""

from __future__ import annotations

from ns_remove import core
from ns_remove.models import RemovalBody, RemovalRequest, parse_event
from shared.config import Tenant
from shared.deadline import Deadline
from shared.handler import direct_worker
from shared.log import get_logger
from shared.xc.client import XCClient

logger = get_logger("ns_remove")


@direct_worker(
    logger,
    parse=parse_event,
    keys=lambda request: {"tenant": request.ssm_base_path, "namespace": request.namespace_name},
)
def lambda_handler(request: RemovalRequest, tenant: Tenant, xc: XCClient, deadline: Deadline) -> RemovalBody:
    return core.remove_namespace(request, xc, deadline=deadline).to_body()
