from __future__ import annotations

import email.utils

import pytest

from shared.xc import retry
from shared.xc.retry import RetryPolicy


@pytest.mark.parametrize(
    ("status", "idempotent", "connect_failed", "expected"),
    [
        (429, False, False, True),  # throttled: always
        (429, True, False, True),
        (503, True, False, True),
        (504, True, False, True),
        (502, True, False, True),
        (503, False, False, False),  # a create that got 503 may have happened
        (500, True, False, False),  # 500 is not transient by policy
        (500, False, False, False),
        (400, True, False, False),
        (404, True, False, False),
        (None, False, True, True),  # never reached the server
        (None, False, False, False),  # may have reached it: not for a POST
        (None, True, False, True),
    ],
)
def test_should_retry_table(status, idempotent, connect_failed, expected):
    assert retry.should_retry(status=status, idempotent=idempotent, connect_failed=connect_failed) is expected


def test_backoff_doubles_and_caps():
    policy = RetryPolicy(base_delay=0.5, max_delay=5.0)
    # jitter 1.0 gives the upper bound, 0.0 the lower (half)
    assert [retry.backoff(policy, n, 0.999999) for n in (1, 2, 3, 4, 5, 6)] == pytest.approx(
        [0.5, 1.0, 2.0, 4.0, 5.0, 5.0], rel=1e-3
    )
    assert retry.backoff(policy, 3, 0.0) == pytest.approx(1.0)


def test_parse_retry_after_seconds_and_http_date():
    assert retry.parse_retry_after("7") == 7.0
    assert retry.parse_retry_after(None) is None
    assert retry.parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry.parse_retry_after(date, now=1_000_000) == pytest.approx(30.0)
    past = email.utils.formatdate(999_000, usegmt=True)
    assert retry.parse_retry_after(past, now=1_000_000) == 0.0


def _delay(policy: RetryPolicy, **kwargs: object) -> float | None:
    args: dict = {
        "attempt": 1,
        "throttled": False,
        "retry_after": None,
        "jitter": 0.0,
        "elapsed": 0.0,
        "remaining": None,
    }
    args.update(kwargs)
    return retry.next_delay(policy, **args)


def test_next_delay_stops_transient_errors_at_attempt_limit():
    policy = RetryPolicy(max_attempts=3)
    assert _delay(policy, attempt=2, jitter=0.5)
    assert _delay(policy, attempt=3, jitter=0.5) is None


def test_next_delay_throttling_is_bounded_by_the_deadline_not_a_count():
    # GIVEN a call throttled many times over, with plenty of time left
    policy = RetryPolicy(max_attempts=3)
    # THEN it keeps waiting (capped backoff) while the deadline allows it
    assert _delay(policy, attempt=50, throttled=True, remaining=30.0) == policy.max_delay / 2
    assert _delay(policy, attempt=50, throttled=True, remaining=2.0) is None
    # AND without a deadline, the total-time cap ends it
    assert _delay(policy, attempt=50, throttled=True, elapsed=policy.max_elapsed) is None


def test_next_delay_spreads_retry_after_so_throttled_callers_do_not_retry_in_step():
    policy = RetryPolicy(max_retry_after=10)
    # GIVEN the same Retry-After hint to callers holding different jitter
    delays = [_delay(policy, throttled=True, retry_after=4, jitter=j) for j in (0.0, 0.5, 0.99)]
    # THEN none waits less than the hint, and they come back spread over half of it again
    assert delays[0] == 4
    assert delays[1] == pytest.approx(5.0) and delays[2] == pytest.approx(5.98)
    # AND a short hint is still spread over at least min_spread seconds
    assert _delay(policy, throttled=True, retry_after=0, jitter=0.5) == pytest.approx(policy.min_spread / 2)


def test_next_delay_honours_retry_after_but_not_past_cap_or_deadline():
    policy = RetryPolicy(max_retry_after=10)
    assert _delay(policy, retry_after=3) == 3
    # a hint longer than the cap is not waited for
    assert _delay(policy, retry_after=11) is None
    # never sleep past the deadline
    assert _delay(policy, retry_after=3, remaining=2.5) is None
    # nor, without a deadline, past the total time budget
    assert _delay(policy, retry_after=3, elapsed=policy.max_elapsed - 1) is None
