"""shared.xc.lists: list answers (`items`, `errors`) and cascade_delete answers."""

from __future__ import annotations

from typing import Any

import pytest

from shared.xc import lists
from shared.xc.errors import XCError, XCPartialListError
from shared.xc.lists import DeletedObject


def _item(name: str, kind: str, uid: str, error: str | None = "") -> dict[str, Any]:
    return {"object_name": name, "object_type": kind, "object_uid": uid, "error_message": error}


def test_items_absent_means_empty_and_errors_are_raised():
    assert lists.items({}, "users") == []
    with pytest.raises(XCPartialListError) as info:
        lists.items({"items": [{"name": "a"}], "errors": [{"code": 13}]}, "users")
    assert info.value.items == [{"name": "a"}]


def test_cascade_result_splits_deleted_from_failed():
    # GIVEN an answer with two deleted objects and one that reports an error
    body = {
        "items": [
            _item("pool", "origin_pool", "u1"),
            _item("lb", "http_loadbalancer", "u2", "still referenced"),
            _item("ns", "namespace", "u3", None),
        ]
    }
    # WHEN read
    deleted, failed = lists.cascade_result(body, "namespace ns")
    # THEN both halves are kept, in order
    assert deleted == (DeletedObject("pool", "origin_pool", "u1"), DeletedObject("ns", "namespace", "u3"))
    assert failed == ((DeletedObject("lb", "http_loadbalancer", "u2"), "still referenced"),)


def test_cascade_result_empty_or_missing_items_is_nothing_deleted():
    assert lists.cascade_result({}, "user jane@example.com") == ((), ())
    assert lists.cascade_result({"items": None, "delete_ok": True}, "user jane@example.com") == ((), ())


def test_cascade_result_missing_fields_become_empty_strings():
    deleted, _ = lists.cascade_result({"items": [{}]}, "namespace ns")
    assert deleted == (DeletedObject("", "", ""),)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ([1, 2], "cascade delete of namespace ns returned list, not an object"),
        ({"items": "x"}, "cascade delete of namespace ns returned items of type str"),
        ({"items": ["x"]}, "cascade delete of namespace ns returned an item that is not an object"),
    ],
)
def test_cascade_result_malformed_answer_raises_naming_the_target(body, why):
    with pytest.raises(XCError) as info:
        lists.cascade_result(body, "namespace ns")
    assert str(info.value) == why


def test_deleted_object_to_body():
    assert DeletedObject("pool", "origin_pool", "u1").to_body() == {
        "name": "pool",
        "type": "origin_pool",
        "uid": "u1",
    }


def test_describe_failures_lists_the_first_ten_masked_and_bounded():
    # GIVEN twelve failures, one message holding an auth header
    failed = [(DeletedObject(f"o{i}", "t", "u"), "boom") for i in range(12)]
    failed[0] = (DeletedObject("o0", "t", "u"), "APIToken abcdefghijkl denied")
    # WHEN described
    text = lists.describe_failures(failed)
    # THEN the first ten are named, the token is masked
    assert text.startswith("t o0: APIToken *** denied; t o1: boom")
    assert "o9" in text and "o10" not in text
    assert "abcdefghijkl" not in text
    assert len(lists.describe_failures([(DeletedObject("o", "t", "u"), "x" * 5000)])) == 1000
