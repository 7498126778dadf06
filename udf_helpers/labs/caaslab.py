"""CAAS lab (`caaslab-pre`, app tenant): a pool to the learner's `mosquitto` service in the vK8s of the
shared virtual site, and a TLS TCP load balancer for MQTT (port 8883) at
`<petname>.{useast,uswest,europe}.lab-app.f5demos.com`, advertised on that virtual site.

As in the original, neither the domains nor the certificate (`shared/caas-lab-certificate`, managed
outside the helpers) depend on `ENV`; `LAB_DOMAIN` and `LAB_CERT_NAME` still override them. The
virtual site `shared/appworld2025-k8s-vsite` must already exist. Differences from the original, none of
which changes the object: no tenant id in the references; the pool's `metadata.namespace` is set (the
server bound it from the path anyway); the stray `origin_pools: []` (in no schema) is not sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from udf_helpers.engine import EnvName, LabContext, LabDefinition, LabObject, ref
from udf_helpers.function import lab_handler

VIRTUAL_SITE: Final = "appworld2025-k8s-vsite"
REGIONS: Final = ("useast", "uswest", "europe")


def _objects(lab: LabContext) -> Sequence[LabObject]:
    pool = lab.name("mosquitto")
    site = ref("shared", VIRTUAL_SITE, "virtual_site")
    return [
        LabObject(
            "origin_pools",
            pool,
            {
                "origin_servers": [
                    {
                        "k8s_service": {
                            "service_name": f"mosquitto.{lab.namespace}",
                            "site_locator": {"virtual_site": site},
                            "vk8s_networks": {},
                        },
                        "labels": {},
                    }
                ],
                "no_tls": {},
                "port": 1883,
                "same_as_endpoint_port": {},
                "healthcheck": [],
                "loadbalancer_algorithm": "LB_OVERRIDE",
                "endpoint_selection": "LOCAL_ONLY",
            },
        ),
        LabObject(
            "tcp_loadbalancers",
            lab.name("mqtt"),
            {
                "domains": [lab.host(region) for region in REGIONS],
                "listen_port": 8883,
                "sni": {},
                "dns_volterra_managed": False,
                "origin_pools_weights": [
                    {
                        "pool": lab.local_ref("origin_pool", pool),
                        "weight": 1,
                        "priority": 1,
                        "endpoint_subsets": {},
                    }
                ],
                "advertise_custom": {
                    "advertise_where": [
                        {
                            "virtual_site": {
                                "network": "SITE_NETWORK_INSIDE_AND_OUTSIDE",
                                "virtual_site": site,
                            },
                            "use_default_port": {},
                        }
                    ]
                },
                "tls_tcp": {
                    "tls_cert_params": {
                        "tls_config": {"default_security": {}},
                        "certificates": [lab.certificate_ref()],
                        "no_mtls": {},
                    }
                },
                "service_policies_from_namespace": {},
            },
        ),
    ]


DEFINITION = LabDefinition(
    name="caaslab",
    domain=EnvName.same("lab-app.f5demos.com"),
    certificate=EnvName.same("caas-lab-certificate"),
    objects=_objects,
)
lambda_handler = lab_handler(DEFINITION)
