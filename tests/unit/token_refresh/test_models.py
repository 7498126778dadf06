from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.errors import InputError
from tests.fixtures.events import load_event
from token_refresh.models import CredentialState, RefreshResult, parse_event

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_parse_event_scheduled_event_does_not_force():
    # GIVEN the EventBridge scheduled event
    event = load_event("token_refresh_scheduled")
    # WHEN it is parsed
    request = parse_event(event)
    # THEN renewal is only done when due
    assert request.force is False


def test_parse_event_force_true_forces():
    # GIVEN an event that asks for a forced renewal
    # WHEN / THEN
    assert parse_event(load_event("token_refresh_force")).force is True


def test_parse_event_force_in_detail_forces():
    # GIVEN an EventBridge event whose detail asks to force
    event = {**load_event("token_refresh_scheduled"), "detail": {"force": True}}
    # WHEN / THEN
    assert parse_event(event).force is True


@pytest.mark.parametrize("event", [None, {}])
def test_parse_event_empty_does_not_force(event):
    # GIVEN a manual invoke without payload
    # WHEN / THEN
    assert parse_event(event).force is False


def test_parse_event_force_not_bool_names_field():
    # GIVEN force given as a string
    # WHEN it is parsed
    with pytest.raises(InputError) as caught:
        parse_event(load_event("token_refresh_bad_force"))
    # THEN the error names the field
    assert caught.value.field == "force"
    assert "true or false" in str(caught.value)


def test_parse_event_detail_force_not_bool_names_field():
    # GIVEN a bad detail.force
    with pytest.raises(InputError) as caught:
        parse_event({"detail": {"force": 1}})
    # THEN the field is named with its path
    assert caught.value.field == "detail.force"


def test_parse_event_not_object_names_event():
    # GIVEN a payload that is a list
    with pytest.raises(InputError) as caught:
        parse_event([1])
    # THEN
    assert caught.value.field == "event"


def test_credential_state_days_left_fractional():
    # GIVEN a credential expiring in 36 hours
    from datetime import timedelta

    state = CredentialState(expires_at=NOW + timedelta(hours=36), active=True)
    # WHEN / THEN
    assert state.days_left(NOW) == pytest.approx(1.5)


def test_refresh_result_body_rounds_and_formats():
    # GIVEN a result
    result = RefreshResult(
        credential="c",
        kind="service_credentials",
        renewed=True,
        forced=False,
        days_left_before=1.23456,
        days_left_after=6.99999,
        expires_at=NOW,
    )
    # WHEN / THEN the body has the documented keys
    assert result.body() == {
        "credential": "c",
        "renewed": True,
        "days_left_before": 1.235,
        "days_left_after": 7.0,
        "expires_at": "2025-03-01T12:00:00+00:00",
    }
