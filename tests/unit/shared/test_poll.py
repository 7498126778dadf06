from __future__ import annotations

import pytest

from shared.xc.errors import XCTimeoutError
from shared.xc.poll import deadline_from_context, wait_until
from tests.fixtures.clock import FakeClock


def test_wait_until_returns_first_truthy_result_and_backs_off():
    clock = FakeClock(start=0.0)
    answers = iter([None, False, None, {"ready": True}])
    result = wait_until(lambda: next(answers), deadline=10, pending="ns", sleep=clock.sleep, clock=clock,
                        interval=0.2, factor=2, max_interval=0.5)
    assert result == {"ready": True}
    assert clock.slept == [0.2, 0.4, 0.5]


def test_wait_until_never_sleeps_past_deadline_and_names_pending():
    clock = FakeClock(start=0.0)
    with pytest.raises(XCTimeoutError) as info:
        wait_until(lambda: None, deadline=1.0, pending="namespace ns1 visible", sleep=clock.sleep,
                   clock=clock, interval=0.4, factor=1)
    assert clock.now == pytest.approx(1.0)
    assert "namespace ns1 visible" in str(info.value) and info.value.retryable


def test_wait_until_propagates_check_errors():
    def boom() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        wait_until(boom, deadline=10, pending="x", sleep=lambda s: None)


def test_deadline_from_context_subtracts_margin():
    class Ctx:
        def get_remaining_time_in_millis(self) -> int:
            return 20_000

    assert deadline_from_context(Ctx(), margin=3, clock=lambda: 100.0) == pytest.approx(117.0)
    assert deadline_from_context(None, default=10, margin=3, clock=lambda: 0.0) == pytest.approx(7.0)
