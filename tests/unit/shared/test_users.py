"""shared.xc.users: reading roles and groups off a user list item."""

from __future__ import annotations

from shared.names import NamespaceRole
from shared.xc import users


def test_roles_of_keeps_well_formed_entries_only():
    # GIVEN a user list item with good, partial and malformed role entries
    user = {
        "namespace_roles": [
            {"namespace": "ample-gull", "role": "ves-io-admin-role"},
            {"namespace": "ample-gull", "role": "ves-io-admin-role"},
            {"namespace": "system", "role": ""},
            {"role": "r"},
            "system",
            {"namespace": "shared", "role": "f5xc-waap-monitor", "extra": 1},
        ]
    }
    # WHEN read / THEN only the complete bindings remain, once each
    assert users.roles_of(user) == {
        NamespaceRole("ample-gull", "ves-io-admin-role"),
        NamespaceRole("shared", "f5xc-waap-monitor"),
    }


def test_roles_of_and_groups_of_missing_or_null_are_empty():
    assert users.roles_of({}) == set() and users.roles_of({"namespace_roles": None}) == set()
    assert users.groups_of({}) == set() and users.groups_of({"group_names": None}) == set()


def test_groups_of_drops_empty_names():
    assert users.groups_of({"group_names": ["xc-lab-users", "", None, "xc-lab-users", "ops"]}) == {
        "xc-lab-users",
        "ops",
    }
