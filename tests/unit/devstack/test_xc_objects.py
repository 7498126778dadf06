"""Config objects and references (``devstack.xc.models.objects``), without HTTP on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.pki import certificate_body, self_signed
from devstack.xc.errors import AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError
from devstack.xc.models import XCState, iter_refs, ref_target_plural
from tests.fixtures.xc import XC_TENANT, FakeClock, epoch, lb_body, pool_body

# --------------------------------------------------------------------------- generic config objects


def test_create_object_without_metadata_namespace_binds_path_namespace(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN a caaslab-style pool body without metadata.namespace
    body = pool_body("pet-mosquitto")
    assert "namespace" not in body["metadata"]
    # WHEN it is created under the namespace path
    result = xc_state.create_object(pet_ns, "origin_pools", body)
    # THEN the namespace comes from the path
    assert result["metadata"]["namespace"] == pet_ns
    assert xc_state.get_object(pet_ns, "origin_pools", "pet-mosquitto")["metadata"]["namespace"] == pet_ns


def test_create_object_matching_metadata_namespace_is_accepted(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a body whose metadata.namespace equals the path
    # WHEN it is created
    result = xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin", pet_ns))
    # THEN it is stored there
    assert result["metadata"]["namespace"] == pet_ns


def test_create_object_mismatched_metadata_namespace_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a body naming another namespace than the path
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin", "shared"))
    # THEN 400 naming metadata.namespace, nothing stored
    assert info.value.field == "metadata.namespace"
    assert xc_state.object_names(pet_ns, "origin_pools") == []


def test_create_object_duplicate_raises_409_code_6(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN an existing pool
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    # WHEN it is created again
    with pytest.raises(AlreadyExistsError) as info:
        xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    # THEN 409/6 with the observed wording
    assert info.value.body() == {"code": 6, "details": [], "message": "Object already exists"}


def test_create_object_same_name_other_plural_or_namespace_is_independent(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN a pool named x in pet-one
    xc_state.create_object(pet_ns, "origin_pools", pool_body("x"))
    # WHEN x is created as another type and in another namespace
    xc_state.create_object(pet_ns, "http_loadbalancers", {"metadata": {"name": "x"}, "spec": {}})
    xc_state.create_object("shared", "origin_pools", pool_body("x"))
    # THEN all three exist
    assert xc_state.object_names(pet_ns, "http_loadbalancers") == ["x"]
    assert xc_state.object_names("shared", "origin_pools") == ["x"]


def test_create_object_missing_namespace_raises_404(xc_state: XCState) -> None:
    # GIVEN no namespace "ghost"
    # WHEN an object is created in it
    with pytest.raises(NotFoundError) as info:
        xc_state.create_object("ghost", "origin_pools", pool_body("pet-origin"))
    # THEN 404/5
    assert info.value.code == 5


@pytest.mark.parametrize("name", ["Pet-Origin", "pet_origin", "9pool", None])
def test_create_object_invalid_name_raises_400_naming_metadata_name(
    xc_state: XCState, pet_ns: str, name: object
) -> None:
    # GIVEN an invalid metadata.name
    body = pool_body("placeholder")
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
    body = pool_body("pet-origin")
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
    created = xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
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
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
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
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    # WHEN it is created again
    # THEN the duplicate is detected
    with pytest.raises(AlreadyExistsError):
        xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))


def test_list_objects_default_returns_summaries_only(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool with labels and a description
    body = pool_body("pet-origin")
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


def test_replace_object_new_labels_replace_the_old_everywhere(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a labelled pool
    body = pool_body("pet-origin")
    body["metadata"]["labels"] = {"a": "b", "tops-dep-id": "dep-1"}
    xc_state.create_object(pet_ns, "origin_pools", body)
    # WHEN it is replaced with other labels
    body["metadata"]["labels"] = {"c": "d"}
    replaced = xc_state.replace_object(pet_ns, "origin_pools", "pet-origin", body)
    # THEN the new set, not a merge, comes back from the replace, GET and the list
    assert replaced["metadata"]["labels"] == {"c": "d"}
    assert xc_state.get_object(pet_ns, "origin_pools", "pet-origin")["metadata"]["labels"] == {"c": "d"}
    assert xc_state.list_objects(pet_ns, "origin_pools")["items"][0]["labels"] == {"c": "d"}


def test_create_object_labels_not_a_string_map_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool whose label value is a number
    body = pool_body("pet-origin")
    body["metadata"]["labels"] = {"port": 80}
    # WHEN it is created / THEN 400 naming metadata.labels, and nothing is stored
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(pet_ns, "origin_pools", body)
    assert info.value.field == "metadata.labels"
    assert xc_state.object_names(pet_ns, "origin_pools") == []


def test_list_objects_report_fields_adds_full_fields(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
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
    created = xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin", no_tls={}))
    xc_clock.advance(60)
    # WHEN it is replaced with a body lacking that field
    result = xc_state.replace_object(pet_ns, "origin_pools", "pet-origin", pool_body("pet-origin", port=80))
    # THEN the spec is exactly the new one, the uid and creation time stay, modification moves
    got = xc_state.get_object(pet_ns, "origin_pools", "pet-origin")
    assert got["spec"] == pool_body("x", port=80)["spec"]
    assert "no_tls" not in got["spec"]
    assert result["system_metadata"]["uid"] == created["system_metadata"]["uid"]
    old, new = created["system_metadata"], got["system_metadata"]
    assert new["creation_timestamp"] == old["creation_timestamp"]
    assert epoch(new["modification_timestamp"]) - epoch(old["modification_timestamp"]) == 60


def test_replace_object_missing_raises_404(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN no pool
    # WHEN it is replaced
    # THEN 404/5
    with pytest.raises(NotFoundError):
        xc_state.replace_object(pet_ns, "origin_pools", "pet-origin", pool_body("pet-origin"))


def test_replace_object_name_mismatch_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN a pool
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    # WHEN it is replaced with a body naming another object
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.replace_object(pet_ns, "origin_pools", "pet-origin", pool_body("other"))
    # THEN 400 naming metadata.name
    assert info.value.field == "metadata.name"


@pytest.mark.parametrize(
    "body", [None, {}, {"name": "pet-origin", "namespace": "pet-one", "fail_if_referred": True}]
)
def test_delete_object_with_or_without_body_returns_empty_dict(
    xc_state: XCState, pet_ns: str, body: dict[str, Any] | None
) -> None:
    # GIVEN a pool
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
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
    body = lb_body("pet-lb", pet_ns, "missing-pool", kind="origin_pool", tenant="f5-xc-lab-sec-lpuwkdtb")
    # WHEN an LB referring to a missing pool in another tenant is created
    result = xc_state.create_object(pet_ns, "http_loadbalancers", body)
    # THEN it is accepted and stored with kind and tenant kept
    assert result["spec"]["default_route_pools"][0]["pool"]["kind"] == "origin_pool"


def test_create_object_ref_foreign_tenant_with_check_raises_400(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN the tenant check on
    xc_state.configure(check_ref_tenant=True)
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    # WHEN a ref carries another tenant's id
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(
            pet_ns,
            "http_loadbalancers",
            lb_body("pet-lb", pet_ns, "pet-origin", tenant="f5-xc-lab-sec-lpuwkdtb"),
        )
    # THEN 400 naming the ref's tenant field
    assert info.value.field == "spec.default_route_pools[0].pool.tenant"
    # AND the own tenant id passes
    xc_state.create_object(
        pet_ns, "http_loadbalancers", lb_body("pet-lb", pet_ns, "pet-origin", tenant=XC_TENANT)
    )


def test_create_object_ref_to_missing_object_with_validation_raises_400(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN ref validation on and no pool
    xc_state.configure(validate_refs=True)
    # WHEN an LB refers to the missing pool
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object(pet_ns, "http_loadbalancers", lb_body("pet-lb", pet_ns, "pet-origin"))
    # THEN 400 naming the ref and nothing stored
    assert info.value.field == "spec.default_route_pools[0].pool"
    assert xc_state.object_names(pet_ns, "http_loadbalancers") == []


def test_create_object_ref_to_existing_object_with_validation_and_kind_accepted(
    xc_state: XCState, pet_ns: str
) -> None:
    # GIVEN ref validation on, a pool and a shared certificate
    xc_state.configure(validate_refs=True)
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    cert, key = self_signed().pem_pair
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert, key))
    body = lb_body("pet-lb", pet_ns, "pet-origin", kind="origin_pool")
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
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    # WHEN an LB refers to it too early
    # THEN it fails, and succeeds once the pool is visible
    with pytest.raises(InvalidArgumentError):
        xc_state.create_object(pet_ns, "http_loadbalancers", lb_body("pet-lb", pet_ns, "pet-origin"))
    xc_clock.advance(1.0)
    xc_state.create_object(pet_ns, "http_loadbalancers", lb_body("pet-lb", pet_ns, "pet-origin"))


def test_get_object_referenced_pool_lists_referring_objects(xc_state: XCState, pet_ns: str) -> None:
    # GIVEN an LB that refers to a pool
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    lb = xc_state.create_object(pet_ns, "http_loadbalancers", lb_body("pet-lb", pet_ns, "pet-origin"))
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
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    xc_state.create_object(pet_ns, "http_loadbalancers", lb_body("pet-lb", pet_ns, "pet-origin"))
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
    xc_state.create_object(pet_ns, "origin_pools", pool_body("pet-origin"))
    xc_state.create_object(pet_ns, "http_loadbalancers", lb_body("pet-lb", pet_ns, "pet-origin"))
    # WHEN the pool is deleted with fail_if_referred
    # THEN the flag is not enforced
    assert xc_state.delete_object(pet_ns, "origin_pools", "pet-origin", {"fail_if_referred": True}) == {}
