"""Lambda entry point of user_remove.

Payload: `{ssm_base_path, email}` deletes the account; adding `namespace_roles` and/or `group_names`
revokes only those and keeps the account.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.deadline import Deadline
from shared.handler import run_direct
from shared.log import get_logger
from shared.tenant import call_with_tenant
from user_remove import core
from user_remove.models import UserRemovalBody, parse_event

logger = get_logger("user_remove")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def work() -> UserRemovalBody:
        request = parse_event(event)
        logger.append_keys(tenant=request.ssm_base_path, email=request.email, mode=request.mode)
        deadline = Deadline.for_invocation(event, context)

        return call_with_tenant(
            request.ssm_base_path,
            lambda tenant, xc: core.remove_user(request, xc, deadline=deadline).to_body(),
        )

    return run_direct(logger, work)
