from __future__ import annotations

import pytest

from shared import names
from shared.errors import InputError


@pytest.mark.parametrize("value", ["a", "ample-gull", "ns1", "a" * 63, "x-1-y"])
def test_dns_label_accepts_valid(value):
    assert names.dns_label("namespace_name", value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [("", "non-empty"), ("1abc", "DNS-1035"), ("Abc", "DNS-1035"), ("abc-", "DNS-1035"),
     ("a_b", "DNS-1035"), ("a" * 64, "at most 63"), (None, "non-empty"), (5, "non-empty"),
     ("a.b", "DNS-1035")],
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


@pytest.mark.parametrize("value", ["", "jane", "jane@", "@example.com", "jane@example", "ja ne@example.com",
                                   "jane@@example.com", None, 3])
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
