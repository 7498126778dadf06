"""Payload parsing: required fields, DNS-1035 petname, optional email and action."""

from __future__ import annotations

import pytest

from shared.errors import InputError
from udf_helpers.models import LabRequest, parse_event

GOOD = {"ssm_base_path": "/tenantOps/sec-lab", "petname": "ample-gull", "email": "jane@example.com"}


def test_parse_event_valid_payload_defaults_to_create():
    assert parse_event(GOOD) == LabRequest("/tenantOps/sec-lab", "ample-gull", "jane@example.com", "create")


def test_parse_event_email_optional_and_unknown_keys_ignored():
    request = parse_event({"ssm_base_path": "/tenantOps-dev/app-lab", "petname": "p", "extra": 1})
    assert request.email is None and request.petname == "p"


@pytest.mark.parametrize(
    ("action", "expected"),
    [("remove", "remove"), ("post", "remove"), ("create", "create"), ("pre", "create")],
)
def test_parse_event_actions_and_synonyms(action, expected):
    assert parse_event({**GOOD, "action": action}).action == expected


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"petname": "ample-gull"}, "ssm_base_path"),
        ({**GOOD, "ssm_base_path": "tenantOps/sec-lab"}, "ssm_base_path"),
        ({**GOOD, "ssm_base_path": 7}, "ssm_base_path"),
        ({"ssm_base_path": "/tenantOps/sec-lab"}, "petname"),
        ({**GOOD, "petname": ""}, "petname"),
        ({**GOOD, "petname": "Ample_Gull"}, "petname"),
        ({**GOOD, "petname": "1gull"}, "petname"),
        ({**GOOD, "petname": "a" * 64}, "petname"),
        ({**GOOD, "petname": "shared"}, "petname"),
        ({**GOOD, "petname": "system"}, "petname"),
        ({**GOOD, "email": "not-an-email"}, "email"),
        ({**GOOD, "email": 5}, "email"),
        ({**GOOD, "action": "delete"}, "action"),
        ({**GOOD, "action": None}, "action"),
        ({**GOOD, "action": ["remove"]}, "action"),
    ],
)
def test_parse_event_bad_field_is_named(payload, field):
    with pytest.raises(InputError) as info:
        parse_event(payload)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("event", [None, "text", ["list"]])
def test_parse_event_not_an_object(event):
    with pytest.raises(InputError) as info:
        parse_event(event)
    assert info.value.field == "event"
