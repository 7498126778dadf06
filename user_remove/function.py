"""Lambda entry point of user_remove.

Payload: `{ssm_base_path, email}` deletes the account; adding `namespace_roles` and/or `group_names`
revokes only those and keeps the account.
"""

from __future__ import annotations

from shared.config import Tenant
from shared.deadline import Deadline
from shared.handler import direct_worker
from shared.log import get_logger
from shared.xc.client import XCClient
from user_remove import core
from user_remove.models import UserRemovalBody, UserRemovalRequest, parse_event

logger = get_logger("user_remove")


@direct_worker(
    logger,
    parse=parse_event,
    keys=lambda request: {"tenant": request.ssm_base_path, "email": request.email, "mode": request.mode},
)
def lambda_handler(
    request: UserRemovalRequest, tenant: Tenant, xc: XCClient, deadline: Deadline
) -> UserRemovalBody:
    return core.remove_user(request, xc, deadline=deadline).to_body()
