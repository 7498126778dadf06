from __future__ import annotations

import pytest

from shared.deadline import Deadline
from shared.xc.errors import XCTimeoutError
from shared.xc.poll import wait_until
from tests.fixtures.clock import FakeClock


def test_wait_until_returns_first_truthy_result_and_backs_off():
    clock = FakeClock(start=0.0)
    answers = iter([None, False, None, {"ready": True}])
    result = wait_until(
        lambda: next(answers),
        deadline=Deadline(10, clock),
        pending="ns",
        sleep=clock.sleep,
        interval=0.2,
        factor=2,
        max_interval=0.5,
    )
    assert result == {"ready": True}
    assert clock.slept == [0.2, 0.4, 0.5]


def test_wait_until_never_sleeps_past_deadline_and_names_pending():
    clock = FakeClock(start=0.0)
    with pytest.raises(XCTimeoutError) as info:
        wait_until(
            lambda: None,
            deadline=Deadline(1.0, clock),
            pending="namespace ns1 visible",
            sleep=clock.sleep,
            interval=0.4,
            factor=1,
        )
    assert clock.now == pytest.approx(1.0)
    assert "namespace ns1 visible" in str(info.value) and info.value.retryable


def test_wait_until_propagates_check_errors():
    def boom() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        wait_until(boom, deadline=Deadline.after(10), pending="x", sleep=lambda s: None)
