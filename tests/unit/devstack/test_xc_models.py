"""Rules of the fake XC tenant (``devstack.xc.models``), exercised without HTTP on a fake clock."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

import pytest
from cryptography import x509

from devstack.xc.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    UnauthenticatedError,
    XCAPIError,
    error_body,
    error_for_status,
)
from devstack.xc.models import (
    REDACTED_SECRET_URL,
    XCState,
    iter_refs,
    ref_target_plural,
    rfc3339,
)
from tests.fixtures.xc import (
    XC_EMAIL,
    XC_TENANT,
    XC_TOKEN,
    FakeClock,
    certificate_body,
    make_certificate,
    string_url,
)

DAY = 86400.0


def _ns_body(name: str, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "", **meta}, "spec": {}}


def _pool_body(name: str, namespace: str | None = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "metadata": metadata,
        "spec": {"origin_servers": [{"public_name": {"dns_name": "appedge.one"}}], "port": 443, **spec},
    }


def _lb_body(name: str, pool_ns: str, pool: str, **ref_extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "domains": ["pet.lab-sec.f5demos.com"],
            "http": {"port": 80},
            "default_route_pools": [
                {"pool": {"namespace": pool_ns, "name": pool, **ref_extra}, "weight": 1, "priority": 1}
            ],
        },
    }


def _user_body(email: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": email,
        "first_name": "Lab",
        "last_name": "User",
        "namespace": "system",
        "idm_type": "SSO",
        "type": "USER",
        "namespace_roles": [{"namespace": "system", "role": "ves-io-monitor-role"}],
        "group_names": [],
    }
    body.update(extra)
    return body


def _parse_rfc3339(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 3), (401, 16), (403, 7), (404, 5), (409, 6), (429, 8), (500, 13), (503, 14), (504, 4)],
)
def test_error_for_status_table_status_gets_grpc_code(status: int, code: int) -> None:
    # GIVEN a status from the docs/xc-api.md §4.2 table
    # WHEN an error is built for it
    error = error_for_status(status, "boom")
    # THEN the body is gRPC-gateway shaped with the table's code
    assert error.status == status
    assert error.body() == {"code": code, "details": [], "message": "boom"}
    assert error_body(status)["code"] == code


def test_typed_errors_conflict_and_exists_have_distinct_codes() -> None:
    # GIVEN the two 409 flavours
    # WHEN their bodies are built
    # THEN "already exists" is code 6 worded as observed, and a conflict is code 10
    assert AlreadyExistsError().body() == {"code": 6, "details": [], "message": "Object already exists"}
    assert ConflictError("busy").body()["code"] == 10
    assert ConflictError("busy").status == 409


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize("token", [None, "", "not-registered"])
def test_authenticate_missing_or_unknown_token_raises_401_code_16(
    xc_state: XCState, token: str | None
) -> None:
    # GIVEN a state that only knows XC_TOKEN
    # WHEN another or no token is presented
    with pytest.raises(UnauthenticatedError) as info:
        xc_state.authenticate(token)
    # THEN it is a 401 with code 16
    assert (info.value.status, info.value.code) == (401, 16)


def test_authenticate_registered_token_returns_identity(xc_state: XCState) -> None:
    # GIVEN the fixture token
    # WHEN it is presented
    identity = xc_state.authenticate(XC_TOKEN)
    # THEN the caller is the default admin
    assert identity.email == XC_EMAIL
    assert identity.credential is None


def test_whoami_static_token_returns_user_detail_fields(xc_state: XCState) -> None:
    # GIVEN an authenticated caller
    identity = xc_state.authenticate(XC_TOKEN)
    # WHEN whoami is asked
    detail = xc_state.whoami(identity)
    # THEN the documented user-detail fields are present
    for key in ("email", "name", "tenant", "namespace_roles", "idm_type", "type", "state", "plan_type"):
        assert key in detail
    assert detail["tenant"] == XC_TENANT
    assert detail["email"] == XC_EMAIL
    assert detail["namespace_access"]["namespace_role_map"]["system"]["roles"] == ["ves-io-admin-role"]


def test_whoami_caller_known_as_user_reports_that_users_roles(xc_state: XCState) -> None:
    # GIVEN a user record for the caller's email
    xc_state.create_user_roles(
        _user_body(XC_EMAIL.upper(), namespace_roles=[{"namespace": "shared", "role": "r1"}])
    )
    # WHEN whoami is asked
    detail = xc_state.whoami(xc_state.authenticate(XC_TOKEN))
    # THEN the user's roles are reported
    assert detail["namespace_roles"] == [{"namespace": "shared", "role": "r1"}]


# --------------------------------------------------------------------------- namespaces


def test_list_namespaces_fresh_tenant_includes_builtins(xc_state: XCState) -> None:
    # GIVEN a fresh tenant
    # WHEN namespaces are listed
    result = xc_state.list_namespaces()
    # THEN system, shared and default are there as summaries, with an empty errors array
    names = [item["name"] for item in result["items"]]
    assert {"system", "shared", "default"} <= set(names)
    assert result["errors"] == []
    assert set(result["items"][0]) == {
        "name",
        "namespace",
        "uid",
        "tenant",
        "description",
        "labels",
        "annotations",
        "disabled",
        "owner_view",
    }
    assert all(item["namespace"] == "" for item in result["items"])


def test_create_namespace_new_name_returns_envelope_with_generated_metadata(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a fresh tenant
    # WHEN a namespace is created
    result = xc_state.create_namespace(_ns_body("pet-one", description="lab"), creator=XC_EMAIL)
    # THEN the create response is {metadata, spec, system_metadata} with a UUID4 and RFC3339 times
    assert set(result) == {"metadata", "spec", "system_metadata"}
    assert result["metadata"]["name"] == "pet-one"
    assert result["metadata"]["namespace"] == ""
    assert result["metadata"]["description"] == "lab"
    assert result["spec"] == {}
    system = result["system_metadata"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", system["uid"])
    assert system["creation_timestamp"] == rfc3339(xc_clock.wall)
    assert system["creation_timestamp"].endswith("Z")
    assert system["tenant"] == XC_TENANT
    assert system["creator_id"] == XC_EMAIL


def test_get_namespace_existing_returns_full_get_envelope(xc_state: XCState) -> None:
    # GIVEN a namespace
    created = xc_state.create_namespace(_ns_body("pet-one"))
    # WHEN it is read
    result = xc_state.get_namespace("pet-one")
    # THEN the GET envelope carries the extra arrays and the same uid
    assert result["system_metadata"]["uid"] == created["system_metadata"]["uid"]
    for key in ("status", "referring_objects", "deleted_referred_objects", "disabled_referred_objects"):
        assert result[key] == []


def test_create_namespace_duplicate_raises_409_code_6(xc_state: XCState) -> None:
    # GIVEN an existing namespace
    xc_state.create_namespace(_ns_body("pet-one"))
    # WHEN it is created again
    with pytest.raises(AlreadyExistsError) as info:
        xc_state.create_namespace(_ns_body("pet-one"))
    # THEN 409/6 "already exists"
    assert (info.value.status, info.value.code) == (409, 6)
    assert "already exists" in info.value.message


def test_create_namespace_builtin_name_raises_409(xc_state: XCState) -> None:
    # GIVEN the built-in shared namespace
    # WHEN someone creates it
    # THEN it already exists
    with pytest.raises(AlreadyExistsError):
        xc_state.create_namespace(_ns_body("shared"))


@pytest.mark.parametrize("name", ["Pet", "1pet", "pet_one", "", "-pet", "pet-", "a" * 64, None])
def test_create_namespace_invalid_name_raises_400_naming_field(xc_state: XCState, name: object) -> None:
    # GIVEN a name that is not a DNS-1035 label
    # WHEN a namespace is created with it
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_namespace({"metadata": {"name": name}, "spec": {}})
    # THEN 400/3 naming metadata.name
    assert (info.value.status, info.value.code) == (400, 3)
    assert info.value.field == "metadata.name"
    assert "metadata.name" in info.value.message


def test_get_namespace_missing_raises_404_code_5(xc_state: XCState) -> None:
    # GIVEN no such namespace
    # WHEN it is read
    with pytest.raises(NotFoundError) as info:
        xc_state.get_namespace("nope")
    # THEN 404/5
    assert (info.value.status, info.value.code) == (404, 5)


def test_get_namespace_within_visibility_delay_raises_404_then_visible(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a 3 s visibility delay and a just-created namespace
    xc_state.configure(namespace_visibility_delay_ms=3000)
    xc_state.create_namespace(_ns_body("pet-one"))
    # WHEN it is read and listed before the delay passes
    # THEN GET is a 404 and the list omits it
    with pytest.raises(NotFoundError):
        xc_state.get_namespace("pet-one")
    assert "pet-one" not in [i["name"] for i in xc_state.list_namespaces()["items"]]
    xc_clock.advance(2.9)
    with pytest.raises(NotFoundError):
        xc_state.get_namespace("pet-one")
    # AND after the delay it is visible everywhere
    xc_clock.advance(0.2)
    assert xc_state.get_namespace("pet-one")["metadata"]["name"] == "pet-one"
    assert "pet-one" in [i["name"] for i in xc_state.list_namespaces()["items"]]


def test_create_namespace_within_visibility_delay_duplicate_still_409(xc_state: XCState) -> None:
    # GIVEN a namespace that is not visible yet
    xc_state.configure(namespace_visibility_delay_ms=5000)
    xc_state.create_namespace(_ns_body("pet-one"))
    # WHEN it is created again
    # THEN it already exists server-side
    with pytest.raises(AlreadyExistsError):
        xc_state.create_namespace(_ns_body("pet-one"))


def test_cascade_delete_namespace_with_objects_deletes_all_and_lists_them(xc_state: XCState) -> None:
    # GIVEN a namespace with a pool and a load balancer, and a pool in another namespace
    xc_state.create_namespace(_ns_body("pet-one"))
    xc_state.create_namespace(_ns_body("pet-two"))
    pool = xc_state.create_object("pet-one", "origin_pools", _pool_body("pet-origin"))
    lb = xc_state.create_object("pet-one", "http_loadbalancers", _lb_body("pet-lb", "pet-one", "pet-origin"))
    xc_state.create_object("pet-two", "origin_pools", _pool_body("other-origin"))
    ns_uid = xc_state.get_namespace("pet-one")["system_metadata"]["uid"]
    # WHEN the namespace is cascade-deleted
    result = xc_state.cascade_delete_namespace("pet-one")
    # THEN each object and the namespace are reported with their uids
    assert sorted(result["items"], key=lambda i: i["object_name"]) == [
        {
            "object_name": "pet-lb",
            "object_type": "http_loadbalancer",
            "object_uid": lb["system_metadata"]["uid"],
            "error_message": "",
        },
        {"object_name": "pet-one", "object_type": "namespace", "object_uid": ns_uid, "error_message": ""},
        {
            "object_name": "pet-origin",
            "object_type": "origin_pool",
            "object_uid": pool["system_metadata"]["uid"],
            "error_message": "",
        },
    ]
    # AND the namespace and its objects are gone, the other namespace untouched
    with pytest.raises(NotFoundError):
        xc_state.get_namespace("pet-one")
    assert xc_state.object_names("pet-one", "origin_pools") == []
    assert xc_state.object_names("pet-two", "origin_pools") == ["other-origin"]


def test_cascade_delete_namespace_missing_raises_404_code_5(xc_state: XCState) -> None:
    # GIVEN no such namespace
    # WHEN it is cascade-deleted
    with pytest.raises(NotFoundError) as info:
        xc_state.cascade_delete_namespace("nope")
    # THEN 404/5
    assert info.value.code == 5


@pytest.mark.parametrize("name", ["system", "shared", "default"])
def test_cascade_delete_namespace_builtin_raises_400(xc_state: XCState, name: str) -> None:
    # GIVEN a built-in namespace
    # WHEN it is cascade-deleted
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.cascade_delete_namespace(name)
    # THEN 400 and the namespace survives
    assert info.value.status == 400
    assert xc_state.get_namespace(name)["metadata"]["name"] == name


def test_cascade_delete_namespace_with_delay_blocks_for_configured_time(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a 30 s cascade_delete duration
    xc_state.configure(cascade_delete_delay_ms=30000)
    xc_state.create_namespace(_ns_body("pet-one"))
    # WHEN the namespace is cascade-deleted
    xc_state.cascade_delete_namespace("pet-one")
    # THEN the call slept 30 s and the namespace is gone afterwards
    assert xc_clock.slept == [30.0]
    with pytest.raises(NotFoundError):
        xc_state.get_namespace("pet-one")


def test_cascade_delete_namespace_while_running_rejects_reuse_and_shows_deletion(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a 30 s cascade_delete, and observations taken while it blocks
    xc_state.configure(cascade_delete_delay_ms=30000)
    xc_state.create_namespace(_ns_body("pet-one"))
    seen: dict[str, Any] = {}
    real_sleep = xc_clock.sleep

    def sleep_and_observe(seconds: float) -> None:
        seen["get"] = xc_state.get_namespace("pet-one")
        for label, call in {
            "create": lambda: xc_state.create_namespace(_ns_body("pet-one")),
            "pool": lambda: xc_state.create_object("pet-one", "origin_pools", _pool_body("p")),
            "again": lambda: xc_state.cascade_delete_namespace("pet-one"),
        }.items():
            with pytest.raises(ConflictError) as info:
                call()
            seen[label] = info.value.code
        real_sleep(seconds)

    xc_clock.sleep = sleep_and_observe  # type: ignore[method-assign]
    # WHEN the namespace is cascade-deleted
    xc_state.cascade_delete_namespace("pet-one")
    # THEN meanwhile GET showed a deletion timestamp and re-create, new objects and a second delete got 409/10
    assert seen["get"]["system_metadata"]["deletion_timestamp"] == rfc3339(xc_clock.wall - 30)
    assert (seen["create"], seen["pool"], seen["again"]) == (10, 10, 10)


def test_create_namespace_within_reuse_block_raises_409_code_10_then_succeeds(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a namespace just cascade-deleted with a 10 s reuse block
    xc_state.configure(namespace_reuse_block_ms=10000)
    xc_state.create_namespace(_ns_body("pet-one"))
    xc_state.cascade_delete_namespace("pet-one")
    # WHEN the name is created again within the block
    with pytest.raises(ConflictError) as info:
        xc_state.create_namespace(_ns_body("pet-one"))
    # THEN 409/10 "being deleted"
    assert (info.value.status, info.value.code) == (409, 10)
    assert "being deleted" in info.value.message
    # AND after the block the name is usable again
    xc_clock.advance(10.0)
    assert xc_state.create_namespace(_ns_body("pet-one"))["metadata"]["name"] == "pet-one"


def test_create_namespace_after_cascade_delete_without_block_succeeds_at_once(xc_state: XCState) -> None:
    # GIVEN default config (no reuse block)
    xc_state.create_namespace(_ns_body("pet-one"))
    xc_state.cascade_delete_namespace("pet-one")
    # WHEN the name is reused immediately
    result = xc_state.create_namespace(_ns_body("pet-one"))
    # THEN it works
    assert result["metadata"]["name"] == "pet-one"


# --------------------------------------------------------------------------- generic config objects


@pytest.fixture
def pet_ns(xc_state: XCState) -> str:
    xc_state.create_namespace(_ns_body("pet-one"))
    return "pet-one"


def test_create_object_without_metadata_namespace_binds_path_namespace(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN a caaslab-style pool body without metadata.namespace
    body = _pool_body("pet-mosquitto")
    assert "namespace" not in body["metadata"]
    # WHEN it is created under the namespace path
    result = xc_state.create_object(pet_ns, "origin_pools", body)
    # THEN the namespace comes from the path
    assert result["metadata"]["namespace"] == pet_ns
    assert xc_state.get_object(pet_ns, "origin_pools", "pet-mosquitto")["metadata"]["namespace"] == pet_ns


def test_create_object_matching_metadata_namespace_is_accepted(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a body whose metadata.namespace equals the path
    # WHEN it is created
    result = xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin", pet_ns))
    # THEN it is stored there
    assert result["metadata"]["namespace"] == pet_ns


def test_create_object_mismatched_metadata_namespace_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a body naming another namespace than the path
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin", "shared"))
    # THEN 400 naming metadata.namespace, nothing stored
    assert info.value.field == "metadata.namespace"
    assert xc_state.object_names(pet_ns, "origin_pools") == []


def test_create_object_duplicate_raises_409_code_6(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN an existing pool
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN it is created again
    with pytest.raises(AlreadyExistsError) as info:
        xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # THEN 409/6 with the observed wording
    assert info.value.body() == {"code": 6, "details": [], "message": "Object already exists"}


def test_create_object_same_name_other_plural_or_namespace_is_independent(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN a pool named x in pet-one
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("x"))
    # WHEN x is created as another type and in another namespace
    xc_state.create_object(pet_ns, "http_loadbalancers", {"metadata": {"name": "x"}, "spec": {}})
    xc_state.create_object("shared", "origin_pools", _pool_body("x"))
    # THEN all three exist
    assert xc_state.object_names(pet_ns, "http_loadbalancers") == ["x"]
    assert xc_state.object_names("shared", "origin_pools") == ["x"]


def test_create_object_missing_namespace_raises_404(xc_state: XCState) -> None:
    # GIVEN no namespace "ghost"
    # WHEN an object is created in it
    with pytest.raises(NotFoundError) as info:
        xc_state.create_object("ghost", "origin_pools", _pool_body("pet-origin"))
    # THEN 404/5
    assert info.value.code == 5


@pytest.mark.parametrize("name", ["Pet-Origin", "pet_origin", "9pool", None])
def test_create_object_invalid_name_raises_400_naming_metadata_name(
    xc_state: XCState, pet_ns: str, name: object
) -> None:
    # GIVEN an invalid metadata.name
    body = _pool_body("placeholder")
    body["metadata"]["name"] = name
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(pet_ns, "origin_pools", body)
    # THEN 400 naming metadata.name
    assert info.value.field == "metadata.name"


def test_create_object_without_metadata_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a body without metadata
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(pet_ns, "origin_pools", {"spec": {}})
    # THEN 400 naming metadata
    assert info.value.field == "metadata"


def test_create_object_unknown_fields_are_stored_as_given(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a caaslab TCP LB body with the schema-less origin_pools: [] and an unknown metadata key
    body = {
        "metadata": {"name": "pet-mqtt", "whatever": 1},
        "spec": {"listen_port": 8883, "sni": {}, "origin_pools": [], "made_up": {"x": [1, 2]}},
        "resource_version": "ignored",
    }
    # WHEN it is created and read
    xc_state.create_object(pet_ns, "tcp_loadbalancers", body)
    result = xc_state.get_object(pet_ns, "tcp_loadbalancers", "pet-mqtt")
    # THEN the spec comes back as sent
    assert result["spec"] == body["spec"]
    assert result["metadata"]["whatever"] == 1


def test_create_object_any_plural_is_served(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a type the emulator has no special rules for
    # WHEN it is created, read and listed
    xc_state.create_object(pet_ns, "service_policys", {"metadata": {"name": "sp"}, "spec": {"rules": []}})
    # THEN the generic CRUD serves it
    assert xc_state.get_object(pet_ns, "service_policys", "sp")["spec"] == {"rules": []}
    assert [i["name"] for i in xc_state.list_objects(pet_ns, "service_policys")["items"]] == ["sp"]


def test_create_object_stored_copy_is_isolated_from_caller(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a body the caller later mutates
    body = _pool_body("pet-origin")
    xc_state.create_object(pet_ns, "origin_pools", body)
    body["spec"]["port"] = 1
    # WHEN the object is read
    result = xc_state.get_object(pet_ns, "origin_pools", "pet-origin")
    # THEN the stored copy is unchanged
    assert result["spec"]["port"] == 443


def test_get_object_missing_raises_404_code_5(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN no pool
    # WHEN it is read
    with pytest.raises(NotFoundError) as info:
        xc_state.get_object(pet_ns, "origin_pools", "pet-origin")
    # THEN 404/5 naming the object
    assert info.value.code == 5
    assert "pet-one/pet-origin" in info.value.message


def test_get_object_existing_returns_full_envelope(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool
    created = xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN it is read
    result = xc_state.get_object(pet_ns, "origin_pools", "pet-origin")
    # THEN the GET envelope has the documented keys and the same uid
    assert {
        "metadata",
        "spec",
        "system_metadata",
        "create_form",
        "replace_form",
        "status",
        "referring_objects",
        "deleted_referred_objects",
        "disabled_referred_objects",
    } <= set(result)
    assert result["system_metadata"]["uid"] == created["system_metadata"]["uid"]
    assert result["system_metadata"]["tenant"] == XC_TENANT


def test_get_object_within_visibility_delay_raises_404_then_visible(
    xc_state: XCState, xc_clock: FakeClock, pet_ns: str
) -> None:
    # GIVEN pools are invisible for 2 s after create (load balancers are not)
    xc_state.configure(object_visibility_delay_ms_by_plural={"origin_pools": 2000})
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    xc_state.create_object(pet_ns, "http_loadbalancers", {"metadata": {"name": "pet-lb"}, "spec": {}})
    # WHEN the pool is read before the delay passes
    # THEN GET answers a real 404 and the list omits it, while the LB is visible
    with pytest.raises(NotFoundError):
        xc_state.get_object(pet_ns, "origin_pools", "pet-origin")
    assert xc_state.list_objects(pet_ns, "origin_pools")["items"] == []
    assert xc_state.get_object(pet_ns, "http_loadbalancers", "pet-lb")["metadata"]["name"] == "pet-lb"
    # AND once the delay passed it is visible
    xc_clock.advance(2.0)
    assert xc_state.get_object(pet_ns, "origin_pools", "pet-origin")["metadata"]["name"] == "pet-origin"
    assert [i["name"] for i in xc_state.list_objects(pet_ns, "origin_pools")["items"]] == ["pet-origin"]


def test_create_object_within_visibility_delay_duplicate_still_409(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN every object is invisible for 5 s
    xc_state.configure(object_visibility_delay_ms=5000)
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN it is created again
    # THEN the duplicate is detected
    with pytest.raises(AlreadyExistsError):
        xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))


def test_list_objects_default_returns_summaries_only(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool with labels and a description
    body = _pool_body("pet-origin")
    body["metadata"].update({"labels": {"a": "b"}, "description": "d", "disable": True})
    created = xc_state.create_object(pet_ns, "origin_pools", body)
    # WHEN pools are listed
    result = xc_state.list_objects(pet_ns, "origin_pools")
    # THEN items are summaries (no spec or metadata) and errors is empty
    assert result == {
        "items": [
            {
                "name": "pet-origin",
                "namespace": pet_ns,
                "uid": created["system_metadata"]["uid"],
                "tenant": XC_TENANT,
                "description": "d",
                "labels": {"a": "b"},
                "annotations": {},
                "disabled": True,
                "owner_view": None,
            }
        ],
        "errors": [],
    }


def test_list_objects_report_fields_adds_full_fields(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN pools are listed with report_fields
    item = xc_state.list_objects(pet_ns, "origin_pools", report_fields=True)["items"][0]
    # THEN metadata, system_metadata and get_spec are included
    assert item["get_spec"]["port"] == 443
    assert item["metadata"]["name"] == "pet-origin"
    assert "uid" in item["system_metadata"]


def test_list_objects_empty_returns_items_and_errors(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN no certificates
    # WHEN they are listed
    # THEN the list is empty but well-formed
    assert xc_state.list_objects(pet_ns, "certificates") == {"items": [], "errors": []}


def test_list_objects_missing_namespace_raises_404(xc_state: XCState) -> None:
    # GIVEN no such namespace
    # WHEN its pools are listed
    # THEN 404
    with pytest.raises(NotFoundError):
        xc_state.list_objects("ghost", "origin_pools")


def test_replace_object_existing_replaces_spec_keeps_uid_bumps_modification(
    xc_state: XCState, xc_clock: FakeClock, pet_ns: str
) -> None:
    # GIVEN a pool with an extra field
    created = xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin", no_tls={}))
    xc_clock.advance(60)
    # WHEN it is replaced with a body lacking that field
    result = xc_state.replace_object(pet_ns, "origin_pools", "pet-origin", _pool_body("pet-origin", port=80))
    # THEN the spec is exactly the new one, the uid and creation time stay, modification moves
    got = xc_state.get_object(pet_ns, "origin_pools", "pet-origin")
    assert got["spec"] == _pool_body("x", port=80)["spec"]
    assert "no_tls" not in got["spec"]
    assert result["system_metadata"]["uid"] == created["system_metadata"]["uid"]
    old, new = created["system_metadata"], got["system_metadata"]
    assert new["creation_timestamp"] == old["creation_timestamp"]
    assert _parse_rfc3339(new["modification_timestamp"]) - _parse_rfc3339(old["modification_timestamp"]) == 60


def test_replace_object_missing_raises_404(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN no pool
    # WHEN it is replaced
    # THEN 404/5
    with pytest.raises(NotFoundError):
        xc_state.replace_object(pet_ns, "origin_pools", "pet-origin", _pool_body("pet-origin"))


def test_replace_object_name_mismatch_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN it is replaced with a body naming another object
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.replace_object(pet_ns, "origin_pools", "pet-origin", _pool_body("other"))
    # THEN 400 naming metadata.name
    assert info.value.field == "metadata.name"


@pytest.mark.parametrize(
    "body", [None, {}, {"name": "pet-origin", "namespace": "pet-one", "fail_if_referred": True}]
)
def test_delete_object_with_or_without_body_returns_empty_dict(
    xc_state: XCState, pet_ns: str, body: dict[str, Any] | None
) -> None:
    # GIVEN a pool
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN it is deleted with the given body
    result = xc_state.delete_object(pet_ns, "origin_pools", "pet-origin", body)
    # THEN {} is returned and the pool is gone
    assert result == {}
    with pytest.raises(NotFoundError):
        xc_state.get_object(pet_ns, "origin_pools", "pet-origin")


def test_delete_object_missing_raises_404_code_5(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN no pool
    # WHEN it is deleted
    with pytest.raises(NotFoundError) as info:
        xc_state.delete_object(pet_ns, "origin_pools", "pet-origin")
    # THEN 404/5
    assert info.value.code == 5


# --------------------------------------------------------------------------- references


def test_iter_refs_nested_spec_finds_refs_with_kind_and_tenant() -> None:
    # GIVEN an https LB spec as example/waaplab send it
    spec = {
        "domains": ["x"],
        "https": {
            "tls_cert_params": {
                "certificates": [
                    {"namespace": "shared", "name": "lab-sec-wildcard", "kind": "certificate", "tenant": "t"}
                ]
            }
        },
        "default_route_pools": [
            {"pool": {"namespace": "pet", "name": "pet-origin", "tenant": "t"}, "weight": 1}
        ],
        "k8s_service": {
            "service_name": "mosquitto.pet",
            "site_locator": {"virtual_site": {"namespace": "shared", "name": "vsite"}},
        },
        "not_a_ref": {"name": "x", "namespace": "y", "port": 1},
    }
    # WHEN references are walked
    refs = [(path, ref_target_plural(ref, key)) for path, key, ref in iter_refs(spec)]
    # THEN the three references are found with their target types, and the look-alike is not
    assert refs == [
        ("spec.https.tls_cert_params.certificates[0]", "certificates"),
        ("spec.default_route_pools[0].pool", "origin_pools"),
        ("spec.k8s_service.site_locator.virtual_site", "virtual_sites"),
    ]


def test_create_object_refs_with_kind_and_foreign_tenant_accepted_by_default(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN default switches (no ref validation, no tenant check)
    body = _lb_body("pet-lb", pet_ns, "missing-pool", kind="origin_pool", tenant="f5-xc-lab-sec-lpuwkdtb")
    # WHEN an LB referring to a missing pool in another tenant is created
    result = xc_state.create_object(pet_ns, "http_loadbalancers", body)
    # THEN it is accepted and stored with kind and tenant kept
    assert result["spec"]["default_route_pools"][0]["pool"]["kind"] == "origin_pool"


def test_create_object_ref_foreign_tenant_with_check_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN the tenant check on
    xc_state.configure(check_ref_tenant=True)
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN a ref carries another tenant's id
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(
            pet_ns,
            "http_loadbalancers",
            _lb_body("pet-lb", pet_ns, "pet-origin", tenant="f5-xc-lab-sec-lpuwkdtb"),
        )
    # THEN 400 naming the ref's tenant field
    assert info.value.field == "spec.default_route_pools[0].pool.tenant"
    # AND the own tenant id passes
    xc_state.create_object(
        pet_ns, "http_loadbalancers", _lb_body("pet-lb", pet_ns, "pet-origin", tenant=XC_TENANT)
    )


def test_create_object_ref_to_missing_object_with_validation_raises_400(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN ref validation on and no pool
    xc_state.configure(validate_refs=True)
    # WHEN an LB refers to the missing pool
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(pet_ns, "http_loadbalancers", _lb_body("pet-lb", pet_ns, "pet-origin"))
    # THEN 400 naming the ref and nothing stored
    assert info.value.field == "spec.default_route_pools[0].pool"
    assert xc_state.object_names(pet_ns, "http_loadbalancers") == []


def test_create_object_ref_to_existing_object_with_validation_and_kind_accepted(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN ref validation on, a pool and a shared certificate
    xc_state.configure(validate_refs=True)
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    cert, key = make_certificate()
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert, key))
    body = _lb_body("pet-lb", pet_ns, "pet-origin", kind="origin_pool")
    body["spec"]["https"] = {
        "tls_cert_params": {
            "certificates": [{"namespace": "shared", "name": "lab-sec-wildcard", "kind": "certificate"}]
        }
    }
    # WHEN the LB is created
    result = xc_state.create_object(pet_ns, "http_loadbalancers", body)
    # THEN it is accepted
    assert result["metadata"]["name"] == "pet-lb"


def test_create_object_ref_to_invisible_pool_with_validation_raises_400(
    xc_state: XCState, xc_clock: FakeClock, pet_ns: str
) -> None:
    # GIVEN validation on and a pool that is not visible yet
    xc_state.configure(validate_refs=True, object_visibility_delay_ms=1000)
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    # WHEN an LB refers to it too early
    # THEN it fails, and succeeds once the pool is visible
    with pytest.raises(InvalidArgumentError):
        xc_state.create_object(pet_ns, "http_loadbalancers", _lb_body("pet-lb", pet_ns, "pet-origin"))
    xc_clock.advance(1.0)
    xc_state.create_object(pet_ns, "http_loadbalancers", _lb_body("pet-lb", pet_ns, "pet-origin"))


def test_get_object_referenced_pool_lists_referring_objects(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN an LB that refers to a pool
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    lb = xc_state.create_object(pet_ns, "http_loadbalancers", _lb_body("pet-lb", pet_ns, "pet-origin"))
    # WHEN the pool is read
    result = xc_state.get_object(pet_ns, "origin_pools", "pet-origin")
    # THEN the LB is among its referring objects
    assert result["referring_objects"] == [
        {
            "kind": "http_loadbalancer",
            "name": "pet-lb",
            "namespace": pet_ns,
            "uid": lb["system_metadata"]["uid"],
            "tenant": XC_TENANT,
        }
    ]


def test_delete_object_referred_with_fail_if_referred_and_enforcement_raises_409(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN enforcement on and an LB referring to a pool
    xc_state.configure(enforce_fail_if_referred=True)
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    xc_state.create_object(pet_ns, "http_loadbalancers", _lb_body("pet-lb", pet_ns, "pet-origin"))
    # WHEN the pool is deleted with fail_if_referred
    with pytest.raises(ConflictError) as info:
        xc_state.delete_object(pet_ns, "origin_pools", "pet-origin", {"fail_if_referred": True})
    # THEN 409 and the pool stays
    assert info.value.status == 409
    assert "pet-lb" in info.value.message
    assert xc_state.object_names(pet_ns, "origin_pools") == ["pet-origin"]
    # AND without the flag the delete goes through
    assert xc_state.delete_object(pet_ns, "origin_pools", "pet-origin", {"fail_if_referred": False}) == {}


def test_delete_object_referred_with_fail_if_referred_default_config_deletes(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN default config and an LB referring to a pool
    xc_state.create_object(pet_ns, "origin_pools", _pool_body("pet-origin"))
    xc_state.create_object(pet_ns, "http_loadbalancers", _lb_body("pet-lb", pet_ns, "pet-origin"))
    # WHEN the pool is deleted with fail_if_referred
    # THEN the flag is not enforced
    assert xc_state.delete_object(pet_ns, "origin_pools", "pet-origin", {"fail_if_referred": True}) == {}


# --------------------------------------------------------------------------- certificates


@pytest.fixture(scope="module")
def cert_pair() -> tuple[bytes, bytes]:
    return make_certificate("lab.example.com", ["lab.example.com", "*.lab.example.com", "10.1.2.3"])


def test_create_certificate_valid_pem_fills_infos_from_leaf(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN a self-signed EC certificate and key encoded as cert_mgmt does
    cert_pem, key_pem = cert_pair
    expected_expiry = x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc.timestamp()
    # WHEN it is uploaded and read back
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    infos = xc_state.get_object("shared", "certificates", "lab-sec-wildcard")["spec"]["infos"]
    # THEN infos describes the leaf
    assert infos == [
        {
            "common_name": "lab.example.com",
            "issuer": "O=Devstack Lab,CN=lab.example.com",
            "expiry": rfc3339(expected_expiry),
            "subject_alternative_names": ["lab.example.com", "*.lab.example.com", "10.1.2.3"],
            "organization": "Devstack Lab",
            "public_key_algorithm": "ECDSA",
        }
    ]


def test_create_certificate_rsa_chain_reports_rsa_and_each_cert(xc_state: XCState) -> None:
    # GIVEN an RSA leaf followed by a second certificate in the chain
    leaf, key = make_certificate("leaf.example.com", ["leaf.example.com"], key_type="rsa")
    other, _ = make_certificate("ca.example.com", [], organization="CA")
    # WHEN the chain is uploaded
    result = xc_state.create_object("shared", "certificates", certificate_body("chain", leaf + other, key))
    # THEN one info per certificate, leaf first
    assert [i["common_name"] for i in result["spec"]["infos"]] == ["leaf.example.com", "ca.example.com"]
    assert result["spec"]["infos"][0]["public_key_algorithm"] == "RSA"
    assert result["spec"]["infos"][1]["subject_alternative_names"] == []


def test_create_certificate_key_never_returned_anywhere(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN an uploaded certificate
    cert_pem, key_pem = cert_pair
    body = certificate_body("lab-sec-wildcard", cert_pem, key_pem)
    key_url = body["spec"]["private_key"]["clear_secret_info"]["url"]
    key_b64 = key_url.removeprefix("string:///")
    # WHEN it is created, read, listed with full fields, replaced and dumped
    outputs = [
        xc_state.create_object("shared", "certificates", body),
        xc_state.get_object("shared", "certificates", "lab-sec-wildcard"),
        xc_state.list_objects("shared", "certificates", report_fields=True),
        xc_state.replace_object("shared", "certificates", "lab-sec-wildcard", body),
        xc_state.dump(),
    ]
    # THEN the key appears in none of them, and the URL is redacted
    for output in outputs:
        text = json.dumps(output)
        assert key_b64 not in text
        assert "PRIVATE KEY" not in text
    assert outputs[1]["spec"]["private_key"]["clear_secret_info"]["url"] == REDACTED_SECRET_URL
    # AND the caller's body was not modified
    assert body["spec"]["private_key"]["clear_secret_info"]["url"] == key_url


def test_certificate_material_after_upload_returns_decoded_bytes(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN an uploaded certificate
    cert_pem, key_pem = cert_pair
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    # WHEN the test helper reads the material
    # THEN it is exactly what was uploaded
    assert xc_state.certificate_material("shared", "lab-sec-wildcard") == (cert_pem, key_pem)


def test_replace_certificate_new_material_updates_material_and_infos(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN an uploaded certificate
    cert_pem, key_pem = cert_pair
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    new_cert, new_key = make_certificate("renewed.example.com", ["renewed.example.com"])
    # WHEN it is replaced with a renewed pair (the body may echo read-only infos)
    body = certificate_body("lab-sec-wildcard", new_cert, new_key)
    body["spec"]["infos"] = [{"common_name": "stale"}]
    xc_state.replace_object("shared", "certificates", "lab-sec-wildcard", body)
    # THEN the stored material and infos are the new ones
    assert xc_state.certificate_material("shared", "lab-sec-wildcard") == (new_cert, new_key)
    got = xc_state.get_object("shared", "certificates", "lab-sec-wildcard")
    assert [i["common_name"] for i in got["spec"]["infos"]] == ["renewed.example.com"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s, c, k: s.update(certificate_url=c.decode()), "spec.certificate_url"),
        (lambda s, c, k: s.update(certificate_url="string:///not*base64"), "spec.certificate_url"),
        (
            lambda s, c, k: s.update(certificate_url="string:///" + base64.b64encode(c).decode()[:-2]),
            "spec.certificate_url",
        ),
        (
            lambda s, c, k: s.update(certificate_url="string:///" + base64.encodebytes(c).decode()),
            "spec.certificate_url",
        ),
        (
            lambda s, c, k: s.update(certificate_url="data:///" + base64.b64encode(c).decode()),
            "spec.certificate_url",
        ),
        (lambda s, c, k: s.update(certificate_url=string_url(b"hello")), "spec.certificate_url"),
        (lambda s, c, k: s.update(certificate_url=string_url(b"A" * 100_000)), "spec.certificate_url"),
        (lambda s, c, k: s.pop("certificate_url"), "spec.certificate_url"),
        (lambda s, c, k: s.pop("private_key"), "spec.private_key"),
        (lambda s, c, k: s.update(private_key={}), "spec.private_key"),
        (
            lambda s, c, k: s["private_key"]["clear_secret_info"].update(url=k.decode()),
            "spec.private_key.clear_secret_info.url",
        ),
        (
            lambda s, c, k: s["private_key"]["clear_secret_info"].update(url=string_url(c)),
            "spec.private_key.clear_secret_info.url",
        ),
        (
            lambda s, c, k: s["private_key"]["clear_secret_info"].update(
                url=string_url(make_certificate()[1])
            ),
            "spec.private_key.clear_secret_info.url",
        ),
    ],
    ids=[
        "raw-pem",
        "bad-base64",
        "bad-padding",
        "line-breaks",
        "wrong-scheme",
        "not-pem",
        "over-131072-bytes",
        "no-cert",
        "no-key",
        "empty-key-one-of",
        "raw-pem-key",
        "cert-as-key",
        "key-mismatch",
    ],
)
def test_create_certificate_invalid_field_raises_400_naming_field(
    xc_state: XCState, cert_pair: tuple[bytes, bytes], mutate: Any, field: str
) -> None:
    # GIVEN a certificate body broken in one way
    cert_pem, key_pem = cert_pair
    body = certificate_body("lab-sec-wildcard", cert_pem, key_pem)
    mutate(body["spec"], cert_pem, key_pem)
    # WHEN it is uploaded
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object("shared", "certificates", body)
    # THEN 400/3 names the field and nothing is stored
    assert (info.value.status, info.value.code) == (400, 3)
    assert info.value.field == field
    assert xc_state.object_names("shared", "certificates") == []


def test_create_certificate_mismatched_key_with_check_off_accepted(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN the key-match check off
    xc_state.configure(check_certificate_key_match=False)
    cert_pem, _ = cert_pair
    other_key = make_certificate()[1]
    # WHEN a certificate is uploaded with a foreign key
    xc_state.create_object("shared", "certificates", certificate_body("c", cert_pem, other_key))
    # THEN it is stored
    assert xc_state.certificate_material("shared", "c") == (cert_pem, other_key)


def test_create_certificate_blindfold_location_accepted_without_key_material(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN a body with a Blindfold-encrypted key location
    cert_pem, _ = cert_pair
    body = certificate_body("c", cert_pem, b"unused")
    body["spec"]["private_key"] = {"blindfold_secret_info": {"location": "string:///c2VjcmV0LWJsb2I="}}
    # WHEN it is uploaded and read
    xc_state.create_object("shared", "certificates", body)
    got = xc_state.get_object("shared", "certificates", "c")
    # THEN the location is redacted and no clear key is kept
    assert got["spec"]["private_key"]["blindfold_secret_info"]["location"] == REDACTED_SECRET_URL
    assert xc_state.certificate_material("shared", "c") == (cert_pem, None)


def test_get_certificate_referenced_by_lb_lists_back_references(
    xc_state: XCState, cert_pair: tuple[bytes, bytes], pet_ns: str
) -> None:
    # GIVEN a shared certificate referenced by an LB
    cert_pem, key_pem = cert_pair
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    lb = {
        "metadata": {"name": "pet-lb"},
        "spec": {
            "https": {
                "tls_cert_params": {
                    "certificates": [
                        {"namespace": "shared", "name": "lab-sec-wildcard", "kind": "certificate"}
                    ]
                }
            }
        },
    }
    xc_state.create_object(pet_ns, "http_loadbalancers", lb)
    # WHEN the certificate is read
    spec = xc_state.get_object("shared", "certificates", "lab-sec-wildcard")["spec"]
    # THEN the LB appears in http_loadbalancers
    assert [(r["namespace"], r["name"]) for r in spec["http_loadbalancers"]] == [(pet_ns, "pet-lb")]
    assert spec["tcp_loadbalancers"] == []


# --------------------------------------------------------------------------- users


def test_create_user_roles_without_name_defaults_name_to_email(xc_state: XCState) -> None:
    # GIVEN a user request without name
    # WHEN it is created
    result = xc_state.create_user_roles(_user_body("Student@Example.com"))
    # THEN the user object's name is the email
    assert result["metadata"]["name"] == "Student@Example.com"
    item = xc_state.list_user_roles()["items"][0]
    assert item["name"] == item["email"] == "Student@Example.com"


def test_list_user_roles_items_have_documented_fields(xc_state: XCState) -> None:
    # GIVEN one user
    xc_state.create_user_roles(_user_body("a@example.com", group_names=["g1"]))
    # WHEN users are listed
    result = xc_state.list_user_roles()
    # THEN items carry the list fields and errors is empty
    assert result["errors"] == []
    item = result["items"][0]
    for key in (
        "email",
        "name",
        "first_name",
        "last_name",
        "namespace",
        "tenant",
        "tenant_type",
        "idm_type",
        "type",
        "group_names",
        "namespace_roles",
        "disabled",
    ):
        assert key in item
    assert item["namespace"] == "system"
    assert item["tenant"] == XC_TENANT
    assert item["group_names"] == ["g1"]
    assert item["namespace_roles"] == [{"namespace": "system", "role": "ves-io-monitor-role"}]


@pytest.mark.parametrize("missing", ["email", "first_name", "last_name"])
def test_create_user_roles_missing_required_field_raises_400(xc_state: XCState, missing: str) -> None:
    # GIVEN a request without a required field
    body = _user_body("a@example.com")
    del body[missing]
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_user_roles(body)
    # THEN 400 naming the field
    assert info.value.field == missing


def test_create_user_roles_role_without_role_key_raises_400(xc_state: XCState) -> None:
    # GIVEN a namespace role lacking "role"
    # WHEN the user is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_user_roles(_user_body("a@example.com", namespace_roles=[{"namespace": "system"}]))
    # THEN 400 naming it
    assert info.value.field == "namespace_roles[0].role"


def test_create_user_roles_duplicate_email_any_case_raises_409_code_6_already_exist(
    xc_state: XCState,
) -> None:
    # GIVEN an existing user
    xc_state.create_user_roles(_user_body("student@example.com"))
    # WHEN the same email in another case is created
    with pytest.raises(XCAPIError) as info:
        xc_state.create_user_roles(_user_body("STUDENT@example.com"))
    # THEN 409/6 with "already exist" in the message (the worker's substring)
    assert (info.value.status, info.value.code) == (409, 6)
    assert "already exist" in info.value.message
    assert len(xc_state.list_user_roles()["items"]) == 1


def test_create_user_roles_duplicate_with_configured_status_and_message_uses_them(xc_state: XCState) -> None:
    # GIVEN a different inferred duplicate answer
    xc_state.configure(duplicate_user_status=400, duplicate_user_message="{email} already exists in tenant")
    xc_state.create_user_roles(_user_body("a@example.com"))
    # WHEN the user is created again
    with pytest.raises(XCAPIError) as info:
        xc_state.create_user_roles(_user_body("a@example.com"))
    # THEN the configured status, its code and message apply
    assert (info.value.status, info.value.code) == (400, 3)
    assert info.value.message == "a@example.com already exists in tenant"


def test_update_user_roles_existing_replaces_role_and_group_sets(xc_state: XCState) -> None:
    # GIVEN a user with two roles and two groups
    xc_state.create_user_roles(
        _user_body(
            "a@example.com",
            namespace_roles=[{"namespace": "system", "role": "r1"}, {"namespace": "shared", "role": "r2"}],
            group_names=["g1", "g2"],
        )
    )
    # WHEN an update sends a different, smaller set and new names
    body = _user_body(
        "A@EXAMPLE.COM",
        first_name="New",
        last_name="Name",
        namespace_roles=[{"namespace": "pet", "role": "ves-io-admin-role"}],
        group_names=["g3"],
    )
    xc_state.update_user_roles(body)
    # THEN the sets are replaced, not merged
    item = xc_state.user("a@example.com")
    assert item is not None
    assert item["namespace_roles"] == [{"namespace": "pet", "role": "ves-io-admin-role"}]
    assert item["group_names"] == ["g3"]
    assert (item["first_name"], item["last_name"]) == ("New", "Name")
    assert item["email"] == "a@example.com"


def test_update_user_roles_without_roles_clears_roles(xc_state: XCState) -> None:
    # GIVEN a user with roles
    xc_state.create_user_roles(_user_body("a@example.com"))
    # WHEN an update omits namespace_roles and group_names
    body = _user_body("a@example.com")
    del body["namespace_roles"], body["group_names"]
    xc_state.update_user_roles(body)
    # THEN both sets are empty (full replacement)
    item = xc_state.user("a@example.com")
    assert item is not None
    assert (item["namespace_roles"], item["group_names"]) == ([], [])


def test_update_user_roles_unknown_user_raises_404(xc_state: XCState) -> None:
    # GIVEN no users
    # WHEN one is updated
    with pytest.raises(NotFoundError) as info:
        xc_state.update_user_roles(_user_body("ghost@example.com"))
    # THEN 404/5
    assert info.value.code == 5


def test_user_create_merge_flow_worker_style_ends_with_union(xc_state: XCState) -> None:
    # GIVEN an existing user, and the worker's merge on "already exist"
    xc_state.create_user_roles(_user_body("a@example.com", group_names=["g1"]))
    wanted = _user_body("a@example.com", namespace_roles=[{"namespace": "pet", "role": "ves-io-admin-role"}])
    with pytest.raises(XCAPIError) as info:
        xc_state.create_user_roles(wanted)
    assert "already exist" in info.value.message
    # WHEN the worker lists, unions roles and groups and PUTs
    current = next(u for u in xc_state.list_user_roles()["items"] if u["email"] == "a@example.com")
    roles = current["namespace_roles"] + [
        r for r in wanted["namespace_roles"] if r not in current["namespace_roles"]
    ]
    groups = sorted(set(current["group_names"]) | set(wanted["group_names"]))
    xc_state.update_user_roles({**wanted, "namespace_roles": roles, "group_names": groups})
    # THEN the user has both roles and the old group
    item = xc_state.user("a@example.com")
    assert item is not None
    assert item["namespace_roles"] == [
        {"namespace": "system", "role": "ves-io-monitor-role"},
        {"namespace": "pet", "role": "ves-io-admin-role"},
    ]
    assert item["group_names"] == ["g1"]


def test_create_user_roles_unknown_role_namespace_with_validation_raises_400(xc_state: XCState) -> None:
    # GIVEN role-namespace validation on
    xc_state.configure(validate_user_role_namespaces=True)
    # WHEN a role names a missing namespace
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_user_roles(
            _user_body("a@example.com", namespace_roles=[{"namespace": "ghost", "role": "r"}])
        )
    # THEN 400 naming it; by default the same request is accepted
    assert info.value.field == "namespace_roles[0].namespace"
    xc_state.configure(validate_user_role_namespaces=False)
    xc_state.create_user_roles(
        _user_body("a@example.com", namespace_roles=[{"namespace": "ghost", "role": "r"}])
    )


def test_cascade_delete_user_existing_removes_user_and_reports_it(xc_state: XCState) -> None:
    # GIVEN a user
    created = xc_state.create_user_roles(_user_body("a@example.com"))
    # WHEN it is cascade-deleted by email in another case
    result = xc_state.cascade_delete_user({"email": "A@example.com", "namespace": "system"})
    # THEN delete_ok with the user item, and it is gone from the list
    assert result == {
        "delete_ok": True,
        "items": [
            {
                "object_name": "a@example.com",
                "object_type": "user",
                "object_uid": created["metadata"]["uid"],
                "error_message": "",
            }
        ],
    }
    assert xc_state.list_user_roles()["items"] == []


def test_cascade_delete_user_unknown_raises_404_code_5(xc_state: XCState) -> None:
    # GIVEN no users
    # WHEN an unknown email is deleted
    with pytest.raises(XCAPIError) as info:
        xc_state.cascade_delete_user({"email": "ghost@example.com", "namespace": "system"})
    # THEN 404/5 (inferred default)
    assert (info.value.status, info.value.code) == (404, 5)


def test_cascade_delete_user_unknown_with_status_200_returns_delete_ok_false(xc_state: XCState) -> None:
    # GIVEN the alternative inferred behaviour
    xc_state.configure(unknown_user_delete_status=200)
    # WHEN an unknown email is deleted
    # THEN a 200 body with delete_ok false
    assert xc_state.cascade_delete_user({"email": "ghost@example.com"}) == {"delete_ok": False, "items": []}


def test_add_and_remove_user_groups_change_only_groups(xc_state: XCState) -> None:
    # GIVEN a user in g1
    xc_state.create_user_roles(_user_body("a@example.com", group_names=["g1"]))
    # WHEN g2 is added and g1 removed
    xc_state.add_user_groups({"username": "a@example.com", "group_names": ["g2", "g1"]})
    xc_state.remove_user_groups({"username": "a@example.com", "group_names": ["g1"]})
    # THEN only g2 remains and roles are untouched
    item = xc_state.user("a@example.com")
    assert item is not None
    assert item["group_names"] == ["g2"]
    assert item["namespace_roles"] == [{"namespace": "system", "role": "ves-io-monitor-role"}]


# --------------------------------------------------------------------------- credentials


def test_create_credential_requested_name_gets_seven_char_suffix(xc_state: XCState) -> None:
    # GIVEN an API token request
    body = {"name": "lab-token", "namespace": "system", "expiration_days": 7, "spec": {"type": "API_TOKEN"}}
    # WHEN it is created
    result = xc_state.create_credential("api_credentials", body)
    # THEN the name has a random 7-char suffix and the response has the create fields
    assert re.fullmatch(r"lab-token-[a-z0-9]{7}", result["name"])
    assert set(result) == {"name", "data", "active", "expiration_timestamp"}
    assert result["active"] is True


def test_create_credential_api_token_without_password_accepted(xc_state: XCState) -> None:
    # GIVEN the original client's body: no spec.password
    body = {"name": "t", "namespace": "system", "expiration_days": 1, "spec": {"type": "API_TOKEN"}}
    # WHEN it is created
    result = xc_state.create_credential("api_credentials", body)
    # THEN it works and the stored type is API_TOKEN
    assert xc_state.credential("api_credentials", result["name"]).type == "API_TOKEN"


def test_create_credential_api_certificate_without_password_raises_400(xc_state: XCState) -> None:
    # GIVEN a certificate-type credential without password
    body = {"name": "t", "expiration_days": 1, "spec": {"type": "API_CERTIFICATE"}}
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_credential("api_credentials", body)
    # THEN spec.password is required for that type only
    assert info.value.field == "spec.password"


@pytest.mark.parametrize(
    "extra",
    [{"type": "SERVICE_API_TOKEN"}, {"api_token": {}}, {"type": "SERVICE_API_TOKEN", "api_token": {}}],
    ids=["legacy-type", "one-of", "both-consistent"],
)
def test_create_service_credential_legacy_type_or_one_of_accepted(
    xc_state: XCState, extra: dict[str, Any]
) -> None:
    # GIVEN a service credential request in either style
    body = {
        "name": "svc",
        "namespace": "system",
        "namespace_roles": [{"namespace": "system", "role": "ves-io-admin-role"}],
        "expiration_days": 30,
        **extra,
    }
    # WHEN it is created
    result = xc_state.create_credential("service_credentials", body)
    # THEN it is a SERVICE_API_TOKEN with the roles kept, and its data authenticates
    info = xc_state.credential("service_credentials", result["name"])
    assert info.type == "SERVICE_API_TOKEN"
    assert info.namespace_roles == (("system", "ves-io-admin-role"),)
    assert xc_state.authenticate(result["data"]).user_type == "SERVICE"


@pytest.mark.parametrize(
    "extra", [{}, {"type": "NOPE"}, {"type": "SERVICE_API_TOKEN", "api_certificate": {"password": "x"}}]
)
def test_create_service_credential_without_valid_type_raises_400(
    xc_state: XCState, extra: dict[str, Any]
) -> None:
    # GIVEN a service credential request with no, an unknown or a contradicting type
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_credential("service_credentials", {"name": "svc", "expiration_days": 1, **extra})
    # THEN 400 naming type
    assert info.value.field == "type"


def test_create_credential_data_token_authenticates_until_expiry(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a 2-day API token
    result = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 2})
    token = result["data"]
    # WHEN it is used before and after expiry
    identity = xc_state.authenticate(token)
    # THEN it authenticates as its owner until the expiry, then 401
    assert identity.credential == ("api_credentials", result["name"])
    assert identity.email == XC_EMAIL
    xc_clock.advance(2 * DAY - 1)
    xc_state.authenticate(token)
    xc_clock.advance(1)
    with pytest.raises(UnauthenticatedError, match="expired"):
        xc_state.authenticate(token)


def test_credential_expiry_fields_per_endpoint_use_documented_names(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a 7-day api credential and a service credential
    created = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 7})
    svc = xc_state.create_credential(
        "service_credentials", {"name": "s", "type": "SERVICE_API_TOKEN", "expiration_days": 3}
    )
    expected = rfc3339(xc_clock.wall + 7 * DAY)
    # WHEN each endpoint is read
    listed = xc_state.list_credentials("api_credentials")["items"][0]
    got = xc_state.get_credential("api_credentials", created["name"])
    svc_got = xc_state.get_credential("service_credentials", svc["name"])
    # THEN create says expiration_timestamp, list says expiry_timestamp,
    # api get nests it under gc_spec, and service get is flat
    assert created["expiration_timestamp"] == expected
    assert listed["expiry_timestamp"] == expected
    assert "expiration_timestamp" not in listed
    assert got["object"]["spec"]["gc_spec"]["expiration_timestamp"] == expected
    assert got["object"]["spec"]["gc_spec"]["type"] == "API_TOKEN"
    assert got["object"]["metadata"]["name"] == created["name"]
    assert svc_got["expiry_timestamp"] == rfc3339(xc_clock.wall + 3 * DAY)
    assert "object" not in svc_got
    assert {"namespace_access", "user_group_names", "user_email", "create_timestamp"} <= set(svc_got)


def test_list_credentials_items_never_carry_the_token(xc_state: XCState) -> None:
    # GIVEN a credential
    created = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 1})
    # WHEN list, get and dump are read
    texts = [
        json.dumps(xc_state.list_credentials("api_credentials")),
        json.dumps(xc_state.get_credential("api_credentials", created["name"])),
        json.dumps(xc_state.dump()),
    ]
    # THEN the token appears nowhere
    assert all(created["data"] not in text for text in texts)


def test_renew_credential_valid_sets_expiry_now_plus_days(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a credential expiring in 1 day, 12 hours later
    xc_state.seed_credential("api_credentials", "lab-token-abc1234", "tok-1", xc_clock.wall + DAY)
    xc_clock.advance(DAY / 2)
    # WHEN it is renewed for 7 days
    result = xc_state.renew_credential(
        "api_credentials", {"name": "lab-token-abc1234", "namespace": "system", "expiration_days": 7}
    )
    # THEN {status: true} and expiry = now + 7 days, shown in list and get
    assert result == {"status": True}
    assert xc_state.credential("api_credentials", "lab-token-abc1234").expires_at == xc_clock.wall + 7 * DAY
    listed = xc_state.list_credentials("api_credentials")["items"][0]
    assert listed["expiry_timestamp"] == rfc3339(xc_clock.wall + 7 * DAY)


def test_renew_credential_string_days_accepted(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a service credential (int64 may arrive as a JSON string)
    xc_state.seed_credential("service_credentials", "svc-abc1234", "tok", xc_clock.wall + DAY)
    # WHEN it is renewed with "7"
    xc_state.renew_credential("service_credentials", {"name": "svc-abc1234", "expiration_days": "7"})
    # THEN the expiry moved
    assert xc_state.credential("service_credentials", "svc-abc1234").expires_at == xc_clock.wall + 7 * DAY


@pytest.mark.parametrize("days", [0, -1, None, "x", True])
def test_renew_credential_invalid_days_raises_400(
    xc_state: XCState, xc_clock: FakeClock, days: object
) -> None:
    # GIVEN a credential
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall + DAY)
    # WHEN it is renewed with a bad expiration_days
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.renew_credential("api_credentials", {"name": "c", "expiration_days": days})
    # THEN 400 naming it
    assert info.value.field == "expiration_days"


def test_renew_credential_unknown_name_raises_404_code_5(xc_state: XCState) -> None:
    # GIVEN no credential
    # WHEN one is renewed
    with pytest.raises(NotFoundError) as info:
        xc_state.renew_credential("api_credentials", {"name": "ghost", "expiration_days": 7})
    # THEN 404/5
    assert info.value.code == 5


def test_renew_credential_wrong_kind_raises_404(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN an api credential
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall + DAY)
    # WHEN it is renewed through the service_credentials path
    # THEN it is not found there
    with pytest.raises(NotFoundError):
        xc_state.renew_credential("service_credentials", {"name": "c", "expiration_days": 7})


def test_renew_credential_expired_raises_400_and_keeps_expiry(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN an expired credential
    expired_at = xc_clock.wall - 1
    xc_state.seed_credential("api_credentials", "c", "tok", expired_at)
    # WHEN it is renewed
    with pytest.raises(XCAPIError) as info:
        xc_state.renew_credential("api_credentials", {"name": "c", "expiration_days": 7})
    # THEN 400/3 "expired" and nothing changes
    assert (info.value.status, info.value.code) == (400, 3)
    assert "expired" in info.value.message
    assert xc_state.credential("api_credentials", "c").expires_at == expired_at


def test_renew_credential_expired_with_switch_renews(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN renewing expired credentials allowed
    xc_state.configure(renew_expired_allowed=True)
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall - DAY)
    # WHEN it is renewed
    xc_state.renew_credential("api_credentials", {"name": "c", "expiration_days": 7})
    # THEN the token works again
    assert xc_state.authenticate("tok").credential == ("api_credentials", "c")


def test_renew_credential_revoked_raises_configured_status(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a revoked credential and a 403 refusal configured
    xc_state.configure(renew_refused_status=403)
    xc_state.seed_credential("service_credentials", "s", "tok", xc_clock.wall + DAY, active=False)
    # WHEN it is renewed
    with pytest.raises(XCAPIError) as info:
        xc_state.renew_credential("service_credentials", {"name": "s", "expiration_days": 7})
    # THEN 403/7 "not active"
    assert (info.value.status, info.value.code) == (403, 7)
    assert "not active" in info.value.message


def test_revoke_credential_token_then_401_and_activate_restores(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a seeded, valid credential token
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall + DAY)
    assert xc_state.authenticate("tok").email == XC_EMAIL
    # WHEN it is revoked
    assert xc_state.revoke_credential("api_credentials", {"name": "c", "namespace": "system"}) == {
        "status": True
    }
    # THEN the token is refused and the list shows it inactive
    with pytest.raises(UnauthenticatedError, match="revoked"):
        xc_state.authenticate("tok")
    assert xc_state.list_credentials("api_credentials")["items"][0]["active"] is False
    # AND activating restores it
    xc_state.activate_credential("api_credentials", {"name": "c", "namespace": "system"})
    assert xc_state.authenticate("tok").credential == ("api_credentials", "c")


def test_seed_credential_expired_token_raises_401(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a credential seeded as already expired
    xc_state.seed_credential("api_credentials", "c", "old-token", xc_clock.wall - 1)
    # WHEN its token is used
    # THEN 401
    with pytest.raises(UnauthenticatedError):
        xc_state.authenticate("old-token")


def test_seed_credential_replacing_name_drops_old_token(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a credential seeded twice under one name with different tokens
    xc_state.seed_credential("api_credentials", "c", "token-1", xc_clock.wall + DAY)
    xc_state.seed_credential("api_credentials", "c", "token-2", xc_clock.wall + DAY)
    # WHEN both tokens are used
    # THEN only the new one works
    with pytest.raises(UnauthenticatedError):
        xc_state.authenticate("token-1")
    assert xc_state.credential("api_credentials", "c").token == "token-2"


def test_get_credential_unknown_raises_404(xc_state: XCState) -> None:
    # GIVEN no credential
    # WHEN it is read
    # THEN 404
    with pytest.raises(NotFoundError):
        xc_state.get_credential("service_credentials", "ghost")


# --------------------------------------------------------------------------- config and dump


def test_configure_unknown_key_raises_400(xc_state: XCState) -> None:
    # GIVEN a typo in a config key
    # WHEN it is set
    # THEN it is refused and names the key
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.configure(validate_ref=True)
    assert info.value.field == "validate_ref"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cascade_delete_delay_ms", "10"),
        ("cascade_delete_delay_ms", True),
        ("validate_refs", 1),
        ("object_visibility_delay_ms_by_plural", {"origin_pools": "1"}),
    ],
)
def test_configure_wrong_type_raises_400(xc_state: XCState, key: str, value: object) -> None:
    # GIVEN a value of the wrong type
    # WHEN it is set
    # THEN it is refused and the config is unchanged
    before = xc_state.config
    with pytest.raises(InvalidArgumentError):
        xc_state.configure(**{key: value})
    assert xc_state.config == before


def test_reset_after_changes_restores_builtins_keeps_tokens(xc_state: XCState) -> None:
    # GIVEN a namespace, a user and a credential
    xc_state.create_namespace(_ns_body("pet-one"))
    xc_state.create_user_roles(_user_body("a@example.com"))
    created = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 1})
    # WHEN the state is reset
    xc_state.reset()
    # THEN only the built-ins remain, the credential token is gone, the static token still works
    assert [i["name"] for i in xc_state.list_namespaces()["items"]] == ["system", "shared", "default"]
    assert xc_state.list_user_roles()["items"] == []
    with pytest.raises(UnauthenticatedError):
        xc_state.authenticate(created["data"])
    xc_state.authenticate(XC_TOKEN)


def test_dump_with_objects_lists_them_per_namespace_and_plural(xc_state: XCState) -> None:
    # GIVEN a namespace with a pool
    xc_state.create_namespace(_ns_body("pet-one"))
    xc_state.create_object("pet-one", "origin_pools", _pool_body("pet-origin"))
    # WHEN the state is dumped
    dump = xc_state.dump()
    # THEN the pool shows under its namespace and plural
    assert [o["name"] for o in dump["objects"]["pet-one"]["origin_pools"]] == ["pet-origin"]
    assert {n["name"] for n in dump["namespaces"]} >= {"system", "shared", "default", "pet-one"}
    assert dump["tenant"] == XC_TENANT
