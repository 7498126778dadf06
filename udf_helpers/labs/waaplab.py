"""WAAP lab (`waaplab-pre`, sec tenant): a TLS pool to appedge.one and an HTTPS load balancer at
`https://<petname>.lab-sec[-dev].f5demos.com`. The original's references carried the sec tenant's id;
these carry none, so they resolve in whichever tenant runs the lab."""

from __future__ import annotations

from collections.abc import Sequence

from udf_helpers.engine import LabContext, LabDefinition, LabObject, make_handler
from udf_helpers.labs import SEC_CERTIFICATE, SEC_DOMAIN, appedge_pool_spec, https_listener, route_pool


def _objects(lab: LabContext) -> Sequence[LabObject]:
    pool = lab.name("origin")
    return [
        LabObject("origin_pools", pool, appedge_pool_spec()),
        LabObject("http_loadbalancers", lab.name("lb"), {
            "domains": [lab.host()],
            "https": https_listener(lab.certificate_ref()),
            "default_route_pools": [route_pool(lab.local_ref("origin_pool", pool))],
        }),
    ]


DEFINITION = LabDefinition(name="waaplab", domain=SEC_DOMAIN, certificate=SEC_CERTIFICATE, objects=_objects)
lambda_handler = make_handler(DEFINITION)
