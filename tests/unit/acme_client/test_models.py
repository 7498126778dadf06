"""Events, run state and the result body."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from acme_client.models import (
    AriState,
    PendingTxt,
    RenewRequest,
    RunResult,
    RunState,
    parse_event,
)
from shared.deadline import Deadline
from shared.errors import InputError
from tests.fixtures.events import load_event

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def test_parse_event_scheduled_event_is_not_forced():
    request = parse_event(load_event("acme_client_schedule"))
    assert request == RenewRequest(force=False, source="schedule")


def test_parse_event_force_event_forces():
    assert parse_event(load_event("acme_client_force")).force is True


def test_parse_event_force_in_detail_forces():
    assert parse_event({"detail-type": "Scheduled Event", "detail": {"force": True}}).force is True


@pytest.mark.parametrize("event", [{"force": "yes"}, {"detail": {"force": 1}}])
def test_parse_event_non_boolean_force_names_the_field(event):
    with pytest.raises(InputError) as caught:
        parse_event(event)
    assert "force" in caught.value.field


def test_parse_event_none_or_empty_is_a_plain_run():
    assert parse_event(None).force is False
    assert parse_event({}).force is False


def test_parse_event_not_an_object_is_rejected():
    with pytest.raises(InputError):
        parse_event(["force"])


def test_run_state_round_trips_through_json():
    state = RunState(
        names=("*.a.example",),
        failures=2,
        last_failure=NOW,
        last_error="boom",
        retry_not_before=NOW + dt.timedelta(minutes=10),
        last_success=NOW - dt.timedelta(days=1),
        ari=AriState(cert_id="a.b", next_check=NOW, renew_at=NOW, window_start=NOW, window_end=NOW),
    )
    assert RunState.from_json(state.to_json()) == state


def test_run_state_from_garbage_is_clean():
    assert RunState.from_json({"failures": "many", "ari": {"cert_id": 3}}) == RunState()


def test_run_result_failed_is_a_500_and_valid_a_200():
    ok = RunResult("valid", "fine", ("*.a.example",), not_after=NOW, serial="ab", days_left=30.5)
    assert ok.to_response() == {
        "statusCode": 200,
        "body": {
            "action": "valid",
            "reason": "fine",
            "days_left": 30.5,
            "not_after": NOW.isoformat(),
            "names": ["*.a.example"],
            "serial": "ab",
            "ca": None,
        },
    }
    assert RunResult("failed", "boom", ()).to_response()["statusCode"] == 500


def test_deadline_earlier_and_remaining_use_the_given_clock():
    now = [100.0]
    deadline = Deadline.after(30, clock=lambda: now[0])
    assert deadline.remaining() == 30
    assert deadline.earlier(10).remaining() == 20
    now[0] = 131.0
    assert deadline.expired() and deadline.remaining() == 0


def test_run_state_round_trips_ca_waits_and_pending_txt_values():
    state = RunState(
        names=("*.a.example",),
        ca_not_before={"https://ca.test/dir": NOW},
        dns_pending=(PendingTxt("a.challenge.example", "Z1", ("v1", "v2"), NOW),),
    )
    assert RunState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_run_state_damaged_fields_are_dropped_not_fatal():
    doc = {
        "names": ["*.a.example"],
        "retry_not_before": "yesterday-ish",
        "ca_not_before": {"https://ca.test/dir": "soon", "x": None},
        "dns_pending": [{"record": "a", "values": "not a list"}, 7],
    }
    state = RunState.from_json(doc)
    assert state.retry_not_before is None and state.ca_not_before == {} and state.dns_pending == ()
