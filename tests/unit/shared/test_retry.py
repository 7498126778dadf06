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


def test_next_delay_stops_at_attempt_limit():
    policy = RetryPolicy(max_attempts=3)
    assert retry.next_delay(policy, attempt=2, retry_after=None, jitter=0.5, elapsed=0, remaining=None)
    assert (
        retry.next_delay(policy, attempt=3, retry_after=None, jitter=0.5, elapsed=0, remaining=None) is None
    )


def test_next_delay_honours_retry_after_but_not_past_cap_or_deadline():
    policy = RetryPolicy(max_retry_after=10)
    assert retry.next_delay(policy, attempt=1, retry_after=3, jitter=0, elapsed=0, remaining=None) == 3
    # a hint longer than the cap is not waited for
    assert retry.next_delay(policy, attempt=1, retry_after=11, jitter=0, elapsed=0, remaining=None) is None
    # never sleep past the deadline
    assert retry.next_delay(policy, attempt=1, retry_after=3, jitter=0, elapsed=0, remaining=2.5) is None
    # nor past the total time budget
    assert (
        retry.next_delay(
            policy, attempt=1, retry_after=3, jitter=0, elapsed=policy.max_elapsed - 1, remaining=None
        )
        is None
    )
