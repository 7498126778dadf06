"""user_remove.models: payload validation, the mode choice, and the result body."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import InputError
from shared.names import NamespaceRole
from shared.xc.lists import DeletedObject
from tests.fixtures.direct import changed
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH
from user_remove.models import (
    Revocation,
    UserRemovalRequest,
    UserRemovalResult,
    parse_event,
)

BASE = TEST_BASE_PATH  # the base path of the sample events


def _event(**changes: Any) -> dict[str, Any]:
    return changed({"ssm_base_path": BASE, "email": "jane@example.com"}, **changes)


def test_parse_event_basic_event_is_delete_mode() -> None:
    # GIVEN the event udf_worker sends today
    # WHEN it is parsed
    request = parse_event(load_event("user_remove_basic"))
    # THEN the account is to be deleted
    assert request == UserRemovalRequest(BASE, "jane@example.com")
    assert request.mode == "delete"


def test_parse_event_with_roles_or_groups_is_revoke_mode() -> None:
    # GIVEN an event naming roles and groups to take away
    # WHEN it is parsed
    request = parse_event(load_event("user_remove_revoke"))
    # THEN only those are revoked; the account stays
    assert request.mode == "revoke"
    assert request.revoke == Revocation(
        namespace_roles=(NamespaceRole("ample-gull", "ves-io-admin-role"),), group_names=("xc-lab-users",)
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"group_names": []},
        {"namespace_roles": []},
        {"group_names": ["g"]},
        {"namespace_roles": [], "group_names": []},
    ],
)
def test_parse_event_any_revoke_key_even_empty_keeps_the_account(changes: dict[str, Any]) -> None:
    # GIVEN a revoke key, even with nothing in it
    # WHEN parsed
    # THEN the mode is revoke: an empty undo must never turn into an account deletion
    assert parse_event(_event(**changes)).mode == "revoke"


def test_parse_event_null_revoke_keys_mean_delete() -> None:
    assert parse_event(_event(group_names=None, namespace_roles=None)).mode == "delete"


@pytest.mark.parametrize("email", [..., None, "", 42, "not-an-email", "a@b", "a b@example.com"])
def test_parse_event_bad_email_names_the_field(email: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(email=email))
    assert info.value.field == "email"


def test_parse_event_event_file_with_bad_email_names_the_field() -> None:
    with pytest.raises(InputError) as info:
        parse_event(load_event("user_remove_bad_email"))
    assert info.value.field == "email"


@pytest.mark.parametrize("path", [..., None, "", "x/y", "/a b", 3])
def test_parse_event_bad_ssm_base_path_names_the_field(path: Any) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(ssm_base_path=path))
    assert info.value.field == "ssm_base_path"


@pytest.mark.parametrize(
    ("roles", "field"),
    [
        ("r", "namespace_roles"),
        ([5], "namespace_roles[0]"),
        ([{"namespace": "UPPER", "role": "r"}], "namespace_roles[0].namespace"),
        ([{"namespace": "ns"}], "namespace_roles[0].role"),
        ([{"namespace": "ns", "role": ""}], "namespace_roles[0].role"),
    ],
)
def test_parse_event_bad_role_entry_names_the_field(roles: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(namespace_roles=roles))
    assert info.value.field == field


@pytest.mark.parametrize(("groups", "field"), [("g", "group_names"), ([""], "group_names[0]")])
def test_parse_event_bad_group_names_name_the_field(groups: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_event(_event(group_names=groups))
    assert info.value.field == field


def test_result_to_body_delete_mode() -> None:
    result = UserRemovalResult(
        "jane@example.com", "delete", removed=True, deleted=(DeletedObject("jane@example.com", "user", "u1"),)
    )
    assert result.to_body() == {
        "email": "jane@example.com",
        "mode": "delete",
        "state": "removed",
        "removed": True,
        "deleted": [{"name": "jane@example.com", "type": "user", "uid": "u1"}],
        "updated": False,
        "removed_roles": [],
        "removed_groups": [],
    }


@pytest.mark.parametrize(
    ("result", "state"),
    [
        (UserRemovalResult("e@x.io", "delete", found=False), "absent"),
        (UserRemovalResult("e@x.io", "revoke", found=False), "absent"),
        (UserRemovalResult("e@x.io", "revoke"), "unchanged"),
        (UserRemovalResult("e@x.io", "revoke", updated=True, removed_groups=("g",)), "revoked"),
    ],
)
def test_result_state_names_the_outcome(result: UserRemovalResult, state: str) -> None:
    assert result.to_body()["state"] == state
