"""WAAP lab (`waaplab-pre`, sec tenant): a TLS pool to appedge.one and an HTTPS load balancer at
`https://<petname>.lab-sec[-dev].f5demos.com`. The original's references carried the sec tenant's id;
these carry none, so they resolve in whichever tenant runs the lab."""

from __future__ import annotations

from udf_helpers.engine import LabDefinition
from udf_helpers.function import lab_handler
from udf_helpers.labs import SEC_CERTIFICATE, SEC_DOMAIN, appedge_https_objects

DEFINITION = LabDefinition(
    name="waaplab", domain=SEC_DOMAIN, certificate=SEC_CERTIFICATE, objects=appedge_https_objects
)
lambda_handler = lab_handler(DEFINITION)
