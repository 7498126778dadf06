"""One module per lab, each holding one `DEFINITION` and the `lambda_handler` built from it.

The spec fragments below are shared by several labs; they reproduce what the original helpers sent
(docs/xc-api.md §7.5-7.7), minus the hard-coded tenant ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from udf_helpers.engine import EnvName, LabContext, LabObject

# The sec tenant's names, used by apilab, botlab, waaplab and (by default) example.
SEC_DOMAIN = EnvName(prod="lab-sec.f5demos.com", dev="lab-sec-dev.f5demos.com")
SEC_CERTIFICATE = EnvName(prod="lab-sec-wildcard", dev="lab-sec-wildcard-dev")
# The pool settings the original helpers sent after the port: the endpoint's own port, no health check,
# local endpoints preferred.
POOL_DEFAULTS: Final[Mapping[str, Any]] = {
    "same_as_endpoint_port": {},
    "healthcheck": [],
    "loadbalancer_algorithm": "LB_OVERRIDE",
    "endpoint_selection": "LOCAL_PREFERRED",
}


def public_origin(dns_name: str) -> dict[str, Any]:
    """An origin server found by public DNS name, refreshed every 300 s."""
    return {"public_name": {"dns_name": dns_name, "refresh_interval": 300}, "labels": {}}


def public_pool(lab: LabContext, dns_name: str, **spec: Any) -> LabObject:
    """The lab's pool `<petname>-origin` to one server found by public DNS name; `spec` adds the rest."""
    return LabObject(
        "origin_pools", lab.name("origin"), {"origin_servers": [public_origin(dns_name)], **spec}
    )


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


def http_loadbalancer(
    lab: LabContext, pool: LabObject, listener: Mapping[str, Any], **options: Any
) -> LabObject:
    """The lab's load balancer `<petname>-lb` at `<petname>.<domain>`, routing to `pool`. `listener` is
    its `http` or `https` one-of; `options` add to its spec."""
    return LabObject(
        "http_loadbalancers",
        lab.name("lb"),
        {
            "domains": [lab.host()],
            **listener,
            "default_route_pools": [route_pool(lab.local_ref("origin_pool", pool.name))],
            **options,
        },
    )


def appedge_https_objects(lab: LabContext) -> Sequence[LabObject]:
    """The example and WAAP labs' objects (identical in the original helpers): a TLS pool to
    appedge.one on 443 (SNI from the Host header) and an HTTPS load balancer at
    `https://<petname>.<domain>` routing to it."""
    pool = public_pool(
        lab,
        "appedge.one",
        use_tls={
            "use_host_header_as_sni": {},
            "tls_config": {"default_security": {}},
            "volterra_trusted_ca": {},
            "no_mtls": {},
            "default_session_key_caching": {},
        },
        port=443,
        **POOL_DEFAULTS,
    )
    return [pool, http_loadbalancer(lab, pool, {"https": https_listener(lab.certificate_ref())})]
