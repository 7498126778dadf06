"""API lab (`apilab-pre`, sec tenant): a plain-HTTP pool to the bank API and an HTTPS load balancer
with malicious-user detection at `https://<petname>.lab-sec[-dev].f5demos.com`."""

from __future__ import annotations

from collections.abc import Sequence

from udf_helpers.engine import LabContext, LabDefinition, LabObject
from udf_helpers.function import lab_handler
from udf_helpers.labs import SEC_CERTIFICATE, SEC_DOMAIN, https_listener, public_origin, route_pool


def _objects(lab: LabContext) -> Sequence[LabObject]:
    pool = lab.name("origin")
    return [
        LabObject("origin_pools", pool, {
            "origin_servers": [public_origin("bankapi.lab-sec.f5demos.com")],
            "port": 80,
            "same_as_endpoint_port": {},
            "healthcheck": [],
            "loadbalancer_algorithm": "LB_OVERRIDE",
            "endpoint_selection": "LOCAL_PREFERRED",
        }),
        LabObject("http_loadbalancers", lab.name("lb"), {
            "domains": [lab.host()],
            "https": https_listener(lab.certificate_ref()),
            "default_route_pools": [route_pool(lab.local_ref("origin_pool", pool))],
            "enable_malicious_user_detection": {},
        }),
    ]


DEFINITION = LabDefinition(name="apilab", domain=SEC_DOMAIN, certificate=SEC_CERTIFICATE, objects=_objects)
lambda_handler = lab_handler(DEFINITION)
