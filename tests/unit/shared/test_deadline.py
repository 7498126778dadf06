"""shared.deadline: the one deadline type, from a context and from a caller's budget."""

from __future__ import annotations

from typing import Any

import pytest

from shared.deadline import Deadline
from shared.errors import InputError
from tests.fixtures.clock import FakeClock


class Ctx:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_from_context_keeps_a_margin_back():
    clock = FakeClock(start=100.0)
    assert Deadline.from_context(Ctx(20_000), clock=clock).at == pytest.approx(117.0)
    assert Deadline.from_context(None, clock=clock).at == pytest.approx(157.0)  # 60 s without a context
    assert Deadline.from_context(Ctx(1_000), clock=clock).at == pytest.approx(100.5)  # never below 0.5 s


def test_for_invocation_takes_the_callers_budget_when_it_ends_first():
    clock = FakeClock(start=0.0)
    # GIVEN a callee with 57 s of its own, and a caller that can wait 20 s for the answer
    deadline = Deadline.for_invocation({"budget_ms": 20_000}, Ctx(60_000), clock=clock)
    # THEN it stops in time for its answer to travel back
    assert deadline.at == pytest.approx(18.5)
    # AND its own deadline wins when it is the earlier one
    assert Deadline.for_invocation({"budget_ms": 600_000}, Ctx(60_000), clock=clock).at == pytest.approx(57.0)
    assert Deadline.for_invocation({}, Ctx(60_000), clock=clock).at == pytest.approx(57.0)


@pytest.mark.parametrize("budget", [0, -5, "10", True, [1]])
def test_for_invocation_bad_budget_names_the_field(budget: Any):
    with pytest.raises(InputError) as info:
        Deadline.for_invocation({"budget_ms": budget}, Ctx(60_000))
    assert info.value.field == "budget_ms"


def test_remaining_expired_earlier_earliest_and_budget():
    clock = FakeClock(start=0.0)
    deadline = Deadline(10.0, clock)
    assert (deadline.remaining(), deadline.expired(), deadline.budget_ms()) == (10.0, False, 10_000)
    assert deadline.earlier(4).at == 6.0
    assert deadline.earliest(Deadline(3.0, clock)).at == 3.0
    assert deadline.earliest(None) is deadline
    clock.advance(12)
    assert (deadline.remaining(), deadline.expired()) == (0.0, True)
