"""Lambda entry point of ns_create. Payload: `{ssm_base_path, namespace_name, description?, owner?}`."""

from __future__ import annotations

from ns_create import core
from ns_create.models import NamespaceBody, NamespaceRequest, parse_event
from shared.config import Tenant
from shared.deadline import Deadline
from shared.handler import direct_worker
from shared.log import get_logger
from shared.xc.client import XCClient

logger = get_logger("ns_create")


@direct_worker(
    logger,
    parse=parse_event,
    keys=lambda request: {"tenant": request.ssm_base_path, "namespace": request.namespace_name},
)
def lambda_handler(
    request: NamespaceRequest, tenant: Tenant, xc: XCClient, deadline: Deadline
) -> NamespaceBody:
    return core.create_namespace(request, xc, deadline=deadline).to_body()
