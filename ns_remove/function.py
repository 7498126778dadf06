"""Lambda entry point of ns_remove. Payload: `{ssm_base_path, namespace_name}`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ns_remove import core
from ns_remove.models import RemovalBody, parse_event
from shared.config import Tenant, load_tenant
from shared.handler import run_direct
from shared.log import get_logger
from shared.xc.client import XCClient
from shared.xc.errors import XCAuthError
from shared.xc.poll import deadline_from_context

logger = get_logger("ns_remove")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def work() -> RemovalBody:
        request = parse_event(event)
        logger.append_keys(tenant=request.ssm_base_path, namespace=request.namespace_name)
        deadline = deadline_from_context(context)

        def call(tenant: Tenant) -> RemovalBody:
            xc = XCClient(tenant.url, tenant.token)
            return core.remove_namespace(request, xc, deadline=deadline).to_body()

        tenant = load_tenant(request.ssm_base_path)
        try:
            return call(tenant)
        except XCAuthError as exc:
            # A 401 may mean the token was rotated since it was cached: read SSM again, once.
            fresh = load_tenant(request.ssm_base_path, force_fetch=True) if exc.status == 401 else tenant
            if fresh.token == tenant.token:
                raise
            return call(fresh)

    return run_direct(logger, work)
