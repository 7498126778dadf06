"""Each lab definition renders exactly the objects of docs/xc-api.md §7.5-7.7, without a tenant id."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from typing import Any

import pytest

from udf_helpers.config import HelperConfig
from udf_helpers.engine import LabDefinition, render
from udf_helpers.labs import apilab, botlab, caaslab, example, waaplab

PET = "ample-gull"
PROD, DEV = HelperConfig(env="prod"), HelperConfig(env="dev")
LABS = {"example": example, "apilab": apilab, "botlab": botlab, "caaslab": caaslab, "waaplab": waaplab}
ROOT = Path(__file__).resolve().parents[3]


def _bodies(definition: LabDefinition, config: HelperConfig = PROD) -> list[tuple[str, dict[str, Any]]]:
    return [(p.plural, p.body) for p in render(definition, definition.context(PET, config))]


def _meta(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": PET, "disable": False}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value)) if value else set()
    return set()


POOL_REF = {"namespace": PET, "name": f"{PET}-origin", "kind": "origin_pool"}


def _public_pool(dns_name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": _meta(f"{PET}-origin"),
        "spec": {
            "origin_servers": [
                {"public_name": {"dns_name": dns_name, "refresh_interval": 300}, "labels": {}}
            ],
            **spec,
        },
    }


def _https_lb(domain: str, cert: str, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": _meta(f"{PET}-lb"),
        "spec": {
            "domains": [f"{PET}.{domain}"],
            "https": {
                "http_redirect": True,
                "add_hsts": True,
                "port": 443,
                "tls_cert_params": {
                    "tls_config": {"default_security": {}},
                    "certificates": [{"namespace": "shared", "name": cert, "kind": "certificate"}],
                    "no_mtls": {},
                },
            },
            "default_route_pools": [{"pool": POOL_REF, "weight": 1, "priority": 1}],
            **extra,
        },
    }


APPEDGE_POOL = {
    "metadata": _meta(f"{PET}-origin"),
    "spec": {
        "origin_servers": [
            {"public_name": {"dns_name": "appedge.one", "refresh_interval": 300}, "labels": {}},
        ],
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
    },
}


@pytest.mark.parametrize("module", [example, waaplab])
@pytest.mark.parametrize(("config", "suffix"), [(PROD, ""), (DEV, "-dev")])
def test_example_and_waaplab_render_tls_pool_and_https_lb(module, config, suffix):
    assert _bodies(module.DEFINITION, config) == [
        ("origin_pools", APPEDGE_POOL),
        ("http_loadbalancers", _https_lb(f"lab-sec{suffix}.f5demos.com", f"lab-sec-wildcard{suffix}")),
    ]


@pytest.mark.parametrize(("config", "suffix"), [(PROD, ""), (DEV, "-dev")])
def test_apilab_renders_bank_pool_and_https_lb_with_malicious_user_detection(config, suffix):
    assert _bodies(apilab.DEFINITION, config) == [
        (
            "origin_pools",
            _public_pool(
                "bankapi.lab-sec.f5demos.com",
                port=80,
                same_as_endpoint_port={},
                healthcheck=[],
                loadbalancer_algorithm="LB_OVERRIDE",
                endpoint_selection="LOCAL_PREFERRED",
            ),
        ),
        (
            "http_loadbalancers",
            _https_lb(
                f"lab-sec{suffix}.f5demos.com",
                f"lab-sec-wildcard{suffix}",
                enable_malicious_user_detection={},
            ),
        ),
    ]


@pytest.mark.parametrize(("config", "suffix"), [(PROD, ""), (DEV, "-dev")])
def test_botlab_renders_plain_pool_and_http_lb(config, suffix):
    assert _bodies(botlab.DEFINITION, config) == [
        ("origin_pools", _public_pool("airline-backend.f5se.com", port=80)),
        (
            "http_loadbalancers",
            {
                "metadata": _meta(f"{PET}-lb"),
                "spec": {
                    "domains": [f"{PET}.lab-sec{suffix}.f5demos.com"],
                    "http": {"port": 80},
                    "default_route_pools": [{"pool": POOL_REF, "weight": 1, "priority": 1}],
                },
            },
        ),
    ]


@pytest.mark.parametrize("config", [PROD, DEV])
def test_caaslab_renders_k8s_pool_and_tls_tcp_lb_same_in_both_envs(config):
    site = {"namespace": "shared", "name": "appworld2025-k8s-vsite", "kind": "virtual_site"}
    assert _bodies(caaslab.DEFINITION, config) == [
        (
            "origin_pools",
            {
                "metadata": _meta(f"{PET}-mosquitto"),
                "spec": {
                    "origin_servers": [
                        {
                            "k8s_service": {
                                "service_name": f"mosquitto.{PET}",
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
            },
        ),
        (
            "tcp_loadbalancers",
            {
                "metadata": _meta(f"{PET}-mqtt"),
                "spec": {
                    "domains": [
                        f"{PET}.useast.lab-app.f5demos.com",
                        f"{PET}.uswest.lab-app.f5demos.com",
                        f"{PET}.europe.lab-app.f5demos.com",
                    ],
                    "listen_port": 8883,
                    "sni": {},
                    "dns_volterra_managed": False,
                    "origin_pools_weights": [
                        {
                            "pool": {"namespace": PET, "name": f"{PET}-mosquitto", "kind": "origin_pool"},
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
                            "certificates": [
                                {
                                    "namespace": "shared",
                                    "name": "caas-lab-certificate",
                                    "kind": "certificate",
                                },
                            ],
                            "no_mtls": {},
                        }
                    },
                    "service_policies_from_namespace": {},
                },
            },
        ),
    ]


@pytest.mark.parametrize("name", sorted(LABS))
@pytest.mark.parametrize("config", [PROD, DEV])
def test_no_lab_writes_a_tenant_id(name, config):
    for _, body in _bodies(LABS[name].DEFINITION, config):
        assert "tenant" not in _keys(body)
        assert "lpuwkdtb" not in repr(body) and "jqguisgi" not in repr(body)


@pytest.mark.parametrize("name", sorted(LABS))
def test_every_lab_lb_depends_on_its_pool(name):
    plan = render(LABS[name].DEFINITION, LABS[name].DEFINITION.context(PET, PROD))
    assert [p.depends_on for p in plan] == [(), (0,)]


def test_overrides_replace_domain_and_certificate_verbatim():
    config = HelperConfig(env="dev", domain="lab-mcn-dev.f5demos.com", cert_name="lab-mcn-wildcard-dev")
    (_, _), (_, lb) = _bodies(example.DEFINITION, config)
    assert lb["spec"]["domains"] == [f"{PET}.lab-mcn-dev.f5demos.com"]
    assert lb["spec"]["https"]["tls_cert_params"]["certificates"][0]["name"] == "lab-mcn-wildcard-dev"
    (_, _), (_, tcp) = _bodies(caaslab.DEFINITION, HelperConfig(env="prod", domain="x.example"))
    assert tcp["spec"]["domains"][0] == f"{PET}.useast.x.example"


def test_every_lab_zip_in_deployables_maps_to_a_lab_handler():
    # GIVEN the manifest's lab entries
    manifest = tomllib.loads((ROOT / "deployables.toml").read_text())["deployable"]
    labs = {d["name"]: d for d in manifest if d["package"] == "udf_helpers"}
    # THEN each is "<lab>-pre" -> udf_helpers.labs.<lab>, whose module-level lambda_handler is callable
    assert sorted(labs) == sorted(f"{name}-pre" for name in LABS)
    for zip_name, entry in labs.items():
        module = importlib.import_module(entry["module"])
        assert entry["module"] == f"udf_helpers.labs.{zip_name.removesuffix('-pre')}"
        assert module.DEFINITION.name == zip_name.removesuffix("-pre")
        assert callable(module.lambda_handler)
