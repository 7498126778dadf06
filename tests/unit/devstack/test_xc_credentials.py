"""Credentials and tokens (``devstack.xc.models.credentials``), without HTTP on a fake clock."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.xc.errors import InvalidArgumentError, NotFoundError, UnauthenticatedError, XCAPIError
from devstack.xc.models import XCState, rfc3339
from tests.fixtures.xc import XC_EMAIL, XC_TOKEN, FakeClock

DAY = 86400.0


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize("token", [None, "", "not-registered"])
def test_authenticate_missing_or_unknown_token_raises_401_code_16(
    xc_state: XCState, token: str | None
) -> None:
    # GIVEN a state that only knows XC_TOKEN
    # WHEN another or no token is presented
    with pytest.raises(UnauthenticatedError) as info:
        xc_state.authenticate(token)
    # THEN it is a 401 with code 16
    assert (info.value.status, info.value.code) == (401, 16)


def test_authenticate_registered_token_returns_identity(xc_state: XCState) -> None:
    # GIVEN the fixture token
    # WHEN it is presented
    identity = xc_state.authenticate(XC_TOKEN)
    # THEN the caller is the default admin
    assert identity.email == XC_EMAIL
    assert identity.credential is None


# --------------------------------------------------------------------------- credentials


def test_create_credential_requested_name_gets_seven_char_suffix(xc_state: XCState) -> None:
    # GIVEN an API token request
    body = {"name": "lab-token", "namespace": "system", "expiration_days": 7, "spec": {"type": "API_TOKEN"}}
    # WHEN it is created
    result = xc_state.create_credential("api_credentials", body)
    # THEN the name has a random 7-char suffix and the response has the create fields
    assert re.fullmatch(r"lab-token-[a-z0-9]{7}", result["name"])
    assert set(result) == {"name", "data", "active", "expiration_timestamp"}
    assert result["active"] is True


def test_create_credential_api_token_without_password_accepted(xc_state: XCState) -> None:
    # GIVEN the original client's body: no spec.password
    body = {"name": "t", "namespace": "system", "expiration_days": 1, "spec": {"type": "API_TOKEN"}}
    # WHEN it is created
    result = xc_state.create_credential("api_credentials", body)
    # THEN it works and the stored type is API_TOKEN
    assert xc_state.credential("api_credentials", result["name"]).type == "API_TOKEN"


def test_create_credential_api_certificate_without_password_raises_400(xc_state: XCState) -> None:
    # GIVEN a certificate-type credential without password
    body = {"name": "t", "expiration_days": 1, "spec": {"type": "API_CERTIFICATE"}}
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_credential("api_credentials", body)
    # THEN spec.password is required for that type only
    assert info.value.field == "spec.password"


@pytest.mark.parametrize(
    "extra",
    [{"type": "SERVICE_API_TOKEN"}, {"api_token": {}}, {"type": "SERVICE_API_TOKEN", "api_token": {}}],
    ids=["legacy-type", "one-of", "both-consistent"],
)
def test_create_service_credential_legacy_type_or_one_of_accepted(
    xc_state: XCState, extra: dict[str, Any]
) -> None:
    # GIVEN a service credential request in either style
    body = {
        "name": "svc",
        "namespace": "system",
        "namespace_roles": [{"namespace": "system", "role": "ves-io-admin-role"}],
        "expiration_days": 30,
        **extra,
    }
    # WHEN it is created
    result = xc_state.create_credential("service_credentials", body)
    # THEN it is a SERVICE_API_TOKEN with the roles kept, and its data authenticates
    info = xc_state.credential("service_credentials", result["name"])
    assert info.type == "SERVICE_API_TOKEN"
    assert info.namespace_roles == (("system", "ves-io-admin-role"),)
    assert xc_state.authenticate(result["data"]).user_type == "SERVICE"


@pytest.mark.parametrize(
    "extra", [{}, {"type": "NOPE"}, {"type": "SERVICE_API_TOKEN", "api_certificate": {"password": "x"}}]
)
def test_create_service_credential_without_valid_type_raises_400(
    xc_state: XCState, extra: dict[str, Any]
) -> None:
    # GIVEN a service credential request with no, an unknown or a contradicting type
    # WHEN it is created
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_credential("service_credentials", {"name": "svc", "expiration_days": 1, **extra})
    # THEN 400 naming type
    assert info.value.field == "type"


def test_create_credential_data_token_authenticates_until_expiry(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a 2-day API token
    result = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 2})
    token = result["data"]
    # WHEN it is used before and after expiry
    identity = xc_state.authenticate(token)
    # THEN it authenticates as its owner until the expiry, then 401
    assert identity.credential == ("api_credentials", result["name"])
    assert identity.email == XC_EMAIL
    xc_clock.advance(2 * DAY - 1)
    xc_state.authenticate(token)
    xc_clock.advance(1)
    with pytest.raises(UnauthenticatedError, match="expired"):
        xc_state.authenticate(token)


def test_credential_expiry_fields_per_endpoint_use_documented_names(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a 7-day api credential and a service credential
    created = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 7})
    svc = xc_state.create_credential(
        "service_credentials", {"name": "s", "type": "SERVICE_API_TOKEN", "expiration_days": 3}
    )
    expected = rfc3339(xc_clock.wall + 7 * DAY)
    # WHEN each endpoint is read
    listed = xc_state.list_credentials("api_credentials")["items"][0]
    got = xc_state.get_credential("api_credentials", created["name"])
    svc_got = xc_state.get_credential("service_credentials", svc["name"])
    # THEN create says expiration_timestamp, list says expiry_timestamp,
    # api get nests it under gc_spec, and service get is flat
    assert created["expiration_timestamp"] == expected
    assert listed["expiry_timestamp"] == expected
    assert "expiration_timestamp" not in listed
    assert got["object"]["spec"]["gc_spec"]["expiration_timestamp"] == expected
    assert got["object"]["spec"]["gc_spec"]["type"] == "API_TOKEN"
    assert got["object"]["metadata"]["name"] == created["name"]
    assert svc_got["expiry_timestamp"] == rfc3339(xc_clock.wall + 3 * DAY)
    assert "object" not in svc_got
    assert {"namespace_access", "user_group_names", "user_email", "create_timestamp"} <= set(svc_got)


def test_list_credentials_items_never_carry_the_token(xc_state: XCState) -> None:
    # GIVEN a credential
    created = xc_state.create_credential("api_credentials", {"name": "t", "expiration_days": 1})
    # WHEN list, get and dump are read
    texts = [
        json.dumps(xc_state.list_credentials("api_credentials")),
        json.dumps(xc_state.get_credential("api_credentials", created["name"])),
        json.dumps(xc_state.dump()),
    ]
    # THEN the token appears nowhere
    assert all(created["data"] not in text for text in texts)


def test_renew_credential_valid_sets_expiry_now_plus_days(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a credential expiring in 1 day, 12 hours later
    xc_state.seed_credential("api_credentials", "lab-token-abc1234", "tok-1", xc_clock.wall + DAY)
    xc_clock.advance(DAY / 2)
    # WHEN it is renewed for 7 days
    result = xc_state.renew_credential(
        "api_credentials", {"name": "lab-token-abc1234", "namespace": "system", "expiration_days": 7}
    )
    # THEN {status: true} and expiry = now + 7 days, shown in list and get
    assert result == {"status": True}
    assert xc_state.credential("api_credentials", "lab-token-abc1234").expires_at == xc_clock.wall + 7 * DAY
    listed = xc_state.list_credentials("api_credentials")["items"][0]
    assert listed["expiry_timestamp"] == rfc3339(xc_clock.wall + 7 * DAY)


def test_renew_credential_string_days_accepted(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a service credential (int64 may arrive as a JSON string)
    xc_state.seed_credential("service_credentials", "svc-abc1234", "tok", xc_clock.wall + DAY)
    # WHEN it is renewed with "7"
    xc_state.renew_credential("service_credentials", {"name": "svc-abc1234", "expiration_days": "7"})
    # THEN the expiry moved
    assert xc_state.credential("service_credentials", "svc-abc1234").expires_at == xc_clock.wall + 7 * DAY


@pytest.mark.parametrize("days", [0, -1, None, "x", True])
def test_renew_credential_invalid_days_raises_400(
    xc_state: XCState, xc_clock: FakeClock, days: object
) -> None:
    # GIVEN a credential
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall + DAY)
    # WHEN it is renewed with a bad expiration_days
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.renew_credential("api_credentials", {"name": "c", "expiration_days": days})
    # THEN 400 naming it
    assert info.value.field == "expiration_days"


def test_renew_credential_unknown_name_raises_404_code_5(xc_state: XCState) -> None:
    # GIVEN no credential
    # WHEN one is renewed
    with pytest.raises(NotFoundError) as info:
        xc_state.renew_credential("api_credentials", {"name": "ghost", "expiration_days": 7})
    # THEN 404/5
    assert info.value.code == 5


def test_renew_credential_wrong_kind_raises_404(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN an api credential
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall + DAY)
    # WHEN it is renewed through the service_credentials path
    # THEN it is not found there
    with pytest.raises(NotFoundError):
        xc_state.renew_credential("service_credentials", {"name": "c", "expiration_days": 7})


def test_renew_credential_expired_raises_400_and_keeps_expiry(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN an expired credential
    expired_at = xc_clock.wall - 1
    xc_state.seed_credential("api_credentials", "c", "tok", expired_at)
    # WHEN it is renewed
    with pytest.raises(XCAPIError) as info:
        xc_state.renew_credential("api_credentials", {"name": "c", "expiration_days": 7})
    # THEN 400/3 "expired" and nothing changes
    assert (info.value.status, info.value.code) == (400, 3)
    assert "expired" in info.value.message
    assert xc_state.credential("api_credentials", "c").expires_at == expired_at


def test_renew_credential_expired_with_switch_renews(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN renewing expired credentials allowed
    xc_state.configure(renew_expired_allowed=True)
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall - DAY)
    # WHEN it is renewed
    xc_state.renew_credential("api_credentials", {"name": "c", "expiration_days": 7})
    # THEN the token works again
    assert xc_state.authenticate("tok").credential == ("api_credentials", "c")


def test_renew_credential_revoked_raises_configured_status(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a revoked credential and a 403 refusal configured
    xc_state.configure(renew_refused_status=403)
    xc_state.seed_credential("service_credentials", "s", "tok", xc_clock.wall + DAY, active=False)
    # WHEN it is renewed
    with pytest.raises(XCAPIError) as info:
        xc_state.renew_credential("service_credentials", {"name": "s", "expiration_days": 7})
    # THEN 403/7 "not active"
    assert (info.value.status, info.value.code) == (403, 7)
    assert "not active" in info.value.message


def test_revoke_credential_token_then_401_and_activate_restores(
    xc_state: XCState, xc_clock: FakeClock
) -> None:
    # GIVEN a seeded, valid credential token
    xc_state.seed_credential("api_credentials", "c", "tok", xc_clock.wall + DAY)
    assert xc_state.authenticate("tok").email == XC_EMAIL
    # WHEN it is revoked
    assert xc_state.revoke_credential("api_credentials", {"name": "c", "namespace": "system"}) == {
        "status": True
    }
    # THEN the token is refused and the list shows it inactive
    with pytest.raises(UnauthenticatedError, match="revoked"):
        xc_state.authenticate("tok")
    assert xc_state.list_credentials("api_credentials")["items"][0]["active"] is False
    # AND activating restores it
    xc_state.activate_credential("api_credentials", {"name": "c", "namespace": "system"})
    assert xc_state.authenticate("tok").credential == ("api_credentials", "c")


def test_seed_credential_expired_token_raises_401(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a credential seeded as already expired
    xc_state.seed_credential("api_credentials", "c", "old-token", xc_clock.wall - 1)
    # WHEN its token is used
    # THEN 401
    with pytest.raises(UnauthenticatedError):
        xc_state.authenticate("old-token")


def test_seed_credential_replacing_name_drops_old_token(xc_state: XCState, xc_clock: FakeClock) -> None:
    # GIVEN a credential seeded twice under one name with different tokens
    xc_state.seed_credential("api_credentials", "c", "token-1", xc_clock.wall + DAY)
    xc_state.seed_credential("api_credentials", "c", "token-2", xc_clock.wall + DAY)
    # WHEN both tokens are used
    # THEN only the new one works
    with pytest.raises(UnauthenticatedError):
        xc_state.authenticate("token-1")
    assert xc_state.credential("api_credentials", "c").token == "token-2"


def test_get_credential_unknown_raises_404(xc_state: XCState) -> None:
    # GIVEN no credential
    # WHEN it is read
    # THEN 404
    with pytest.raises(NotFoundError):
        xc_state.get_credential("service_credentials", "ghost")
