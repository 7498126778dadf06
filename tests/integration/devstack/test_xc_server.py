"""The XC emulator over real HTTP on loopback: every quirk of docs/xc-api.md §9 and item of §11."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3

from devstack.pki import certificate_body, self_signed
from devstack.xc import DROP, Faults, InProcessXC, XCServer, XCState
from tests.fixtures.xc import (
    XC_AUTH_HEADER,
    XC_EMAIL,
    XC_TENANT,
    XC_TOKEN,
    FakeClock,
    XCHttp,
    lb_body,
    namespace_body,
    pool_body,
    user_body,
)

pytestmark = pytest.mark.integration

WHOAMI = "/api/web/custom/namespaces/system/whoami"
NAMESPACES = "/api/web/namespaces"
USER_ROLES = "/api/web/custom/namespaces/system/user_roles"
USERS_CASCADE_DELETE = "/api/web/custom/namespaces/system/users/cascade_delete"
API_CREDS = "/api/web/namespaces/system/api_credentials"
SERVICE_CREDS = "/api/web/namespaces/system/service_credentials"
REPO_ROOT = Path(__file__).resolve().parents[3]


def _create_ns(http: XCHttp, name: str) -> requests.Response:
    body = {
        "metadata": {
            "name": name,
            "namespace": "",
            "description": "",
            "labels": {},
            "annotations": {},
            "disable": False,
        },
        "spec": {},
    }
    return http.post(NAMESPACES, json=body)


def _pool(name: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "metadata": metadata,
        "spec": {"origin_servers": [{"public_name": {"dns_name": "appedge.one"}}], "port": 443, "no_tls": {}},
    }


@pytest.fixture
def clocked(xc_clocked_server: XCServer) -> Iterator[XCHttp]:
    """A client for an emulator whose delays, latency and rate limit run on the fake `clock` (a test moves
    time with `clock.advance`, so no answer depends on how busy the machine is)."""
    http = XCHttp(xc_clocked_server)
    try:
        yield http
    finally:
        http.close()


def _assert_xc_error(response: requests.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "details", "message"}
    assert body["code"] == code
    assert body["details"] == []
    return body


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {XC_TOKEN}"},
        {"Authorization": "APIToken wrong"},
        {"Authorization": "APIToken "},
        {"Authorization": f"apitoken {XC_TOKEN}"},
    ],
    ids=["missing", "bearer", "unknown-token", "empty-token", "wrong-case-scheme"],
)
def test_api_call_without_valid_apitoken_returns_401_code_16(
    xc_server: XCServer, headers: dict[str, str]
) -> None:
    # GIVEN a running emulator that accepts only XC_TOKEN
    # WHEN an /api route is called without the exact "APIToken <token>" header
    response = requests.get(
        xc_server.url + "/api/config/namespaces/shared/certificates", headers=headers, timeout=5
    )
    # THEN 401 with the XC error body, and the call is logged without the header
    _assert_xc_error(response, 401, 16)
    entry = xc_server.requests()[-1]
    assert entry.status == 401
    assert XC_TOKEN not in repr(entry)


def test_whoami_valid_token_returns_user_detail(xc_http: XCHttp) -> None:
    # GIVEN the fixture token
    # WHEN whoami is called as the original client does on construction
    response = xc_http.get(WHOAMI)
    # THEN 200 with the user detail
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == XC_EMAIL
    assert body["tenant"] == XC_TENANT
    for key in ("name", "namespace_roles", "idm_type", "type", "state", "plan_type"):
        assert key in body


def test_whoami_non_system_namespace_returns_400(xc_http: XCHttp) -> None:
    # GIVEN namespace-slug enforcement on custom endpoints
    # WHEN whoami is called under a lab namespace
    response = xc_http.get("/api/web/custom/namespaces/pet-one/whoami")
    # THEN 400
    _assert_xc_error(response, 400, 3)


def test_credential_token_created_over_http_authenticates_until_revoked(xc_http: XCHttp) -> None:
    # GIVEN a credential created over HTTP
    created = xc_http.post(
        API_CREDS,
        json={"name": "lab", "namespace": "system", "expiration_days": 7, "spec": {"type": "API_TOKEN"}},
    ).json()
    headers = {"Authorization": f"APIToken {created['data']}"}
    # WHEN its data is used as a token, then it is revoked
    first = requests.get(xc_http.url(WHOAMI), headers=headers, timeout=5)
    revoked = xc_http.post(
        "/api/web/namespaces/system/revoke/api_credentials",
        json={"name": created["name"], "namespace": "system"},
    )
    second = requests.get(xc_http.url(WHOAMI), headers=headers, timeout=5)
    # THEN it works before and gets 401 after
    assert first.status_code == 200
    assert revoked.json() == {"status": True}
    _assert_xc_error(second, 401, 16)


def test_seeded_expired_credential_token_returns_401(xc_server: XCServer) -> None:
    # GIVEN a credential seeded with a token that expired a minute ago
    xc_server.state.seed_credential("api_credentials", "old-abc1234", "old-token", time.time() - 60)
    # WHEN the token is used
    response = requests.get(
        xc_server.url + WHOAMI, headers={"Authorization": "APIToken old-token"}, timeout=5
    )
    # THEN 401
    body = _assert_xc_error(response, 401, 16)
    assert "expired" in body["message"]


# --------------------------------------------------------------------------- namespaces


def test_namespace_create_get_list_roundtrip_returns_envelopes(xc_http: XCHttp) -> None:
    # GIVEN a fresh tenant
    # WHEN a namespace is created, read and listed
    created = _create_ns(xc_http, "pet-one")
    got = xc_http.get(f"{NAMESPACES}/pet-one")
    listed = xc_http.get(NAMESPACES)
    # THEN all are 200 JSON with the documented shapes
    assert created.status_code == 200
    assert created.json()["system_metadata"]["uid"] == got.json()["system_metadata"]["uid"]
    assert got.json()["referring_objects"] == []
    body = listed.json()
    assert body["errors"] == []
    assert {"system", "shared", "default", "pet-one"} <= {i["name"] for i in body["items"]}


def test_namespace_labels_round_trip_over_http(xc_http: XCHttp) -> None:
    # GIVEN a namespace created with the workers' owner label (docs/xc-api.md §7.1)
    owner = {"tops-dep-id": "dep-7f3a"}
    created = xc_http.post(NAMESPACES, json=namespace_body("pet-one", labels=owner, description="lab"))
    # WHEN it is read and listed
    got = xc_http.get(f"{NAMESPACES}/pet-one").json()
    item = next(i for i in xc_http.get(NAMESPACES).json()["items"] if i["name"] == "pet-one")
    # THEN the labels come back as sent, in the create answer, GET and the list summary
    assert created.json()["metadata"]["labels"] == owner
    assert got["metadata"]["labels"] == owner and got["metadata"]["description"] == "lab"
    assert item["labels"] == owner
    # AND labels that are not a string map are a 400 naming the field
    bad = xc_http.post(NAMESPACES, json=namespace_body("pet-two", labels={"tops-dep-id": 1}))
    assert "metadata.labels" in _assert_xc_error(bad, 400, 3)["message"]


def test_namespace_create_duplicate_returns_409_code_6(xc_http: XCHttp) -> None:
    # GIVEN an existing namespace
    _create_ns(xc_http, "pet-one")
    # WHEN it is created again
    response = _create_ns(xc_http, "pet-one")
    # THEN 409/6 "already exists"
    assert "already exists" in _assert_xc_error(response, 409, 6)["message"]


def test_namespace_create_invalid_name_returns_400_naming_field(xc_http: XCHttp) -> None:
    # GIVEN an invalid name
    # WHEN it is created
    response = _create_ns(xc_http, "Pet_One")
    # THEN 400/3 naming metadata.name
    assert "metadata.name" in _assert_xc_error(response, 400, 3)["message"]


def test_namespace_cascade_delete_with_stray_name_colon_body_deletes_path_namespace(xc_http: XCHttp) -> None:
    # GIVEN a namespace holding a pool and an LB, and another namespace
    _create_ns(xc_http, "pet-one")
    _create_ns(xc_http, "pet-two")
    xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin"))
    xc_http.post(
        "/api/config/namespaces/pet-one/http_loadbalancers",
        json={"metadata": {"name": "pet-lb"}, "spec": {"domains": ["x"]}},
    )
    # WHEN cascade_delete is sent with the original client's body {"name:": ...} naming the other namespace
    response = xc_http.post(f"{NAMESPACES}/pet-one/cascade_delete", json={"name:": "pet-two"})
    # THEN the path's namespace and its objects are deleted and listed; the other survives
    assert response.status_code == 200
    items = response.json()["items"]
    assert {(i["object_name"], i["object_type"]) for i in items} == {
        ("pet-origin", "origin_pool"),
        ("pet-lb", "http_loadbalancer"),
        ("pet-one", "namespace"),
    }
    assert all(set(i) == {"object_name", "object_type", "object_uid", "error_message"} for i in items)
    _assert_xc_error(xc_http.get(f"{NAMESPACES}/pet-one"), 404, 5)
    assert xc_http.get(f"{NAMESPACES}/pet-two").status_code == 200


def test_namespace_cascade_delete_missing_returns_404_code_5(xc_http: XCHttp) -> None:
    # GIVEN no such namespace
    # WHEN it is cascade-deleted
    response = xc_http.post(f"{NAMESPACES}/ghost/cascade_delete", json={"name": "ghost"})
    # THEN 404/5
    _assert_xc_error(response, 404, 5)


def test_namespace_cascade_delete_builtin_returns_400(xc_http: XCHttp) -> None:
    # GIVEN the built-in shared namespace
    # WHEN it is cascade-deleted
    response = xc_http.post(f"{NAMESPACES}/shared/cascade_delete")
    # THEN 400 and it stays
    _assert_xc_error(response, 400, 3)
    assert xc_http.get(f"{NAMESPACES}/shared").status_code == 200


def test_namespace_visibility_delay_get_404_then_200(clocked: XCHttp, clock: FakeClock) -> None:
    # GIVEN a 300 ms visibility delay
    clocked.server.state.configure(namespace_visibility_delay_ms=300)
    # WHEN a namespace is created and read at once, then after the delay
    assert _create_ns(clocked, "pet-one").status_code == 200
    early = clocked.get(f"{NAMESPACES}/pet-one")
    early_list = clocked.get(NAMESPACES).json()["items"]
    clock.advance(0.3)
    late = clocked.get(f"{NAMESPACES}/pet-one")
    # THEN 404 first (absent from the list too), 200 later
    _assert_xc_error(early, 404, 5)
    assert "pet-one" not in {i["name"] for i in early_list}
    assert late.status_code == 200


def test_namespace_cascade_delete_delay_blocks_request(clocked: XCHttp, clock: FakeClock) -> None:
    # GIVEN a 400 ms cascade_delete duration, on a clock that holds the delete until the test lets go
    clocked.server.state.configure(cascade_delete_delay_ms=400)
    _create_ns(clocked, "pet-one")
    url = clocked.url(f"{NAMESPACES}/pet-one/cascade_delete")
    answers: list[requests.Response] = []

    def delete() -> None:
        answers.append(requests.post(url, json={"name:": "pet-one"}, headers=XC_AUTH_HEADER, timeout=60))

    clock.hold()
    thread = threading.Thread(target=delete)
    thread.start()
    assert clock.holding.wait(30)
    # WHEN other calls arrive while the delete blocks
    during = (clocked.get(WHOAMI).status_code, clocked.get(f"{NAMESPACES}/pet-one").json())
    pending = list(answers)
    clock.release()
    thread.join(60)
    after = clocked.get(f"{NAMESPACES}/pet-one")
    # THEN they were answered while the delete had not, which then blocked its 400 ms, and it is gone
    assert pending == []
    assert during[0] == 200 and during[1]["system_metadata"]["deletion_timestamp"] is not None
    assert [a.status_code for a in answers] == [200] and clock.slept == [0.4]
    _assert_xc_error(after, 404, 5)


def test_namespace_create_within_reuse_block_returns_409_code_10(clocked: XCHttp, clock: FakeClock) -> None:
    # GIVEN a name unusable for 300 ms after cascade_delete
    clocked.server.state.configure(namespace_reuse_block_ms=300)
    _create_ns(clocked, "pet-one")
    clocked.post(f"{NAMESPACES}/pet-one/cascade_delete", json={})
    # WHEN the name is re-created at once and after the block
    early = _create_ns(clocked, "pet-one")
    clock.advance(0.3)
    late = _create_ns(clocked, "pet-one")
    # THEN 409/10 "being deleted" first, 200 later
    assert "being deleted" in _assert_xc_error(early, 409, 10)["message"]
    assert late.status_code == 200


# --------------------------------------------------------------------------- config objects


def test_pool_create_without_metadata_namespace_binds_path_namespace(xc_http: XCHttp) -> None:
    # GIVEN the caaslab pool body, which omits metadata.namespace
    _create_ns(xc_http, "pet-one")
    body = {
        "metadata": {"name": "pet-mosquitto"},
        "spec": {
            "origin_servers": [
                {
                    "k8s_service": {
                        "service_name": "mosquitto.pet-one",
                        "site_locator": {
                            "virtual_site": {
                                "namespace": "shared",
                                "name": "appworld2025-k8s-vsite",
                                "kind": "virtual_site",
                            }
                        },
                        "vk8s_networks": {},
                    }
                }
            ],
            "port": 1883,
            "no_tls": {},
            "endpoint_selection": "LOCAL_ONLY",
        },
    }
    # WHEN it is created and read
    created = xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=body)
    got = xc_http.get("/api/config/namespaces/pet-one/origin_pools/pet-mosquitto")
    # THEN the namespace came from the path and the spec is kept
    assert created.status_code == 200
    assert got.json()["metadata"]["namespace"] == "pet-one"
    assert got.json()["spec"] == body["spec"]


def test_object_create_mismatched_metadata_namespace_returns_400(xc_http: XCHttp) -> None:
    # GIVEN a pool body naming another namespace than the path
    _create_ns(xc_http, "pet-one")
    # WHEN it is created
    response = xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("p", "shared"))
    # THEN 400 naming metadata.namespace
    assert "metadata.namespace" in _assert_xc_error(response, 400, 3)["message"]


def test_object_create_in_missing_namespace_returns_404(xc_http: XCHttp) -> None:
    # GIVEN no namespace ghost
    # WHEN a pool is created in it
    response = xc_http.post("/api/config/namespaces/ghost/origin_pools", json=_pool("p"))
    # THEN 404/5
    _assert_xc_error(response, 404, 5)


def test_lb_refs_with_kind_and_hardcoded_tenant_accepted(xc_http: XCHttp) -> None:
    # GIVEN the example/waaplab LB with kind and a hard-coded sec-tenant id in its refs
    _create_ns(xc_http, "pet-one")
    xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin", "pet-one"))
    lb = {
        "metadata": {"name": "pet-lb", "namespace": "pet-one"},
        "spec": {
            "domains": ["pet-one.lab-sec.f5demos.com"],
            "https": {
                "http_redirect": True,
                "add_hsts": True,
                "port": 443,
                "tls_cert_params": {
                    "tls_config": {"default_security": {}},
                    "certificates": [
                        {
                            "namespace": "shared",
                            "name": "lab-sec-wildcard",
                            "kind": "certificate",
                            "tenant": "f5-xc-lab-sec-lpuwkdtb",
                        }
                    ],
                    "no_mtls": {},
                },
            },
            "default_route_pools": [
                {
                    "pool": {
                        "namespace": "pet-one",
                        "name": "pet-origin",
                        "kind": "origin_pool",
                        "tenant": "f5-xc-lab-sec-lpuwkdtb",
                    },
                    "weight": 1,
                    "priority": 1,
                }
            ],
        },
    }
    # WHEN it is created
    response = xc_http.post("/api/config/namespaces/pet-one/http_loadbalancers", json=lb)
    # THEN it is accepted and kind and tenant are kept
    assert response.status_code == 200
    assert response.json()["spec"]["default_route_pools"][0]["pool"]["tenant"] == "f5-xc-lab-sec-lpuwkdtb"


def test_lb_ref_tenant_check_and_ref_validation_switches_return_400(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN the tenant check and ref validation switched on through the admin API
    assert (
        xc_http.admin("POST", "config", json={"check_ref_tenant": True, "validate_refs": True}).status_code
        == 200
    )
    _create_ns(xc_http, "pet-one")
    foreign = {
        "metadata": {"name": "a"},
        "spec": {
            "default_route_pools": [
                {"pool": {"namespace": "pet-one", "name": "pet-origin", "tenant": "other-tenant"}}
            ]
        },
    }
    missing = {
        "metadata": {"name": "b"},
        "spec": {
            "default_route_pools": [
                {"pool": {"namespace": "pet-one", "name": "pet-origin", "kind": "origin_pool"}}
            ]
        },
    }
    # WHEN LBs with a foreign-tenant ref and a ref to a missing pool are created
    r1 = xc_http.post("/api/config/namespaces/pet-one/http_loadbalancers", json=foreign)
    r2 = xc_http.post("/api/config/namespaces/pet-one/http_loadbalancers", json=missing)
    # THEN both are 400 naming the ref
    assert "spec.default_route_pools[0].pool.tenant" in _assert_xc_error(r1, 400, 3)["message"]
    assert "spec.default_route_pools[0].pool" in _assert_xc_error(r2, 400, 3)["message"]


def test_tcp_lb_unknown_field_origin_pools_is_ignored_and_stored(xc_http: XCHttp) -> None:
    # GIVEN the caaslab TCP LB with the schema-less origin_pools: []
    _create_ns(xc_http, "pet-one")
    body = {
        "metadata": {"name": "pet-mqtt"},
        "spec": {
            "domains": ["pet.useast.lab-app.f5demos.com"],
            "listen_port": 8883,
            "sni": {},
            "origin_pools_weights": [{"pool": {"namespace": "pet-one", "name": "pet-mosquitto"}}],
            "origin_pools": [],
            "service_policies_from_namespace": {},
        },
    }
    # WHEN it is created and read
    created = xc_http.post("/api/config/namespaces/pet-one/tcp_loadbalancers", json=body)
    got = xc_http.get("/api/config/namespaces/pet-one/tcp_loadbalancers/pet-mqtt")
    # THEN 200 and the field is stored as given
    assert created.status_code == 200
    assert got.json()["spec"]["origin_pools"] == []


@pytest.mark.parametrize(
    "delete_kwargs",
    [{}, {"json": {"name": "pet-origin", "namespace": "pet-one", "fail_if_referred": True}}],
    ids=["no-body", "spec-body"],
)
def test_object_delete_with_or_without_body_returns_empty_json(
    xc_http: XCHttp, delete_kwargs: dict[str, Any]
) -> None:
    # GIVEN a pool
    _create_ns(xc_http, "pet-one")
    xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin"))
    # WHEN it is deleted with or without the {name, namespace, fail_if_referred} body
    response = xc_http.delete("/api/config/namespaces/pet-one/origin_pools/pet-origin", **delete_kwargs)
    # THEN 200 with the JSON body {} (never empty) and a second delete is 404
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text.strip() == "{}"
    _assert_xc_error(xc_http.delete("/api/config/namespaces/pet-one/origin_pools/pet-origin"), 404, 5)


def test_object_duplicate_create_returns_409_and_missing_get_put_return_404(xc_http: XCHttp) -> None:
    # GIVEN a pool
    _create_ns(xc_http, "pet-one")
    xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin"))
    # WHEN it is created twice, and a missing pool is read and replaced
    duplicate = xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin"))
    missing_get = xc_http.get("/api/config/namespaces/pet-one/origin_pools/nope")
    missing_put = xc_http.put("/api/config/namespaces/pet-one/origin_pools/nope", json=_pool("nope"))
    # THEN 409/6 "Object already exists" and 404/5
    assert _assert_xc_error(duplicate, 409, 6)["message"] == "Object already exists"
    _assert_xc_error(missing_get, 404, 5)
    _assert_xc_error(missing_put, 404, 5)


def test_object_replace_keeps_uid_and_replaces_spec(xc_http: XCHttp) -> None:
    # GIVEN a pool
    _create_ns(xc_http, "pet-one")
    created = xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin")).json()
    # WHEN it is replaced with port 80 and no TLS block
    body = _pool("pet-origin", "pet-one")
    body["spec"] = {"origin_servers": body["spec"]["origin_servers"], "port": 80}
    replaced = xc_http.put("/api/config/namespaces/pet-one/origin_pools/pet-origin", json=body)
    got = xc_http.get("/api/config/namespaces/pet-one/origin_pools/pet-origin").json()
    # THEN the uid stays and the spec is exactly the new one
    assert replaced.status_code == 200
    assert got["system_metadata"]["uid"] == created["system_metadata"]["uid"]
    assert got["spec"] == body["spec"]


def test_pool_invisible_after_create_get_404_then_visible(clocked: XCHttp, clock: FakeClock) -> None:
    # GIVEN pools invisible for 300 ms (set through the admin API)
    clocked.admin("POST", "config", json={"object_visibility_delay_ms_by_plural": {"origin_pools": 300}})
    _create_ns(clocked, "pet-one")
    # WHEN a pool is created and polled like the lab helpers do
    assert (
        clocked.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin")).status_code
        == 200
    )
    early = clocked.get("/api/config/namespaces/pet-one/origin_pools/pet-origin")
    early_list = clocked.get("/api/config/namespaces/pet-one/origin_pools").json()
    clock.advance(0.3)
    late = clocked.get("/api/config/namespaces/pet-one/origin_pools/pet-origin")
    # THEN a real 404 first (and absent from the list), then 200
    _assert_xc_error(early, 404, 5)
    assert early_list == {"items": [], "errors": []}
    assert late.status_code == 200


def test_lists_always_return_items_and_errors(xc_http: XCHttp) -> None:
    # GIVEN a fresh tenant with nothing created
    # WHEN every list endpoint is called
    paths = [
        NAMESPACES,
        "/api/config/namespaces/shared/certificates",
        "/api/config/namespaces/system/origin_pools",
        USER_ROLES,
        API_CREDS,
        SERVICE_CREDS,
    ]
    bodies = [xc_http.get(path).json() for path in paths]
    # THEN each has items and an empty errors array
    for body in bodies:
        assert set(body) == {"items", "errors"}
        assert body["errors"] == []
    assert bodies[1:] == [{"items": [], "errors": []}] * 5


def test_object_list_report_fields_returns_full_fields(xc_http: XCHttp) -> None:
    # GIVEN a pool
    _create_ns(xc_http, "pet-one")
    xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin"))
    # WHEN the list is read with and without report_fields
    plain = xc_http.get("/api/config/namespaces/pet-one/origin_pools").json()["items"][0]
    full = xc_http.get("/api/config/namespaces/pet-one/origin_pools", params={"report_fields": ""}).json()[
        "items"
    ][0]
    # THEN only the report_fields variant carries get_spec and metadata
    assert "get_spec" not in plain and "metadata" not in plain
    assert full["get_spec"]["port"] == 443
    assert full["system_metadata"]["tenant"] == XC_TENANT


# --------------------------------------------------------------------------- certificates


def test_certificate_upload_then_get_returns_infos_and_redacted_key(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN a self-signed certificate encoded as cert_mgmt sends it
    cert_pem, key_pem = self_signed("lab-sec.f5demos.com", ["*.lab-sec.f5demos.com"]).pem_pair
    body = certificate_body("lab-sec-wildcard", cert_pem, key_pem)
    # WHEN it is created, listed and read
    created = xc_http.post("/api/config/namespaces/shared/certificates", json=body)
    listed = xc_http.get("/api/config/namespaces/shared/certificates").json()
    got = xc_http.get("/api/config/namespaces/shared/certificates/lab-sec-wildcard")
    # THEN the list has it by name, GET has infos, and the key is never returned
    assert created.status_code == 200
    assert [i["name"] for i in listed["items"]] == ["lab-sec-wildcard"]
    spec = got.json()["spec"]
    assert spec["infos"][0]["common_name"] == "lab-sec.f5demos.com"
    assert spec["infos"][0]["subject_alternative_names"] == ["*.lab-sec.f5demos.com"]
    key_url = body["spec"]["private_key"]["clear_secret_info"]["url"]
    assert key_url not in created.text and key_url not in got.text
    assert spec["private_key"]["clear_secret_info"]["url"] == "string:///<redacted>"
    # AND the state kept what was uploaded
    assert xc_server.state.certificate_material("shared", "lab-sec-wildcard") == (cert_pem, key_pem)


def test_certificate_raw_pem_upload_returns_400_naming_field(xc_http: XCHttp) -> None:
    # GIVEN a body with raw PEM instead of string:///base64
    cert_pem, key_pem = self_signed().pem_pair
    body = certificate_body("c", cert_pem, key_pem)
    body["spec"]["certificate_url"] = cert_pem.decode()
    # WHEN it is uploaded
    response = xc_http.post("/api/config/namespaces/shared/certificates", json=body)
    # THEN 400/3 naming spec.certificate_url
    assert "spec.certificate_url" in _assert_xc_error(response, 400, 3)["message"]


# --------------------------------------------------------------------------- credentials


def test_service_credential_create_with_legacy_type_returns_suffixed_name_and_token(xc_http: XCHttp) -> None:
    # GIVEN the original client's service credential body with the legacy type field
    body = {
        "name": "lab-svc",
        "namespace": "system",
        "type": "SERVICE_API_TOKEN",
        "namespace_roles": [{"namespace": "system", "role": "ves-io-admin-role"}],
        "expiration_days": 30,
    }
    # WHEN it is created and read back
    created = xc_http.post(SERVICE_CREDS, json=body)
    name = created.json()["name"]
    got = xc_http.get(f"{SERVICE_CREDS}/{name}").json()
    # THEN the name has the random suffix, data is a token, and GET is flat with expiry_timestamp
    assert created.status_code == 200
    assert re.fullmatch(r"lab-svc-[a-z0-9]{7}", name)
    assert created.json()["data"]
    assert got["name"] == name
    assert got["type"] == "SERVICE_API_TOKEN"
    assert got["expiry_timestamp"] == created.json()["expiration_timestamp"]
    assert got["namespace_access"]["namespace_role_map"] == {"system": {"roles": ["ves-io-admin-role"]}}


def test_service_credential_create_with_one_of_accepted(xc_http: XCHttp) -> None:
    # GIVEN the current spec's one-of instead of type
    body = {"name": "lab-svc", "namespace": "system", "api_token": {}, "expiration_days": 1}
    # WHEN it is created
    response = xc_http.post(SERVICE_CREDS, json=body)
    # THEN it is accepted
    assert response.status_code == 200
    listed = xc_http.get(SERVICE_CREDS).json()["items"]
    assert [i["type"] for i in listed] == ["SERVICE_API_TOKEN"]


def test_api_credential_create_without_password_then_get_wrapped(xc_http: XCHttp) -> None:
    # GIVEN an API_TOKEN body without spec.password
    body = {"name": "lab-token", "namespace": "system", "expiration_days": 7, "spec": {"type": "API_TOKEN"}}
    # WHEN it is created, listed and read
    created = xc_http.post(API_CREDS, json=body).json()
    listed = xc_http.get(API_CREDS).json()["items"]
    got = xc_http.get(f"{API_CREDS}/{created['name']}").json()
    # THEN list uses expiry_timestamp and GET wraps it in object.spec.gc_spec.expiration_timestamp
    assert listed[0]["name"] == created["name"]
    assert listed[0]["expiry_timestamp"] == created["expiration_timestamp"]
    assert got["object"]["spec"]["gc_spec"]["expiration_timestamp"] == created["expiration_timestamp"]
    assert created["data"] not in str(listed) + str(got)


@pytest.mark.parametrize("kind", ["api_credentials", "service_credentials"])
def test_credential_renew_sets_expiry_now_plus_days(xc_server: XCServer, xc_http: XCHttp, kind: str) -> None:
    # GIVEN a credential expiring in an hour
    xc_server.state.seed_credential(kind, "lab-abc1234", "tok", time.time() + 3600)
    # WHEN token_refresh renews it for 7 days
    before = time.time()
    response = xc_http.post(
        f"/api/web/namespaces/system/renew/{kind}",
        json={"name": "lab-abc1234", "namespace": "system", "expiration_days": 7},
    )
    # THEN {status: true} and the expiry moved to now + 7 days
    assert response.json() == {"status": True}
    expires_at = xc_server.state.credential(kind, "lab-abc1234").expires_at
    assert before + 7 * 86400 <= expires_at <= time.time() + 7 * 86400


def test_credential_renew_unknown_returns_404_and_expired_returns_400(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN an expired credential
    xc_server.state.seed_credential("api_credentials", "old-abc1234", "tok", time.time() - 1)
    # WHEN an unknown and the expired credential are renewed
    unknown = xc_http.post(
        "/api/web/namespaces/system/renew/api_credentials",
        json={"name": "ghost", "namespace": "system", "expiration_days": 7},
    )
    expired = xc_http.post(
        "/api/web/namespaces/system/renew/api_credentials",
        json={"name": "old-abc1234", "namespace": "system", "expiration_days": 7},
    )
    # THEN 404/5 and 400/3
    _assert_xc_error(unknown, 404, 5)
    _assert_xc_error(expired, 400, 3)


# --------------------------------------------------------------------------- users


def _user(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": email,
        "name": email,
        "first_name": "Lab User",
        "last_name": "dep",
        "namespace": "system",
        "idm_type": "SSO",
        "type": "USER",
        "namespace_roles": [{"namespace": "system", "role": "f5-xc-lab-monitor"}],
        "group_names": [],
        **extra,
    }


def test_user_duplicate_create_message_contains_already_exist(xc_http: XCHttp) -> None:
    # GIVEN an existing user
    assert xc_http.post(USER_ROLES, json=_user("student@example.com")).status_code == 200
    # WHEN the worker creates the same email again
    response = xc_http.post(USER_ROLES, json=_user("student@example.com"))
    # THEN 409/6 with "already exist" in the message
    assert "already exist" in _assert_xc_error(response, 409, 6)["message"]


def test_user_create_list_update_cascade_delete_flow(xc_http: XCHttp) -> None:
    # GIVEN a created user
    xc_http.post(USER_ROLES, json=_user("student@example.com", group_names=["g1"]))
    # WHEN the worker's merge PUT adds an admin role, then the user is deleted
    current = [u for u in xc_http.get(USER_ROLES).json()["items"] if u["email"] == "student@example.com"][0]
    roles = current["namespace_roles"] + [{"namespace": "pet-one", "role": "ves-io-admin-role"}]
    put = xc_http.put(
        USER_ROLES,
        json={
            "email": "student@example.com",
            "first_name": "Lab User",
            "last_name": "dep",
            "namespace": "system",
            "namespace_roles": roles,
            "group_names": current["group_names"],
        },
    )
    after_put = xc_http.get(USER_ROLES).json()["items"][0]
    deleted = xc_http.post(USERS_CASCADE_DELETE, json={"email": "student@example.com", "namespace": "system"})
    again = xc_http.post(USERS_CASCADE_DELETE, json={"email": "student@example.com", "namespace": "system"})
    # THEN the PUT replaced the role set, delete_ok came back, and a second delete is 404/5
    assert put.status_code == 200
    assert after_put["namespace_roles"] == roles
    assert after_put["group_names"] == ["g1"]
    assert deleted.json()["delete_ok"] is True
    assert deleted.json()["items"][0]["object_name"] == "student@example.com"
    assert xc_http.get(USER_ROLES).json() == {"items": [], "errors": []}
    _assert_xc_error(again, 404, 5)


def test_user_update_unknown_returns_404(xc_http: XCHttp) -> None:
    # GIVEN no users
    # WHEN one is updated
    response = xc_http.put(USER_ROLES, json=_user("ghost@example.com"))
    # THEN 404/5
    _assert_xc_error(response, 404, 5)


# --------------------------------------------------------------------------- faults, latency, rate limit


def test_fault_sequence_429_retry_after_503_504_then_real_answer(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN a sequence of faults on pool GETs
    _create_ns(xc_http, "pet-one")
    xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin"))
    xc_server.faults.add("GET", r"/origin_pools/pet-origin$", [429, 503, 504], retry_after=2)
    # WHEN the pool is read four times
    responses = [xc_http.get("/api/config/namespaces/pet-one/origin_pools/pet-origin") for _ in range(4)]
    # THEN the faults come in order with XC bodies and Retry-After, then the real object
    _assert_xc_error(responses[0], 429, 8)
    assert responses[0].headers["Retry-After"] == "2"
    _assert_xc_error(responses[1], 503, 14)
    _assert_xc_error(responses[2], 504, 4)
    assert responses[3].status_code == 200
    assert [e.fault for e in xc_server.requests()[-4:]] == ["injected", "injected", "injected", None]
    assert xc_server.faults.pending() == []


def test_fault_429_without_retry_after_has_no_header(xc_server: XCServer, xc_http: XCHttp) -> None:
    # GIVEN one 429 without Retry-After on any method
    xc_server.faults.add("*", "whoami", 429)
    # WHEN whoami is called twice
    first, second = xc_http.get(WHOAMI), xc_http.get(WHOAMI)
    # THEN the first is 429 without the header, the second is real
    _assert_xc_error(first, 429, 8)
    assert "Retry-After" not in first.headers
    assert second.status_code == 200


def test_fault_count_repeats_status_and_only_matches_method(xc_server: XCServer, xc_http: XCHttp) -> None:
    # GIVEN three 500s on POST to namespaces
    xc_server.faults.add("POST", r"^/api/web/namespaces$", 500, count=3)
    # WHEN GET and POST are interleaved
    listed = xc_http.get(NAMESPACES)
    posts = [_create_ns(xc_http, "pet-one").status_code for _ in range(4)]
    # THEN GET is untouched and the POSTs get three 500s then success
    assert listed.status_code == 200
    assert posts == [500, 500, 500, 200]


@pytest.mark.parametrize(("status", "code"), [(401, 16), (403, 7), (400, 3), (500, 13)])
def test_fault_status_returns_table_code(
    xc_server: XCServer, xc_http: XCHttp, status: int, code: int
) -> None:
    # GIVEN a fault with the status
    xc_server.faults.add("GET", "whoami", status)
    # WHEN whoami is called
    # THEN the XC body has the table's code
    _assert_xc_error(xc_http.get(WHOAMI), status, code)


def test_fault_after_handler_applies_state_change_but_answers_500(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN a 500 that is answered after the create happened ("state unknown")
    xc_server.faults.add("POST", r"^/api/web/namespaces$", 500, after=True)
    # WHEN a namespace is created, then created again
    first = _create_ns(xc_http, "pet-one")
    second = _create_ns(xc_http, "pet-one")
    # THEN the client saw 500, yet the namespace exists (so the retry is a 409)
    _assert_xc_error(first, 500, 13)
    _assert_xc_error(second, 409, 6)


def test_fault_custom_text_body_is_returned_raw(xc_server: XCServer, xc_http: XCHttp) -> None:
    # GIVEN a gateway-style 401 with a plain-text body
    xc_server.faults.add("GET", "whoami", 401, body="upstream connect error")
    # WHEN whoami is called
    response = xc_http.get(WHOAMI)
    # THEN the raw text comes back
    assert response.status_code == 401
    assert response.text == "upstream connect error"


def test_fault_drop_closes_connection_without_answer(xc_server: XCServer, xc_http: XCHttp) -> None:
    # GIVEN a connection drop on the next whoami
    xc_server.faults.add("GET", "whoami", DROP)
    # WHEN whoami is called twice
    with pytest.raises(requests.ConnectionError):
        requests.get(xc_http.url(WHOAMI), headers=XC_AUTH_HEADER, timeout=5)
    second = requests.get(xc_http.url(WHOAMI), headers=XC_AUTH_HEADER, timeout=5)
    # THEN the first fails at transport level and is logged as dropped; the second works
    assert second.status_code == 200
    dropped = [e for e in xc_server.requests() if e.fault == "dropped"]
    assert len(dropped) == 1 and dropped[0].status == 0


def test_latency_each_call_takes_at_least_configured_time(xc_server: XCServer, xc_http: XCHttp) -> None:
    # GIVEN 150 ms latency
    xc_server.faults.latency_ms = 150
    # WHEN a call is made
    started = time.monotonic()
    response = xc_http.get(WHOAMI)
    elapsed = time.monotonic() - started
    # THEN it took at least 150 ms and still succeeded
    assert response.status_code == 200
    assert elapsed >= 0.15


class _ManualMonotonic:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_over_limit_returns_429_with_retry_after_until_slot_frees() -> None:
    # GIVEN at most 3 calls per 10 s on a hand-driven clock
    clock = _ManualMonotonic()
    faults = Faults(monotonic=clock)
    faults.set_rate_limit(3, 10.0)
    with XCServer(token=XC_TOKEN, faults=faults) as server:
        url = server.url + WHOAMI
        # WHEN 4 calls come at t=0, 0, 2.5, 2.5 and more after time passes
        statuses = [requests.get(url, headers=XC_AUTH_HEADER, timeout=5).status_code for _ in range(2)]
        clock.now += 2.5
        statuses.append(requests.get(url, headers=XC_AUTH_HEADER, timeout=5).status_code)
        limited = requests.get(url, headers=XC_AUTH_HEADER, timeout=5)
        clock.now += 5.0  # t=7.5: the oldest slot frees at t=10
        still_limited = requests.get(url, headers=XC_AUTH_HEADER, timeout=5)
        clock.now += 2.5  # t=10
        freed = requests.get(url, headers=XC_AUTH_HEADER, timeout=5)
        log = server.requests()
    # THEN three pass, the 4th is 429 with Retry-After = ceil(seconds until a slot frees)
    assert statuses == [200, 200, 200]
    _assert_xc_error(limited, 429, 8)
    assert limited.headers["Retry-After"] == "8"
    assert still_limited.headers["Retry-After"] == "3"
    assert freed.status_code == 200
    assert [e.fault for e in log].count("rate_limited") == 2


def test_rate_limiter_burst_set_over_admin_api_limits_and_recovers(clocked: XCHttp, clock: FakeClock) -> None:
    # GIVEN 5 calls per 0.5 s set through the admin API
    clocked.admin("POST", "config", json={"rate_limit": {"calls": 5, "window_s": 0.5}})
    # WHEN 8 calls burst, then the window passes
    burst = [clocked.get(WHOAMI) for _ in range(8)]
    clock.advance(0.5)
    after = clocked.get(WHOAMI)
    # THEN 5 pass, 3 get 429 with Retry-After 1, and calls pass again later
    assert [r.status_code for r in burst] == [200] * 5 + [429] * 3
    assert all(r.headers["Retry-After"] == "1" for r in burst[5:])
    assert after.status_code == 200


# --------------------------------------------------------------------------- request log and admin API


def test_request_log_records_method_path_query_body_status_without_auth(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN an empty log
    xc_server.faults.clear_requests()
    # WHEN calls are made
    _create_ns(xc_http, "pet-one")
    xc_http.get("/api/config/namespaces/pet-one/origin_pools", params={"report_fields": "x"})
    xc_http.get(f"{NAMESPACES}/ghost")
    # THEN each is logged in order with its method, path, query, JSON body and status
    log = xc_server.requests()
    assert [(e.method, e.path, e.status) for e in log] == [
        ("POST", NAMESPACES, 200),
        ("GET", "/api/config/namespaces/pet-one/origin_pools", 200),
        ("GET", f"{NAMESPACES}/ghost", 404),
    ]
    assert log[0].body["metadata"]["name"] == "pet-one"
    assert log[1].query == {"report_fields": "x"}
    assert log[1].body is None
    assert log[0].timestamp <= log[1].timestamp <= log[2].timestamp
    assert all(XC_TOKEN not in repr(e) for e in log)


def test_admin_requests_endpoint_lists_and_clears_log(xc_http: XCHttp) -> None:
    # GIVEN one logged call
    xc_http.get(WHOAMI)
    # WHEN the log is read and cleared through the admin API (which is not logged itself)
    listed = xc_http.admin("GET", "requests").json()["items"]
    cleared = xc_http.admin("DELETE", "requests")
    after = xc_http.admin("GET", "requests").json()["items"]
    # THEN the call was there with its fields, and the log is empty afterwards
    assert [(e["method"], e["path"], e["status"]) for e in listed] == [("GET", WHOAMI, 200)]
    assert {"query", "body", "timestamp", "fault", "duration_ms"} <= set(listed[0])
    assert cleared.json() == {}
    assert after == []


def test_admin_faults_endpoint_adds_lists_and_clears_faults(xc_http: XCHttp) -> None:
    # GIVEN faults added over HTTP, one of them cleared again
    added = xc_http.admin(
        "POST", "faults", json={"method": "GET", "path": "whoami", "status": [503, 429], "retry_after": 1}
    )
    pending = xc_http.admin("GET", "faults").json()["items"]
    # WHEN whoami is called three times
    statuses = [xc_http.get(WHOAMI).status_code for _ in range(3)]
    xc_http.admin("POST", "faults", json={"faults": [{"path": "namespaces", "status": "drop"}]})
    xc_http.admin("DELETE", "faults")
    # THEN the faults applied in order, and clearing removed the drop fault
    assert added.status_code == 200
    assert pending[0]["remaining"] == [503, 429]
    assert statuses == [503, 429, 200]
    assert xc_http.get(NAMESPACES).status_code == 200
    assert xc_http.admin("GET", "faults").json() == {"items": []}


def test_admin_faults_endpoint_bad_status_returns_400(xc_http: XCHttp) -> None:
    # GIVEN a fault with a success status, which is not a fault
    # WHEN it is posted
    response = xc_http.admin("POST", "faults", json={"path": "x", "status": 200})
    # THEN 400
    _assert_xc_error(response, 400, 3)


def test_admin_config_endpoint_sets_and_reports_values(xc_server: XCServer, xc_http: XCHttp) -> None:
    # GIVEN default config
    # WHEN switches, delays, latency and a rate limit are set over HTTP
    response = xc_http.admin(
        "POST",
        "config",
        json={
            "validate_refs": True,
            "cascade_delete_delay_ms": 5,
            "latency_ms": 1,
            "rate_limit": {"calls": 100, "window_s": 1},
        },
    )
    got = xc_http.admin("GET", "config").json()
    # THEN the model and faults carry them and GET reports them
    assert response.status_code == 200
    assert xc_server.state.config.validate_refs is True
    assert xc_server.faults.latency_ms == 1
    assert got["rate_limit"] == {"calls": 100, "window_s": 1.0}
    assert got["cascade_delete_delay_ms"] == 5
    # AND turning the rate limit off works
    xc_http.admin("POST", "config", json={"rate_limit": None})
    assert xc_server.faults.rate_limit is None


def test_admin_config_endpoint_unknown_key_returns_400_and_changes_nothing(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN a typo
    # WHEN it is posted
    response = xc_http.admin("POST", "config", json={"validate_refz": True})
    # THEN 400 naming it
    assert "validate_refz" in _assert_xc_error(response, 400, 3)["message"]


def test_admin_state_dump_lists_everything_without_tokens_or_keys(
    xc_server: XCServer, xc_http: XCHttp
) -> None:
    # GIVEN a namespace, a pool, a certificate, a user and a credential
    _create_ns(xc_http, "pet-one")
    xc_http.post("/api/config/namespaces/pet-one/origin_pools", json=_pool("pet-origin"))
    cert_pem, key_pem = self_signed().pem_pair
    body = certificate_body("c", cert_pem, key_pem)
    xc_http.post("/api/config/namespaces/shared/certificates", json=body)
    xc_http.post(USER_ROLES, json=_user("student@example.com"))
    token = xc_http.post(API_CREDS, json={"name": "t", "expiration_days": 1}).json()["data"]
    # WHEN the state is dumped
    response = xc_http.admin("GET", "state")
    dump = response.json()
    # THEN everything is there, and no token or key material is
    assert "pet-one" in {n["name"] for n in dump["namespaces"]}
    assert [o["name"] for o in dump["objects"]["pet-one"]["origin_pools"]] == ["pet-origin"]
    assert [u["email"] for u in dump["users"]] == ["student@example.com"]
    assert dump["credentials"][0]["kind"] == "api_credentials"
    assert token not in response.text
    assert XC_TOKEN not in response.text
    assert (
        body["spec"]["private_key"]["clear_secret_info"]["url"].removeprefix("string:///")
        not in response.text
    )


def test_admin_reset_tokens_and_credentials_endpoints(xc_http: XCHttp) -> None:
    # GIVEN a namespace and a pending fault
    _create_ns(xc_http, "pet-one")
    xc_http.admin("POST", "faults", json={"path": "whoami", "status": 503, "count": 5})
    # WHEN the emulator is reset, a token added and an expired credential seeded over HTTP
    assert xc_http.admin("POST", "reset").json() == {}
    xc_http.admin("POST", "tokens", json={"token": "second-token", "email": "ops@example.com"})
    xc_http.admin(
        "POST",
        "credentials",
        json={
            "kind": "api_credentials",
            "name": "old-abc1234",
            "token": "old",
            "expires_at": time.time() - 1,
        },
    )
    # THEN the namespace and fault are gone, the new token works, the expired one does not
    _assert_xc_error(xc_http.get(f"{NAMESPACES}/pet-one"), 404, 5)
    who = requests.get(xc_http.url(WHOAMI), headers={"Authorization": "APIToken second-token"}, timeout=5)
    assert who.json()["email"] == "ops@example.com"
    old = requests.get(xc_http.url(WHOAMI), headers={"Authorization": "APIToken old"}, timeout=5)
    _assert_xc_error(old, 401, 16)
    assert xc_http.admin("GET", "health").json()["status"] == "ok"


def test_admin_calls_are_not_logged_and_need_no_auth(xc_server: XCServer, xc_http: XCHttp) -> None:
    # GIVEN no /api calls yet
    # WHEN admin endpoints are called without a token
    statuses = [xc_http.admin("GET", p).status_code for p in ("state", "config", "faults", "requests")]
    # THEN they answer and the request log stays empty
    assert statuses == [200] * 4
    assert xc_server.requests() == []


# --------------------------------------------------------------------------- routing and errors


def test_unknown_route_and_wrong_method_return_xc_errors(xc_http: XCHttp) -> None:
    # GIVEN the emulator
    # WHEN an unknown path and a wrong verb are called
    unknown = xc_http.get("/api/web/nothing/here")
    wrong = xc_http.delete(NAMESPACES)
    outside = requests.get(xc_http.url("/index.html"), timeout=5)
    # THEN XC-shaped 404 and 405 bodies
    _assert_xc_error(unknown, 404, 5)
    _assert_xc_error(wrong, 405, 12)
    _assert_xc_error(outside, 404, 5)


def test_invalid_json_body_returns_400(xc_http: XCHttp) -> None:
    # GIVEN a body that is not JSON
    # WHEN it is posted
    response = xc_http.post(NAMESPACES, data=b"{not json", headers={"Content-Type": "application/json"})
    # THEN 400/3
    _assert_xc_error(response, 400, 3)


def test_trailing_slash_is_served_like_without(xc_http: XCHttp) -> None:
    # GIVEN the emulator
    # WHEN a list is called with a trailing slash
    response = xc_http.get(NAMESPACES + "/")
    # THEN it is answered, not redirected
    assert response.status_code == 200
    assert response.history == []


# --------------------------------------------------------------------------- in process, the same answers

# Values the emulator generates (ids, times, digests): equal in shape, never in value.
_GENERATED = frozenset(
    {
        "uid",
        "object_uid",
        "creation_timestamp",
        "modification_timestamp",
        "create_timestamp",
        "created_timestamp",
        "expiry_timestamp",
        "expiration_timestamp",
        "digest",
    }
)


def _generated_out(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<generated>" if k in _GENERATED else _generated_out(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_generated_out(v) for v in value]
    return value


def _parity_script(state: XCState, faults: Faults) -> list[tuple[str, str, dict[str, Any]]]:
    """Seed a tenant, queue faults, and return the calls to make: every family, error and fault kind.

    A call's options are urllib3 ``request()`` keywords, and ``auth: False`` to send no token."""
    state.seed_credential("service_credentials", "svc-abc", None, time.time() + 86400)
    faults.add("GET", r"^/api/web/namespaces$", 429, retry_after=2)
    faults.add("PUT", r"origin_pools/pet-origin$", 502, body="upstream connect error")
    faults.add("POST", r"/users/cascade_delete$", 503, after=True)
    faults.add("GET", r"/service_credentials$", DROP)
    pools = "/api/config/namespaces/pet-one/origin_pools"
    renew = "/api/web/namespaces/system/renew/service_credentials"
    return [
        ("GET", WHOAMI, {}),
        ("GET", WHOAMI, {"auth": False}),
        ("GET", NAMESPACES, {}),
        ("GET", NAMESPACES, {}),
        ("POST", NAMESPACES, {"json": namespace_body("pet-one", labels={"tops-dep-id": "d-1"})}),
        ("POST", NAMESPACES, {"json": namespace_body("pet-one")}),
        ("POST", NAMESPACES, {"body": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("GET", f"{NAMESPACES}/pet-one", {}),
        ("GET", NAMESPACES, {"fields": {"report_fields": ""}}),
        ("DELETE", f"{NAMESPACES}/pet-one", {}),
        ("GET", "/api/no/such/route", {}),
        ("POST", pools, {"json": pool_body("pet-origin")}),
        (
            "POST",
            "/api/config/namespaces/pet-one/http_loadbalancers",
            {"json": lb_body("pet-lb", "", "pet-origin")},
        ),
        ("GET", f"{pools}/pet-origin", {}),
        ("GET", pools, {}),
        ("PUT", f"{pools}/pet-origin", {"json": pool_body("pet-origin", port=80)}),
        ("GET", f"{pools}/ghost", {}),
        ("POST", USER_ROLES, {"json": user_body("jane@example.com")}),
        ("POST", USER_ROLES, {"json": user_body("JANE@example.com")}),
        ("GET", "/api/web/custom/namespaces/pet-one/user_roles", {}),
        ("POST", USERS_CASCADE_DELETE, {"json": {"email": "jane@example.com", "namespace": "system"}}),
        ("GET", USER_ROLES, {}),
        ("GET", SERVICE_CREDS, {}),
        ("POST", renew, {"json": {"name": "svc-abc", "expiration_days": 7}}),
        ("GET", f"{SERVICE_CREDS}/svc-abc", {}),
        ("GET", f"{API_CREDS}/missing", {}),
        ("DELETE", f"{pools}/pet-origin", {"json": {"fail_if_referred": False}}),
        ("POST", f"{NAMESPACES}/pet-one/cascade_delete", {"json": {"name:": "pet-one"}}),
        ("GET", "/_emulator/health", {}),
        ("POST", "/_emulator/faults", {"json": {"status": 200}}),
        ("GET", "/elsewhere", {}),
    ]


def _play(pool: urllib3.PoolManager, base: str, script: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    outcomes: list[Any] = []
    for method, path, scripted in script:
        options = dict(scripted)
        headers = {**({"Authorization": f"APIToken {XC_TOKEN}"} if options.pop("auth", True) else {})}
        headers.update(options.pop("headers", {}))
        try:
            response = pool.request(
                method, base + path, headers=headers, retries=False, timeout=10, **options
            )
        except urllib3.exceptions.HTTPError as exc:
            outcomes.append((method, path, type(exc).__name__))
            continue
        kind = response.headers.get("Content-Type", "")
        body = _generated_out(response.json()) if kind.startswith("application/json") else response.data
        outcomes.append((method, path, response.status, kind, response.headers.get("Retry-After"), body))
    return outcomes


def test_in_process_emulator_answers_every_call_as_the_server_does(xc_server: XCServer) -> None:
    # GIVEN the emulator over HTTP and in process, seeded alike, with the same faults queued
    in_process = InProcessXC(token=XC_TOKEN, tenant=XC_TENANT)
    script = _parity_script(xc_server.state, xc_server.faults)
    assert _parity_script(in_process.state, in_process.faults) == script
    # WHEN the same calls are made to both, through urllib3 as the client makes them
    served = _play(urllib3.PoolManager(), xc_server.url, script)
    answered = _play(in_process.pool, in_process.url, script)
    # THEN every status, content type, Retry-After and body is the same (generated ids and times aside),
    # a dropped connection is the same error, and both logged the same calls
    assert answered == served
    assert [o[2] for o in served if len(o) > 3].count(200) >= 10  # the script reached real answers
    assert ("GET", SERVICE_CREDS, "ProtocolError") in served

    def log(records: list[Any]) -> list[Any]:
        return [(r.method, r.path, r.query, r.body, r.status, r.fault) for r in records]

    assert log(in_process.requests()) == log(xc_server.requests())
    assert _generated_out(in_process.state.dump()) == _generated_out(xc_server.state.dump())


# --------------------------------------------------------------------------- server lifecycle and CLI


def test_server_context_manager_stops_listening_after_exit() -> None:
    # GIVEN a server started as a context manager
    with XCServer(token="t") as server:
        url = server.url
        assert (
            requests.get(url + WHOAMI, headers={"Authorization": "APIToken t"}, timeout=5).status_code == 200
        )
    # WHEN the block ends
    # THEN the port no longer answers
    with pytest.raises(requests.ConnectionError):
        requests.get(url + WHOAMI, timeout=2)
    assert not server.running


def test_cli_xc_subcommand_serves_with_given_token() -> None:
    # GIVEN `python -m devstack xc` on a free port with a fixed token
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "xc", "--port", "0", "--token", "cli-token"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = None
        printed = []
        for _ in range(10):
            line = process.stdout.readline()
            printed.append(line)
            if line.startswith("XC_URL="):
                url = line.strip().split("=", 1)[1]
            if line.startswith("XC_TOKEN="):
                break
        # WHEN whoami is called with that token
        assert url is not None, printed
        response = requests.get(url + WHOAMI, headers={"Authorization": "APIToken cli-token"}, timeout=5)
        # THEN it answers, and the printed token is the given one
        assert response.status_code == 200
        assert "XC_TOKEN=cli-token\n" in printed
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
