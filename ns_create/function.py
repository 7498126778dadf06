"""Lambda entry point of ns_create. Payload: `{ssm_base_path, namespace_name, description?, owner?}`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ns_create import core
from ns_create.models import NamespaceBody, parse_event
from shared.deadline import Deadline
from shared.handler import run_direct
from shared.log import get_logger
from shared.tenant import call_with_tenant

logger = get_logger("ns_create")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def work() -> NamespaceBody:
        request = parse_event(event)
        logger.append_keys(tenant=request.ssm_base_path, namespace=request.namespace_name)
        deadline = Deadline.for_invocation(event, context)

        return call_with_tenant(
            request.ssm_base_path,
            lambda tenant, xc: core.create_namespace(request, xc, deadline=deadline).to_body(),
        )

    return run_direct(logger, work)
