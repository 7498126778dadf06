"""One module per lab, each holding one `DEFINITION` and the `lambda_handler` built from it.

The spec fragments below are shared by several labs; they reproduce what the original helpers sent
(docs/xc-api.md §7.5-7.7), minus the hard-coded tenant ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from udf_helpers.engine import EnvName, LabContext, LabObject

# The sec tenant's names, used by apilab, botlab, waaplab and (by default) example.
SEC_DOMAIN = EnvName(prod="lab-sec.f5demos.com", dev="lab-sec-dev.f5demos.com")
SEC_CERTIFICATE = EnvName(prod="lab-sec-wildcard", dev="lab-sec-wildcard-dev")


def public_origin(dns_name: str) -> dict[str, Any]:
    """An origin server found by public DNS name, refreshed every 300 s."""
    return {"public_name": {"dns_name": dns_name, "refresh_interval": 300}, "labels": {}}


def appedge_pool_spec() -> dict[str, Any]:
    """The example and WAAP labs' pool: appedge.one over TLS on 443 (SNI from the Host header)."""
    return {
        "origin_servers": [public_origin("appedge.one")],
        "use_tls": {
            "use_host_header_as_sni": {},
            "tls_config": {"default_security": {}},
            "volterra_trusted_ca": {},
            "no_mtls": {},
            "default_session_key_caching": {},
        },
        "port": 443,
        "same_as_endpoint_port": {},
        "healthcheck": [],
        "loadbalancer_algorithm": "LB_OVERRIDE",
        "endpoint_selection": "LOCAL_PREFERRED",
    }


def https_listener(certificate: dict[str, str]) -> dict[str, Any]:
    """The `https` one-of: port 443 with redirect and HSTS, our certificate, default TLS, no mTLS."""
    return {
        "http_redirect": True,
        "add_hsts": True,
        "port": 443,
        "tls_cert_params": {
            "tls_config": {"default_security": {}},
            "certificates": [certificate],
            "no_mtls": {},
        },
    }


def route_pool(pool: dict[str, str]) -> dict[str, Any]:
    """A default route to one origin pool (weight 1, priority 1)."""
    return {"pool": pool, "weight": 1, "priority": 1}


def appedge_https_objects(lab: LabContext) -> Sequence[LabObject]:
    """The example and WAAP labs' objects (identical in the original helpers): a TLS pool to
    appedge.one and an HTTPS load balancer at `https://<petname>.<domain>` routing to it."""
    pool = lab.name("origin")
    return [
        LabObject("origin_pools", pool, appedge_pool_spec()),
        LabObject("http_loadbalancers", lab.name("lb"), {
            "domains": [lab.host()],
            "https": https_listener(lab.certificate_ref()),
            "default_route_pools": [route_pool(lab.local_ref("origin_pool", pool))],
        }),
    ]
