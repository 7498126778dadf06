from __future__ import annotations

import json

import pytest

from shared.errors import InputError
from udf_dispatch.models import Heartbeat, parse_heartbeat

GOOD = {
    "dep_id": "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c",
    "lab_id": "d3c24766",
    "email": "jane@example.com",
    "petname": "ample-gull",
}


def test_parse_heartbeat_valid_body_returns_heartbeat() -> None:
    # GIVEN a body as the lab VM sends it, with an extra key
    body = json.dumps({**GOOD, "extra": 1})

    # WHEN it is parsed
    heartbeat = parse_heartbeat(body)

    # THEN every field is kept and the extra key ignored
    assert heartbeat == Heartbeat(**GOOD)


@pytest.mark.parametrize("field", ["dep_id", "lab_id", "email", "petname"])
def test_parse_heartbeat_missing_field_names_it(field: str) -> None:
    body = json.dumps({k: v for k, v in GOOD.items() if k != field})

    with pytest.raises(InputError) as caught:
        parse_heartbeat(body)

    assert caught.value.field == field
    assert "required" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dep_id", 12345),
        ("lab_id", ["d3c24766"]),
        ("email", {"a": 1}),
        ("petname", 7),
        ("dep_id", ""),
        ("dep_id", "has space"),
        ("dep_id", "x" * 64),
        ("dep_id", "a:b"),
        ("dep_id", "-x"),
        ("lab_id", "a/b"),
    ],
)
def test_parse_heartbeat_bad_identifier_or_type_names_field(field: str, value: object) -> None:
    body = json.dumps({**GOOD, field: value})

    with pytest.raises(InputError) as caught:
        parse_heartbeat(body)

    assert caught.value.field == field


@pytest.mark.parametrize("petname", ["Ample-Gull", "1ample", "ample_gull", "ample-", "a" * 64, "ample gull"])
def test_parse_heartbeat_invalid_petname_is_rejected_as_dns1035(petname: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_heartbeat(json.dumps({**GOOD, "petname": petname}))

    assert caught.value.field == "petname"


@pytest.mark.parametrize("petname", ["system", "shared", "default", "ves-io-shared", "ves-x"])
def test_parse_heartbeat_reserved_petname_is_refused(petname: str) -> None:
    # GIVEN a heartbeat whose petname names one of the tenant's own namespaces
    with pytest.raises(InputError) as caught:
        parse_heartbeat(json.dumps({**GOOD, "petname": petname}))

    # THEN it is refused at the door, naming the field and the value
    assert caught.value.field == "petname"
    assert "reserved" in str(caught.value) and repr(petname) in str(caught.value)


@pytest.mark.parametrize("email", ["jane", "jane@", "@example.com", "jane@example", "ja ne@example.com"])
def test_parse_heartbeat_invalid_email_is_rejected(email: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_heartbeat(json.dumps({**GOOD, "email": email}))

    assert caught.value.field == "email"


@pytest.mark.parametrize("body", ["not json {", "", "   ", None, "[1, 2]", '"text"', "null"])
def test_parse_heartbeat_non_object_body_names_body(body: str | None) -> None:
    with pytest.raises(InputError) as caught:
        parse_heartbeat(body)

    assert caught.value.field == "body"
