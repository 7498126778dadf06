"""Namespaces of the fake tenant (``devstack.xc.models.namespaces``), without HTTP on a fake clock."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack.xc.errors import AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError
from devstack.xc.models import XCState, rfc3339
from tests.fixtures.xc import XC_EMAIL, XC_TENANT, FakeClock, lb_body, namespace_body, pool_body

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
    result = xc_state.create_namespace(namespace_body("pet-one", description="lab"), creator=XC_EMAIL)
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
    created = xc_state.create_namespace(namespace_body("pet-one"))
    # WHEN it is read
    result = xc_state.get_namespace("pet-one")
    # THEN the GET envelope carries the extra arrays and the same uid
    assert result["system_metadata"]["uid"] == created["system_metadata"]["uid"]
    for key in ("status", "referring_objects", "deleted_referred_objects", "disabled_referred_objects"):
        assert result[key] == []


OWNER = {"tops-dep-id": "dep-7f3a"}


def test_create_namespace_owner_label_round_trips_through_get_and_list(xc_state: XCState) -> None:
    # GIVEN a namespace created for a UDF deployment: its owner label, an annotation, a description
    body = namespace_body("pet-one", labels=dict(OWNER), annotations={"note": "lab"}, description="lab")
    # WHEN it is created, read back, listed, and listed with report_fields
    created = xc_state.create_namespace(body)
    got = xc_state.get_namespace("pet-one")
    summary = next(i for i in xc_state.list_namespaces()["items"] if i["name"] == "pet-one")
    full = next(i for i in xc_state.list_namespaces(report_fields=True)["items"] if i["name"] == "pet-one")
    # THEN every answer carries exactly what was sent
    for metadata in (created["metadata"], got["metadata"], full["metadata"]):
        assert metadata["labels"] == OWNER
        assert metadata["annotations"] == {"note": "lab"}
        assert metadata["description"] == "lab"
    assert (summary["labels"], summary["annotations"], summary["description"]) == (
        OWNER,
        {"note": "lab"},
        "lab",
    )


def test_create_namespace_labels_are_kept_apart_from_callers_copies(xc_state: XCState) -> None:
    # GIVEN a namespace created with a labels dict the caller keeps
    labels = dict(OWNER)
    xc_state.create_namespace(namespace_body("pet-one", labels=labels))
    # WHEN the caller changes its dict, and an answer's labels are changed
    labels["tops-dep-id"] = "someone-else"
    xc_state.get_namespace("pet-one")["metadata"]["labels"]["extra"] = "x"
    next(i for i in xc_state.list_namespaces()["items"] if i["name"] == "pet-one")["labels"].clear()
    # THEN the stored labels are unchanged
    assert xc_state.get_namespace("pet-one")["metadata"]["labels"] == OWNER


def test_create_namespace_without_labels_reads_back_empty_labels(xc_state: XCState) -> None:
    # GIVEN a namespace created without labels (as ns_create does without an owner)
    xc_state.create_namespace(namespace_body("pet-one"))
    # WHEN it is read and listed / THEN its labels, like the built-ins', are an empty map
    assert xc_state.get_namespace("pet-one")["metadata"]["labels"] == {}
    assert {i["name"]: i["labels"] for i in xc_state.list_namespaces()["items"]} == {
        "system": {},
        "shared": {},
        "default": {},
        "pet-one": {},
    }


def test_create_namespace_again_after_cascade_delete_does_not_inherit_the_owner(xc_state: XCState) -> None:
    # GIVEN an owned namespace that was cascade-deleted
    xc_state.create_namespace(namespace_body("pet-one", labels=dict(OWNER)))
    xc_state.cascade_delete_namespace("pet-one")
    # WHEN the name is created again without a label
    xc_state.create_namespace(namespace_body("pet-one"))
    # THEN the old owner is gone with the old namespace
    assert xc_state.get_namespace("pet-one")["metadata"]["labels"] == {}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("labels", {"tops-dep-id": 7}),
        ("labels", ["tops-dep-id"]),
        ("labels", "dep-1"),
        ("annotations", {"a": None}),
    ],
)
def test_create_namespace_labels_not_a_string_map_raises_400_naming_field(
    xc_state: XCState, key: str, value: object
) -> None:
    # GIVEN labels or annotations that are not a string-to-string map (docs/xc-api.md §7.1)
    # WHEN a namespace is created with them
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_namespace(namespace_body("pet-one", **{key: value}))
    # THEN 400/3 naming the field, and nothing is created
    assert (info.value.status, info.value.code, info.value.field) == (400, 3, f"metadata.{key}")
    with pytest.raises(NotFoundError):
        xc_state.get_namespace("pet-one")


def test_create_namespace_duplicate_raises_409_code_6(xc_state: XCState) -> None:
    # GIVEN an existing namespace
    xc_state.create_namespace(namespace_body("pet-one"))
    # WHEN it is created again
    with pytest.raises(AlreadyExistsError) as info:
        xc_state.create_namespace(namespace_body("pet-one"))
    # THEN 409/6 "already exists"
    assert (info.value.status, info.value.code) == (409, 6)
    assert "already exists" in info.value.message


def test_create_namespace_builtin_name_raises_409(xc_state: XCState) -> None:
    # GIVEN the built-in shared namespace
    # WHEN someone creates it
    # THEN it already exists
    with pytest.raises(AlreadyExistsError):
        xc_state.create_namespace(namespace_body("shared"))


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
    xc_state.create_namespace(namespace_body("pet-one"))
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
    xc_state.create_namespace(namespace_body("pet-one"))
    # WHEN it is created again
    # THEN it already exists server-side
    with pytest.raises(AlreadyExistsError):
        xc_state.create_namespace(namespace_body("pet-one"))


def test_cascade_delete_namespace_with_objects_deletes_all_and_lists_them(xc_state: XCState) -> None:
    # GIVEN a namespace with a pool and a load balancer, and a pool in another namespace
    xc_state.create_namespace(namespace_body("pet-one"))
    xc_state.create_namespace(namespace_body("pet-two"))
    pool = xc_state.create_object("pet-one", "origin_pools", pool_body("pet-origin"))
    lb = xc_state.create_object("pet-one", "http_loadbalancers", lb_body("pet-lb", "pet-one", "pet-origin"))
    xc_state.create_object("pet-two", "origin_pools", pool_body("other-origin"))
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
    xc_state.create_namespace(namespace_body("pet-one"))
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
    xc_state.create_namespace(namespace_body("pet-one"))
    seen: dict[str, Any] = {}
    real_sleep = xc_clock.sleep

    def sleep_and_observe(seconds: float) -> None:
        seen["get"] = xc_state.get_namespace("pet-one")
        for label, call in {
            "create": lambda: xc_state.create_namespace(namespace_body("pet-one")),
            "pool": lambda: xc_state.create_object("pet-one", "origin_pools", pool_body("p")),
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
    xc_state.create_namespace(namespace_body("pet-one"))
    xc_state.cascade_delete_namespace("pet-one")
    # WHEN the name is created again within the block
    with pytest.raises(ConflictError) as info:
        xc_state.create_namespace(namespace_body("pet-one"))
    # THEN 409/10 "being deleted"
    assert (info.value.status, info.value.code) == (409, 10)
    assert "being deleted" in info.value.message
    # AND after the block the name is usable again
    xc_clock.advance(10.0)
    assert xc_state.create_namespace(namespace_body("pet-one"))["metadata"]["name"] == "pet-one"


def test_create_namespace_after_cascade_delete_without_block_succeeds_at_once(xc_state: XCState) -> None:
    # GIVEN default config (no reuse block)
    xc_state.create_namespace(namespace_body("pet-one"))
    xc_state.cascade_delete_namespace("pet-one")
    # WHEN the name is reused immediately
    result = xc_state.create_namespace(namespace_body("pet-one"))
    # THEN it works
    assert result["metadata"]["name"] == "pet-one"
