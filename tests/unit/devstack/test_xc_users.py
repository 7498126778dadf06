"""Users (``devstack.xc.models.users``), without HTTP on a fake clock."""

from __future__ import annotations

import pytest

from devstack.xc.errors import InvalidArgumentError, NotFoundError, XCAPIError
from devstack.xc.models import XCState
from tests.fixtures.xc import XC_TENANT, user_body

# --------------------------------------------------------------------------- users


def test_create_user_roles_without_name_defaults_name_to_email(xc_state: XCState) -> None:
    # GIVEN a user request without name
    # WHEN it is created
    result = xc_state.create_user_roles(user_body("Student@Example.com"))
    # THEN the user object's name is the email
    assert result["metadata"]["name"] == "Student@Example.com"
    item = xc_state.list_user_roles()["items"][0]
    assert item["name"] == item["email"] == "Student@Example.com"


def test_list_user_roles_items_have_documented_fields(xc_state: XCState) -> None:
    # GIVEN one user
    xc_state.create_user_roles(user_body("a@example.com", group_names=["g1"]))
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
    body = user_body("a@example.com")
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
        xc_state.create_user_roles(user_body("a@example.com", namespace_roles=[{"namespace": "system"}]))
    # THEN 400 naming it
    assert info.value.field == "namespace_roles[0].role"


def test_create_user_roles_duplicate_email_any_case_raises_409_code_6_already_exist(
    xc_state: XCState,
) -> None:
    # GIVEN an existing user
    xc_state.create_user_roles(user_body("student@example.com"))
    # WHEN the same email in another case is created
    with pytest.raises(XCAPIError) as info:
        xc_state.create_user_roles(user_body("STUDENT@example.com"))
    # THEN 409/6 with "already exist" in the message (the worker's substring)
    assert (info.value.status, info.value.code) == (409, 6)
    assert "already exist" in info.value.message
    assert len(xc_state.list_user_roles()["items"]) == 1


def test_create_user_roles_duplicate_with_configured_status_and_message_uses_them(xc_state: XCState) -> None:
    # GIVEN a different inferred duplicate answer
    xc_state.configure(duplicate_user_status=400, duplicate_user_message="{email} already exists in tenant")
    xc_state.create_user_roles(user_body("a@example.com"))
    # WHEN the user is created again
    with pytest.raises(XCAPIError) as info:
        xc_state.create_user_roles(user_body("a@example.com"))
    # THEN the configured status, its code and message apply
    assert (info.value.status, info.value.code) == (400, 3)
    assert info.value.message == "a@example.com already exists in tenant"


def test_update_user_roles_existing_replaces_role_and_group_sets(xc_state: XCState) -> None:
    # GIVEN a user with two roles and two groups
    xc_state.create_user_roles(
        user_body(
            "a@example.com",
            namespace_roles=[{"namespace": "system", "role": "r1"}, {"namespace": "shared", "role": "r2"}],
            group_names=["g1", "g2"],
        )
    )
    # WHEN an update sends a different, smaller set and new names
    body = user_body(
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
    xc_state.create_user_roles(user_body("a@example.com"))
    # WHEN an update omits namespace_roles and group_names
    body = user_body("a@example.com")
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
        xc_state.update_user_roles(user_body("ghost@example.com"))
    # THEN 404/5
    assert info.value.code == 5


def test_user_create_merge_flow_worker_style_ends_with_union(xc_state: XCState) -> None:
    # GIVEN an existing user, and the worker's merge on "already exist"
    xc_state.create_user_roles(user_body("a@example.com", group_names=["g1"]))
    wanted = user_body("a@example.com", namespace_roles=[{"namespace": "pet", "role": "ves-io-admin-role"}])
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
            user_body("a@example.com", namespace_roles=[{"namespace": "ghost", "role": "r"}])
        )
    # THEN 400 naming it; by default the same request is accepted
    assert info.value.field == "namespace_roles[0].namespace"
    xc_state.configure(validate_user_role_namespaces=False)
    xc_state.create_user_roles(
        user_body("a@example.com", namespace_roles=[{"namespace": "ghost", "role": "r"}])
    )


def test_cascade_delete_user_existing_removes_user_and_reports_it(xc_state: XCState) -> None:
    # GIVEN a user
    created = xc_state.create_user_roles(user_body("a@example.com"))
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
    xc_state.create_user_roles(user_body("a@example.com", group_names=["g1"]))
    # WHEN g2 is added and g1 removed
    xc_state.add_user_groups({"username": "a@example.com", "group_names": ["g2", "g1"]})
    xc_state.remove_user_groups({"username": "a@example.com", "group_names": ["g1"]})
    # THEN only g2 remains and roles are untouched
    item = xc_state.user("a@example.com")
    assert item is not None
    assert item["group_names"] == ["g2"]
    assert item["namespace_roles"] == [{"namespace": "system", "role": "ves-io-monitor-role"}]
