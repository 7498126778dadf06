"""ns_create.models: payload validation and the result body."""

from __future__ import annotations

from typing import Any

import pytest

from ns_create.models import NamespaceRequest, NamespaceResult, parse_event
from shared.errors import InputError
from tests.fixtures.direct import changed
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH

BASE = TEST_BASE_PATH  # the base path of the sample events


def _event(**changes: Any) -> dict[str, Any]:
    return changed({"ssm_base_path": BASE, "namespace_name": "ample-gull"}, **changes)


def test_parse_event_basic_event_gives_request() -> None:
    # GIVEN the event udf_worker sends
    event = load_event("ns_create_basic")
    # WHEN it is parsed
    request = parse_event(event)
    # THEN every field is kept
    assert request == NamespaceRequest(BASE, "ample-gull", "UDF lab namespace")


@pytest.mark.parametrize("name", ["system", "shared", "default", "ves-io-shared"])
def test_parse_event_reserved_namespace_is_refused(name: str) -> None:
    # GIVEN a request for one of the tenant's own namespaces
    with pytest.raises(InputError) as info:
        parse_event(_event(namespace_name=name))
    # THEN it is refused before any call, naming the field and the value
    assert info.value.field == "namespace_name"
    assert "reserved" in str(info.value) and repr(name) in str(info.value)


@pytest.mark.parametrize("owner", ["", 7, "a b", "-x", "x" * 64, "a:b"])
def test_parse_event_bad_owner_names_the_field(owner: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(owner=owner))
    assert info.value.field == "owner"


def test_parse_event_owner_is_kept() -> None:
    assert parse_event(_event(owner="3f2a9c1e-7b4d-4e8a")).owner == "3f2a9c1e-7b4d-4e8a"


def test_parse_event_without_description_defaults_to_empty() -> None:
    assert parse_event(_event()).description == ""


def test_parse_event_unknown_keys_are_ignored() -> None:
    assert parse_event(_event(petname="x", extra={"a": 1})).namespace_name == "ample-gull"


@pytest.mark.parametrize("event", [None, [], "ns", 5])
def test_parse_event_not_an_object_names_event(event: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(event)
    assert info.value.field == "event"


@pytest.mark.parametrize("name", [..., None, "", 5, "Ample", "1abc", "a_b", "-a", "a-", "a.b", "x" * 64])
def test_parse_event_bad_namespace_name_names_the_field(name: Any) -> None:
    # GIVEN a missing, mistyped or non-DNS-1035 name
    # WHEN the event is parsed
    with pytest.raises(InputError) as info:
        parse_event(_event(namespace_name=name))
    # THEN the error names the field
    assert info.value.field == "namespace_name"
    assert "namespace_name" in str(info.value)


def test_parse_event_event_file_with_bad_name_names_the_field() -> None:
    with pytest.raises(InputError) as info:
        parse_event(load_event("ns_create_bad_name"))
    assert info.value.field == "namespace_name"


@pytest.mark.parametrize("path", [..., None, "", 7, "tenantOps/sec-lab", "/tenant Ops", "/a//b", "/a/"])
def test_parse_event_bad_ssm_base_path_names_the_field(path: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(ssm_base_path=path))
    assert info.value.field == "ssm_base_path"


@pytest.mark.parametrize("description", [5, ["a"], "x" * 1025])
def test_parse_event_bad_description_names_the_field(description: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(description=description))
    assert info.value.field == "description"


def test_parse_event_longest_valid_name_is_accepted() -> None:
    assert parse_event(_event(namespace_name="a" * 63)).namespace_name == "a" * 63


def test_result_to_body_reports_state_and_rounded_wait() -> None:
    # GIVEN results for a created and an existing namespace
    created = NamespaceResult("ns", created=True, waited_s=1.23456, create_attempts=2)
    existed = NamespaceResult("ns", created=False, waited_s=0.0, create_attempts=1)
    # WHEN they become bodies
    # THEN the state says which, and the wait is rounded
    assert created.to_body() == {
        "namespace": "ns",
        "owner": None,
        "created": True,
        "state": "created",
        "waited_s": 1.235,
        "create_attempts": 2,
    }
    assert existed.to_body()["state"] == "existed"
    assert existed.to_body()["created"] is False
