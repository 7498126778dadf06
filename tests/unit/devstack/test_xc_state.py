"""What spans the families (``devstack.xc.models.state``): whoami, reset and dump."""

from __future__ import annotations

import pytest

from devstack.xc.errors import UnauthenticatedError
from devstack.xc.models import XCState
from tests.fixtures.xc import XC_EMAIL, XC_TENANT, XC_TOKEN, namespace_body, pool_body, user_body


def test_whoami_static_token_returns_user_detail_fields(xc_state: XCState) -> None:
    # GIVEN an authenticated caller
    identity = xc_state.authenticate(XC_TOKEN)
    # WHEN whoami is asked
    detail = xc_state.whoami(identity)
    # THEN the documented user-detail fields are present
    for key in ("email", "name", "tenant", "namespace_roles", "idm_type", "type", "state", "plan_type"):
        assert key in detail
    assert detail["tenant"] == XC_TENANT
    assert detail["email"] == XC_EMAIL
    assert detail["namespace_access"]["namespace_role_map"]["system"]["roles"] == ["ves-io-admin-role"]


def test_whoami_caller_known_as_user_reports_that_users_roles(xc_state: XCState) -> None:
    # GIVEN a user record for the caller's email
    xc_state.create_user_roles(
        user_body(XC_EMAIL.upper(), namespace_roles=[{"namespace": "shared", "role": "r1"}])
    )
    # WHEN whoami is asked
    detail = xc_state.whoami(xc_state.authenticate(XC_TOKEN))
    # THEN the user's roles are reported
    assert detail["namespace_roles"] == [{"namespace": "shared", "role": "r1"}]


def test_reset_after_changes_restores_builtins_keeps_tokens(xc_state: XCState) -> None:
    # GIVEN a namespace, a user and a credential
    xc_state.create_namespace(namespace_body("pet-one"))
    xc_state.create_user_roles(user_body("a@example.com"))
    created = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 1})
    # WHEN the state is reset
    xc_state.reset()
    # THEN only the built-ins remain, the credential token is gone, the static token still works
    assert [i["name"] for i in xc_state.list_namespaces()["items"]] == ["system", "shared", "default"]
    assert xc_state.list_user_roles()["items"] == []
    with pytest.raises(UnauthenticatedError):
        xc_state.authenticate(created["data"])
    xc_state.authenticate(XC_TOKEN)


def test_dump_with_objects_lists_them_per_namespace_and_plural(xc_state: XCState) -> None:
    # GIVEN a namespace with a pool
    xc_state.create_namespace(namespace_body("pet-one"))
    xc_state.create_object("pet-one", "origin_pools", pool_body("pet-origin"))
    # WHEN the state is dumped
    dump = xc_state.dump()
    # THEN the pool shows under its namespace and plural
    assert [o["name"] for o in dump["objects"]["pet-one"]["origin_pools"]] == ["pet-origin"]
    assert {n["name"] for n in dump["namespaces"]} >= {"system", "shared", "default", "pet-one"}
    assert dump["tenant"] == XC_TENANT
