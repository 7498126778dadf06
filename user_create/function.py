"""Lambda entry point of user_create.

Payload: `{ssm_base_path, first_name, last_name, email, group_names?, namespace_roles?}`; `idm_type`
comes from the SSM parameter `idm-type` under `ssm_base_path` (required, as in the original).
`{ssm_base_path, email, lookup: true}` only reports whether the account exists, with its roles and
groups.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import PARAM_IDM_TYPE, Tenant
from shared.deadline import Deadline
from shared.handler import run_direct
from shared.log import get_logger
from shared.tenant import call_with_tenant
from shared.xc.client import XCClient
from user_create import core
from user_create.models import LookupBody, UserBody, UserLookup, parse_event, parse_idm_type

logger = get_logger("user_create")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def work() -> UserBody | LookupBody:
        request = parse_event(event)
        logger.append_keys(tenant=request.ssm_base_path, email=request.email)
        deadline = Deadline.for_invocation(event, context)

        def call(tenant: Tenant, xc: XCClient) -> UserBody | LookupBody:
            if isinstance(request, UserLookup):
                return core.lookup_user(request, xc, deadline=deadline).to_body()
            idm_type = parse_idm_type(tenant.base_path, tenant.params.get(PARAM_IDM_TYPE))
            return core.create_user(request, xc, idm_type=idm_type, deadline=deadline).to_body()

        return call_with_tenant(request.ssm_base_path, call, extra=(PARAM_IDM_TYPE,))

    return run_direct(logger, work)
