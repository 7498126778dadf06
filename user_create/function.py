"""Lambda entry point of user_create.

Payload: `{ssm_base_path, first_name, last_name, email, group_names?, namespace_roles?}`; `idm_type`
comes from the SSM parameter `idm-type` under `ssm_base_path` (required, as in the original).
`{ssm_base_path, email, lookup: true}` only reports whether the account exists, with its roles and
groups.
"""

from __future__ import annotations

from shared.config import PARAM_IDM_TYPE, Tenant
from shared.deadline import Deadline
from shared.handler import direct_worker
from shared.log import get_logger
from shared.xc.client import XCClient
from user_create import core
from user_create.models import LookupBody, UserBody, UserLookup, UserRequest, parse_event, parse_idm_type

logger = get_logger("user_create")


@direct_worker(
    logger,
    parse=parse_event,
    ssm_params=(PARAM_IDM_TYPE,),
    keys=lambda request: {"tenant": request.ssm_base_path, "email": request.email},
)
def lambda_handler(
    request: UserRequest | UserLookup, tenant: Tenant, xc: XCClient, deadline: Deadline
) -> UserBody | LookupBody:
    if isinstance(request, UserLookup):
        return core.lookup_user(request, xc, deadline=deadline).to_body()
    idm_type = parse_idm_type(tenant.base_path, tenant.params.get(PARAM_IDM_TYPE))
    return core.create_user(request, xc, idm_type=idm_type, deadline=deadline).to_body()
