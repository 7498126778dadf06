"""Lambda entry point of the lab helpers: `lab_handler(definition)` is one lab's `lambda_handler`.

Every `<lab>-pre` zip carries all of udf_helpers; its root function.py re-exports the
`lambda_handler` of its own lab module (`udf_helpers.labs.<lab>`, deployables.toml), built here.
Payload: `{ssm_base_path, petname, email?, action?}`.
"""

from __future__ import annotations

from shared.config import Tenant
from shared.deadline import Deadline
from shared.handler import DirectHandler, direct_worker
from shared.log import get_logger
from shared.xc.client import XCClient
from udf_helpers.config import HelperConfig, load_config
from udf_helpers.engine import LabDefinition, run_lab
from udf_helpers.models import LabBody, LabRequest, parse_event

logger = get_logger("udf_helpers")


def lab_handler(definition: LabDefinition) -> DirectHandler:
    """The `lambda_handler` of `definition`'s `<lab>-pre` function."""

    @direct_worker(
        logger,
        parse=parse_event,
        config=load_config,
        bound_keys={"lab": definition.name},
        keys=lambda request: {
            "namespace": request.petname,
            "action": request.action,
            "tenant": request.ssm_base_path,
        },
    )
    def lambda_handler(
        request: LabRequest, config: HelperConfig, tenant: Tenant, xc: XCClient, deadline: Deadline
    ) -> LabBody:
        return run_lab(definition, request, config, xc, deadline=deadline)

    return lambda_handler
