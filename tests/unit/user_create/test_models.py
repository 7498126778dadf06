"""user_create.models: payload validation, idm-type, and the result body."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ConfigError, InputError
from shared.names import NamespaceRole
from tests.fixtures.direct import changed
from tests.fixtures.events import load_event
from user_create.models import UserLookup, UserRequest, UserResult, parse_event, parse_idm_type

BASE = "/tenantOps-test/sec-lab"


def _event(**changes: Any) -> dict[str, Any]:
    base = {
        "ssm_base_path": BASE,
        "first_name": "Lab User",
        "last_name": "3f2a9c1e",
        "email": "jane@example.com",
    }
    return changed(base, **changes)


def _parse(event: Any) -> UserRequest:
    request = parse_event(event)
    assert isinstance(request, UserRequest)
    return request


def test_parse_event_basic_event_gives_sorted_request() -> None:
    # GIVEN the event udf_worker sends
    # WHEN it is parsed
    request = _parse(load_event("user_create_basic"))
    # THEN roles and groups are kept, in a deterministic order
    assert request.email == "jane@example.com"
    assert request.first_name == "Lab User"
    assert request.group_names == ("xc-lab-users",)
    assert request.namespace_roles == (
        NamespaceRole("ample-gull", "ves-io-admin-role"),
        NamespaceRole("shared", "f5xc-waap-monitor"),
    )


def test_parse_event_without_optional_lists_gives_empty_tuples() -> None:
    request = _parse(_event())
    assert request.group_names == ()
    assert request.namespace_roles == ()


def test_parse_event_duplicates_are_collapsed_and_sorted() -> None:
    # GIVEN repeated groups and roles in any order
    event = _event(
        group_names=["b", "a", "b"],
        namespace_roles=[
            {"namespace": "system", "role": "r2"},
            {"namespace": "default", "role": "r1"},
            {"namespace": "system", "role": "r2"},
        ],
    )
    # WHEN parsed
    request = _parse(event)
    # THEN each appears once, sorted
    assert request.group_names == ("a", "b")
    assert request.namespace_roles == (NamespaceRole("default", "r1"), NamespaceRole("system", "r2"))


@pytest.mark.parametrize("namespace", ["system", "shared", "default", "ample-gull"])
def test_parse_event_builtin_and_label_namespaces_are_accepted(namespace: str) -> None:
    event = _event(namespace_roles=[{"namespace": namespace, "role": "ves-io-monitor-role"}])
    assert _parse(event).namespace_roles[0].namespace == namespace


@pytest.mark.parametrize(
    "email",
    [
        ...,
        None,
        "",
        5,
        "jane",
        "jane@",
        "@example.com",
        "ja ne@example.com",
        "jane@example",
        "jane@@example.com",
    ],
)
def test_parse_event_bad_email_names_the_field(email: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(email=email))
    assert info.value.field == "email"


@pytest.mark.parametrize("key", ["first_name", "last_name"])
@pytest.mark.parametrize("value", [..., None, "", "   ", 7, "x" * 129])
def test_parse_event_bad_names_name_the_field(key: str, value: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(**{key: value}))
    assert info.value.field == key


@pytest.mark.parametrize("path", [..., None, "", "relative/path", "/with space", 1])
def test_parse_event_bad_ssm_base_path_names_the_field(path: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(ssm_base_path=path))
    assert info.value.field == "ssm_base_path"


@pytest.mark.parametrize(
    ("groups", "field"),
    [
        ("xc-lab-users", "group_names"),
        ({"a": 1}, "group_names"),
        (["ok", ""], "group_names[1]"),
        (["ok", 3], "group_names[1]"),
    ],
)
def test_parse_event_bad_group_names_name_the_field(groups: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(group_names=groups))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("roles", "field"),
    [
        ("ves-io-admin-role", "namespace_roles"),
        ({"namespace": "system", "role": "r"}, "namespace_roles"),
        (["system"], "namespace_roles[0]"),
        ([{"role": "r"}], "namespace_roles[0].namespace"),
        ([{"namespace": "Not_A_Label", "role": "r"}], "namespace_roles[0].namespace"),
        (
            [{"namespace": "system", "role": "r"}, {"namespace": "", "role": "r"}],
            "namespace_roles[1].namespace",
        ),
        ([{"namespace": 5, "role": "r"}], "namespace_roles[0].namespace"),
        ([{"namespace": "system"}], "namespace_roles[0].role"),
        ([{"namespace": "system", "role": ""}], "namespace_roles[0].role"),
        ([{"namespace": "system", "role": "  "}], "namespace_roles[0].role"),
        ([{"namespace": "system", "role": ["r"]}], "namespace_roles[0].role"),
        ([{"namespace": "system", "role": "r"}] * 101, "namespace_roles"),
    ],
)
def test_parse_event_bad_role_entry_names_the_field(roles: Any, field: str) -> None:
    # GIVEN a malformed namespace_roles value
    # WHEN the event is parsed
    with pytest.raises(InputError) as info:
        parse_event(_event(namespace_roles=roles))
    # THEN the error names the exact entry and key
    assert info.value.field == field


def test_parse_event_event_file_with_bad_role_names_the_entry() -> None:
    with pytest.raises(InputError) as info:
        parse_event(load_event("user_create_bad_role"))
    assert info.value.field == "namespace_roles[1].namespace"


@pytest.mark.parametrize("value", ["SSO", "VOLTERRA_MANAGED", " SSO "])
def test_parse_idm_type_known_value_is_accepted(value: str) -> None:
    assert parse_idm_type(BASE, value) == value.strip()


def test_parse_idm_type_missing_is_a_config_error_naming_the_parameter() -> None:
    with pytest.raises(ConfigError) as info:
        parse_idm_type(BASE, None)
    assert f"{BASE}/idm-type" in str(info.value)


def test_parse_idm_type_unknown_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_idm_type(BASE, "LDAP")
    assert "idm-type" in str(info.value)
    assert "LDAP" in str(info.value)


def test_result_to_body_lists_what_was_added() -> None:
    # GIVEN a merge that added one role and renamed the user
    role = NamespaceRole("ns", "ves-io-admin-role")
    result = UserResult(
        "jane@example.com",
        created=False,
        updated=True,
        added_roles=(role,),
        added_groups=(),
        namespace_roles=(role,),
        group_names=("g",),
        renamed_from=("Jane", "Doe"),
    )
    # WHEN it becomes a body
    body = result.to_body()
    # THEN a caller can see exactly what this call added
    assert body == {
        "email": "jane@example.com",
        "created": False,
        "state": "existed",
        "updated": True,
        "added_roles": [{"namespace": "ns", "role": "ves-io-admin-role"}],
        "added_groups": [],
        "renamed_from": {"first_name": "Jane", "last_name": "Doe"},
        "namespace_roles": [{"namespace": "ns", "role": "ves-io-admin-role"}],
        "group_names": ["g"],
    }


def test_parse_event_lookup_needs_only_path_and_email() -> None:
    request = parse_event(
        {"ssm_base_path": "/tenantOps-test/sec-lab", "email": "jane@example.com", "lookup": True}
    )
    assert request == UserLookup("/tenantOps-test/sec-lab", "jane@example.com")


@pytest.mark.parametrize("lookup", ["yes", 1, None])
def test_parse_event_lookup_must_be_a_boolean(lookup: Any) -> None:
    event = {"ssm_base_path": "/tenantOps-test/sec-lab", "email": "jane@example.com", "lookup": lookup}
    with pytest.raises(InputError) as info:
        parse_event(event)
    assert info.value.field == "lookup"
