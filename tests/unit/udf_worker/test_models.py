from __future__ import annotations

from typing import Any

import pytest

from shared.errors import InputError
from udf_worker.models import DeploymentState, Role, UserChange, UserFound, parse_lab_config

ROW: dict[str, Any] = {
    "lab_id": "648ecc3e",
    "description": "API Lab",
    "ssm_base_path": "/tenantOps/sec-lab",
    "group_names": ["xc-lab-users"],
    "namespace_roles": [{"namespace": "shared", "role": "f5xc-waap-monitor"}],
    "user_ns": True,
    "pre_lambda": "arn:aws:lambda:us-east-1:1:function:tops-udf-helper-apilab-pre",
    "post_lambda": None,
}


def test_parse_lab_config_deployed_row_is_read() -> None:
    lab = parse_lab_config(ROW)

    assert lab.namespace_roles == (Role("shared", "f5xc-waap-monitor"),)
    assert lab.group_names == ("xc-lab-users",)
    assert lab.user_ns is True
    assert lab.pre_lambda == ROW["pre_lambda"]
    assert lab.post_lambda is None


def test_parse_lab_config_null_lists_mean_none() -> None:
    lab = parse_lab_config({**ROW, "group_names": None, "namespace_roles": None, "pre_lambda": ""})

    assert (lab.group_names, lab.namespace_roles, lab.pre_lambda) == ((), (), None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ssm_base_path": None}, "ssm_base_path"),
        ({"ssm_base_path": "tenantOps/sec-lab"}, "ssm_base_path"),
        ({"user_ns": "yes"}, "user_ns"),
        ({"namespace_roles": [{"namespace": "shared"}]}, "namespace_roles[0].role"),
        ({"namespace_roles": ["shared/x"]}, "namespace_roles[0]"),
        ({"namespace_roles": {"namespace": "shared"}}, "namespace_roles"),
        ({"group_names": [3]}, "group_names[0]"),
        ({"pre_lambda": 5}, "pre_lambda"),
    ],
)
def test_parse_lab_config_invalid_row_names_the_attribute(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_lab_config({**ROW, **change})

    assert caught.value.field == field


@pytest.mark.parametrize("missing", ["ssm_base_path", "group_names", "namespace_roles", "user_ns"])
def test_parse_lab_config_required_attribute_missing_is_named(missing: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_lab_config({k: v for k, v in ROW.items() if k != missing})

    assert caught.value.field == missing


def test_user_change_from_user_create_body() -> None:
    change = UserChange.from_body(
        {
            "email": "jane@example.com",
            "created": False,
            "state": "existed",
            "added_roles": [{"namespace": "ample-gull", "role": "ves-io-admin-role"}, {"namespace": 3}],
            "added_groups": ["g", ""],
        }
    )

    assert change == UserChange(frozenset({Role("ample-gull", "ves-io-admin-role")}), frozenset({"g"}))


def test_user_found_from_lookup_body() -> None:
    found = UserFound.from_body(
        {
            "email": "jane@example.com",
            "exists": True,
            "namespace_roles": [{"namespace": "prod", "role": "admin"}],
            "group_names": ["own"],
        }
    )

    assert found == UserFound(True, frozenset({Role("prod", "admin")}), frozenset({"own"}))
    assert UserFound.from_body({"exists": False}).exists is False


@pytest.mark.parametrize("body", [None, {}, {"exists": "no"}, []])
def test_user_found_without_boolean_false_is_taken_as_existing(body: Any) -> None:
    # an account that might exist is never recorded as the pipeline's own (it would be deleted)
    assert UserFound.from_body(body).exists is True


def test_deployment_state_from_item_tolerates_odd_attributes() -> None:
    state = DeploymentState.from_item(
        {
            "dep_id": "d",
            "tenant_url": "",
            "user_preexisting": "no",
            "user_added_roles": {"ns/role", "bad"},
            "user_added_groups": "not-a-set",
        }
    )

    assert state.tenant_url is None
    assert state.user_preexisting is None
    assert state.user_added_roles == frozenset({Role("ns", "role")})
    assert state.user_added_groups == frozenset()


def test_identity_last_name_is_dep_id_up_to_first_dash() -> None:
    state = DeploymentState.from_item(
        {"dep_id": "3f2a9c1e-7b4d-4e8a", "lab_id": "l", "email": "a@b.co", "petname": "ample-gull"}
    )

    assert state.identity().last_name == "3f2a9c1e"
