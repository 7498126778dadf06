from __future__ import annotations

import pytest

from shared import names
from shared.errors import InputError


@pytest.mark.parametrize("value", ["a", "ample-gull", "ns1", "a" * 63, "x-1-y"])
def test_dns_label_accepts_valid(value):
    assert names.dns_label("namespace_name", value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "non-empty"),
        ("1abc", "DNS-1035"),
        ("Abc", "DNS-1035"),
        ("abc-", "DNS-1035"),
        ("a_b", "DNS-1035"),
        ("a" * 64, "at most 63"),
        (None, "non-empty"),
        (5, "non-empty"),
        ("a.b", "DNS-1035"),
    ],
)
def test_dns_label_rejects_with_field_and_value(value, why):
    with pytest.raises(InputError) as info:
        names.dns_label("petname", value)
    assert info.value.field == "petname"
    assert str(info.value).startswith("invalid petname:")
    assert why in str(info.value)


@pytest.mark.parametrize("value", ["jane@example.com", "a.b+c@sub.example.co.uk"])
def test_email_accepts_plausible(value):
    assert names.email("email", value) == value


@pytest.mark.parametrize(
    "value",
    ["", "jane", "jane@", "@example.com", "jane@example", "ja ne@example.com", "jane@@example.com", None, 3],
)
def test_email_rejects_with_field(value):
    with pytest.raises(InputError) as info:
        names.email("email", value)
    assert info.value.field == "email" and repr(value)[:10] in str(info.value)


def test_text_bounds_and_required():
    assert names.text("dep_id", "abc") == "abc"
    assert names.text("description", None, required=False) == ""
    with pytest.raises(InputError, match="dep_id"):
        names.text("dep_id", "   ")
    with pytest.raises(InputError, match="at most 3"):
        names.text("dep_id", "abcd", max_len=3)
    with pytest.raises(InputError, match="must be a string"):
        names.text("dep_id", 12)


def test_string_list_validates_entries_by_index():
    assert names.string_list("group_names", None) == ()
    assert names.string_list("group_names", ["a", "b"]) == ("a", "b")
    with pytest.raises(InputError) as info:
        names.string_list("group_names", ["a", ""])
    assert info.value.field == "group_names[1]"
    with pytest.raises(InputError, match="list of strings"):
        names.string_list("group_names", "a")


def test_sorted_unique_collapses_and_sorts():
    assert names.sorted_unique(["b", "a", "b"]) == ("a", "b")
    assert names.sorted_unique(set()) == ()


def test_namespace_role_orders_and_serialises():
    roles = [
        names.NamespaceRole("system", "r"),
        names.NamespaceRole("default", "z"),
        names.NamespaceRole("default", "a"),
    ]
    assert sorted(roles) == [roles[2], roles[1], roles[0]]
    assert roles[0].to_body() == {"namespace": "system", "role": "r"}


def test_namespace_roles_none_is_empty():
    assert names.namespace_roles("namespace_roles", None) == ()


def test_namespace_roles_collapses_duplicates_sorts_and_strips_roles():
    # GIVEN repeated bindings in any order, one role with spaces around it
    value = [
        {"namespace": "system", "role": "r2"},
        {"namespace": "default", "role": " r1 "},
        {"namespace": "system", "role": "r2", "extra": "ignored"},
    ]
    # WHEN parsed
    roles = names.namespace_roles("namespace_roles", value)
    # THEN each binding appears once, sorted, the role stripped
    assert roles == (names.NamespaceRole("default", "r1"), names.NamespaceRole("system", "r2"))


@pytest.mark.parametrize("namespace", ["system", "shared", "default", "ample-gull"])
def test_namespace_roles_accepts_builtin_and_label_namespaces(namespace):
    roles = names.namespace_roles("roles", [{"namespace": namespace, "role": "ves-io-monitor-role"}])
    assert roles[0].namespace == namespace


@pytest.mark.parametrize(
    ("value", "field", "why"),
    [
        ("ves-io-admin-role", "namespace_roles", "list of {namespace, role} objects, got str"),
        ({"namespace": "system", "role": "r"}, "namespace_roles", "got dict"),
        ([{"namespace": "system", "role": "r"}] * 101, "namespace_roles", "at most 100 entries, got 101"),
        (["system"], "namespace_roles[0]", "JSON object"),
        ([{"role": "r"}], "namespace_roles[0].namespace", "non-empty"),
        ([{"namespace": "Not_A_Label", "role": "r"}], "namespace_roles[0].namespace", "DNS-1035"),
        ([{"namespace": "ns"}], "namespace_roles[0].role", "must be a string"),
        ([{"namespace": "ns", "role": "  "}], "namespace_roles[0].role", "non-empty"),
        ([{"namespace": "ns", "role": "r" * 129}], "namespace_roles[0].role", "at most 128"),
        (
            [{"namespace": "ns", "role": "r"}, {"namespace": "", "role": "r"}],
            "namespace_roles[1].namespace",
            "non-empty",
        ),
    ],
)
def test_namespace_roles_rejects_naming_entry_and_key(value, field, why):
    with pytest.raises(InputError) as info:
        names.namespace_roles("namespace_roles", value)
    assert info.value.field == field
    assert why in str(info.value)


@pytest.mark.parametrize("value", ["lab-sec.f5demos.com", "_acme-challenge.lab-sec.f5demos.com", "a.b"])
def test_hostname_accepts_dns_names(value):
    assert names.hostname("DOMAIN", value) == value


@pytest.mark.parametrize("value", ["localhost", "Lab.example.com", "a..b", "-a.b", "a.b.", "", None, "a b.c"])
def test_hostname_rejects_with_field(value):
    with pytest.raises(InputError) as info:
        names.hostname("LAB_DOMAIN", value)
    assert info.value.field == "LAB_DOMAIN" and "must be a DNS name" in str(info.value)


@pytest.mark.parametrize("name", ["system", "shared", "default", "ves-io-shared", "ves-anything"])
def test_lab_namespace_refuses_reserved_names(name):
    with pytest.raises(InputError) as info:
        names.lab_namespace("petname", name)
    assert info.value.field == "petname" and repr(name) in str(info.value) and "reserved" in str(info.value)


@pytest.mark.parametrize("name", ["ample-gull", "vest", "ves", "systems", "my-shared"])
def test_lab_namespace_accepts_other_labels(name):
    assert names.lab_namespace("petname", name) == name


@pytest.mark.parametrize("value", ["3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c", "a", "dep_1.x"])
def test_deployment_id_accepts_label_values(value):
    assert names.deployment_id("dep_id", value) == value


@pytest.mark.parametrize("value", ["", None, 5, "x" * 64, "a:b", "-a", "a-", "a b", "a/b"])
def test_deployment_id_rejects_what_a_label_value_cannot_hold(value):
    with pytest.raises(InputError) as info:
        names.deployment_id("dep_id", value)
    assert info.value.field == "dep_id"
