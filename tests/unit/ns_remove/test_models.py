"""ns_remove.models: payload validation and the result body."""

from __future__ import annotations

from typing import Any

import pytest

from ns_remove.models import RemovalRequest, RemovalResult, parse_event
from shared.errors import InputError
from shared.xc.lists import DeletedObject
from tests.fixtures.direct import changed
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH

BASE = TEST_BASE_PATH  # the base path of the sample events


def _event(**changes: Any) -> dict[str, Any]:
    return changed({"ssm_base_path": BASE, "namespace_name": "ample-gull"}, **changes)


def test_parse_event_basic_event_gives_request() -> None:
    assert parse_event(load_event("ns_remove_basic")) == RemovalRequest(BASE, "ample-gull")


@pytest.mark.parametrize("name", [..., None, "", 3, "Ample", "9lives", "a_b", "a-", "x" * 64])
def test_parse_event_bad_namespace_name_names_the_field(name: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(namespace_name=name))
    assert info.value.field == "namespace_name"


@pytest.mark.parametrize("name", ["system", "shared", "default", "ves-io-shared", "ves-x"])
def test_parse_event_reserved_namespace_is_refused(name: str) -> None:
    # GIVEN a request to remove one of the tenant's own namespaces
    # WHEN it is parsed
    with pytest.raises(InputError) as info:
        parse_event(_event(namespace_name=name))
    # THEN it is refused before any call, naming the field and the value
    assert info.value.field == "namespace_name"
    assert "reserved" in str(info.value) and repr(name) in str(info.value)


def test_parse_event_owner_is_kept_and_checked() -> None:
    assert parse_event(_event(owner="3f2a9c1e-7b4d")).owner == "3f2a9c1e-7b4d"
    assert parse_event(_event()).owner is None
    with pytest.raises(InputError) as info:
        parse_event(_event(owner="has space"))
    assert info.value.field == "owner"


def test_parse_event_event_file_with_bad_path_names_the_field() -> None:
    with pytest.raises(InputError) as info:
        parse_event(load_event("ns_remove_bad_path"))
    assert info.value.field == "ssm_base_path"


@pytest.mark.parametrize("path", [..., None, "", ["/a"], "no-slash", "/has space"])
def test_parse_event_bad_ssm_base_path_names_the_field(path: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(ssm_base_path=path))
    assert info.value.field == "ssm_base_path"


def test_parse_event_not_an_object_names_event() -> None:
    with pytest.raises(InputError) as info:
        parse_event(["ample-gull"])
    assert info.value.field == "event"


def test_result_to_body_lists_deleted_objects() -> None:
    # GIVEN a removal that deleted a pool and the namespace
    result = RemovalResult(
        "ns",
        removed=True,
        deleted=(DeletedObject("pool", "origin_pool", "u1"), DeletedObject("ns", "namespace", "u2")),
    )
    # WHEN it becomes a body
    body = result.to_body()
    # THEN the objects are listed with their count
    assert body == {
        "namespace": "ns",
        "owner": None,
        "removed": True,
        "state": "removed",
        "reason": "",
        "deleted_count": 2,
        "deleted": [
            {"name": "pool", "type": "origin_pool", "uid": "u1"},
            {"name": "ns", "type": "namespace", "uid": "u2"},
        ],
    }


def test_result_to_body_absent_namespace() -> None:
    assert RemovalResult("ns", removed=False).to_body() == {
        "namespace": "ns",
        "owner": None,
        "removed": False,
        "state": "absent",
        "reason": "",
        "deleted": [],
        "deleted_count": 0,
    }
