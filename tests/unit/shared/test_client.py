from __future__ import annotations

import json

import pytest
import requests
import responses

from shared.deadline import Deadline
from shared.xc import namespaces, objects, users
from shared.xc.client import XCClient, build_path
from shared.xc.errors import (
    XCAuthError,
    XCBadRequestError,
    XCConflictError,
    XCNotFoundError,
    XCPartialListError,
    XCRateLimitError,
    XCServerError,
    XCTransportError,
)
from shared.xc.retry import RetryPolicy
from tests.fixtures.clock import FakeClock

URL = "https://tenant.example.test"
TOKEN = "canary-token-0123456789"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def xc(sleeps: Sleeps) -> XCClient:
    return XCClient(URL + "/", TOKEN, sleep=sleeps, jitter=lambda: 0.0)


def test_build_path_escapes_each_segment():
    assert build_path("/api/web/namespaces/", "a/b", "c d") == "/api/web/namespaces/a%2Fb/c%20d"
    assert build_path("api/web/namespaces") == "/api/web/namespaces"


@responses.activate
def test_request_sends_apitoken_header_and_normalised_url(xc: XCClient):
    # GIVEN a tenant answering a namespace GET
    responses.get(f"{URL}/api/web/namespaces/ns1", json={"metadata": {"name": "ns1"}})
    # WHEN the client asks for it
    body = namespaces.get(xc, "ns1")
    # THEN the body is parsed and the auth header has the XC scheme
    assert body == {"metadata": {"name": "ns1"}}
    assert responses.calls[0].request.headers["Authorization"] == f"APIToken {TOKEN}"


@responses.activate
def test_request_empty_2xx_body_is_empty_dict(xc: XCClient):
    responses.delete(f"{URL}/api/config/namespaces/ns1/origin_pools/p", body=b"")
    assert objects.delete(xc, "ns1", "origin_pools", "p") == {}


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [(400, XCBadRequestError, 3), (401, XCAuthError, 16), (403, XCAuthError, 7), (404, XCNotFoundError, 5),
     (409, XCConflictError, 6), (500, XCServerError, 13)],
)
@responses.activate
def test_request_maps_status_to_typed_error(xc: XCClient, status, error_class, code):
    responses.post(f"{URL}/api/web/namespaces", status=status,
                   json={"code": code, "details": [], "message": "server says no"})
    with pytest.raises(error_class) as info:
        namespaces.create(xc, "ns1")
    err = info.value
    assert err.status == status and err.code == code and err.message == "server says no"
    assert str(err).endswith(f"on POST {URL}/api/web/namespaces")
    assert "server says no" in str(err)
    assert len(responses.calls) == 1  # none of these is retried for a POST


@responses.activate
def test_request_non_json_error_body_keeps_text(xc: XCClient):
    responses.get(f"{URL}/api/web/namespaces/x", status=401, body="Unauthorized")
    with pytest.raises(XCAuthError) as info:
        namespaces.get(xc, "x")
    assert info.value.code is None and info.value.message == "Unauthorized"


@responses.activate
def test_request_429_with_retry_after_then_200_waits_as_told(xc: XCClient, sleeps: Sleeps):
    # GIVEN two throttled answers (POST is retried on 429) then success
    url = f"{URL}/api/web/namespaces"
    responses.post(url, status=429, headers={"Retry-After": "2"}, json={"code": 8, "message": "slow down"})
    responses.post(url, status=429, json={"code": 8, "message": "slow down"})
    responses.post(url, json={"metadata": {"name": "ns1"}})
    # WHEN creating
    body = namespaces.create(xc, "ns1")
    # THEN it waited Retry-After first, then its own backoff, and made three calls
    assert body["metadata"]["name"] == "ns1"
    assert len(responses.calls) == 3
    assert sleeps == [2.0, 0.5]


@responses.activate
def test_request_503_retried_for_get_with_backoff(xc: XCClient, sleeps: Sleeps):
    url = f"{URL}/api/web/namespaces/ns1"
    for _ in range(3):
        responses.get(url, status=503, json={"code": 14, "message": "unavailable"})
    responses.get(url, json={"ok": True})
    assert namespaces.get(xc, "ns1") == {"ok": True}
    assert len(responses.calls) == 4
    assert sleeps == [0.25, 0.5, 1.0]  # jitter 0: lower half of 0.5, 1, 2


@responses.activate
def test_request_503_on_plain_post_is_not_retried(xc: XCClient):
    responses.post(f"{URL}/api/web/namespaces", status=503, json={"code": 14, "message": "unavailable"})
    with pytest.raises(XCServerError):
        namespaces.create(xc, "ns1")
    assert len(responses.calls) == 1


@responses.activate
def test_request_500_on_get_is_not_retried(xc: XCClient):
    responses.get(f"{URL}/api/web/namespaces/ns1", status=500, json={"code": 13, "message": "boom"})
    with pytest.raises(XCServerError) as info:
        namespaces.get(xc, "ns1")
    assert info.value.retryable is True
    assert len(responses.calls) == 1


@responses.activate
def test_request_cascade_delete_post_is_retried_as_idempotent(xc: XCClient):
    url = f"{URL}/api/web/namespaces/ns1/cascade_delete"
    responses.post(url, status=504, json={"code": 4, "message": "timeout"})
    responses.post(url, json={"items": []})
    assert namespaces.cascade_delete(xc, "ns1") == {"items": []}
    assert json.loads(responses.calls[0].request.body or b"") == {"name": "ns1"}


@responses.activate
def test_request_transient_errors_give_up_after_max_attempts(sleeps: Sleeps):
    xc = XCClient(URL, TOKEN, sleep=sleeps, jitter=lambda: 0.0, policy=RetryPolicy(max_attempts=3))
    url = f"{URL}/api/web/namespaces/ns1"
    for _ in range(5):
        responses.get(url, status=503, json={"code": 14, "message": "unavailable"})
    with pytest.raises(XCServerError):
        namespaces.get(xc, "ns1")
    assert len(responses.calls) == 3


@responses.activate
def test_request_throttling_outlasts_the_attempt_count_within_the_deadline():
    # GIVEN a burst: eight 429s in a row, then an answer, and 60 s of budget on a fake clock
    clock = FakeClock(start=0.0)
    xc = XCClient(URL, TOKEN, sleep=clock.sleep, jitter=lambda: 0.5, clock=clock,
                  policy=RetryPolicy(max_attempts=3))
    url = f"{URL}/api/web/namespaces/ns1"
    for _ in range(8):
        responses.get(url, status=429, headers={"Retry-After": "2"}, json={"code": 8, "message": "slow"})
    responses.get(url, json={"metadata": {"name": "ns1"}})
    # WHEN the call is made
    body = namespaces.get(xc, "ns1", deadline=Deadline(60.0, clock))
    # THEN it waited out the burst instead of failing after three answers, each wait spread past the hint
    assert body["metadata"]["name"] == "ns1"
    assert len(responses.calls) == 9
    assert clock.slept == [2.5] * 8


@responses.activate
def test_request_does_not_sleep_past_deadline(sleeps: Sleeps):
    now = [100.0]
    xc = XCClient(URL, TOKEN, sleep=sleeps, jitter=lambda: 0.0, clock=lambda: now[0])
    responses.get(f"{URL}/api/web/namespaces/ns1", status=429, headers={"Retry-After": "10"},
                  json={"code": 8, "message": "slow"})
    with pytest.raises(XCRateLimitError) as info:
        namespaces.get(xc, "ns1", deadline=Deadline(105.0, lambda: now[0]))
    assert info.value.retry_after == 10.0
    assert sleeps == []


@responses.activate
def test_request_connection_refused_is_retried_even_for_post(xc: XCClient, sleeps: Sleeps):
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    url = f"{URL}/api/web/namespaces"
    refused = requests.exceptions.ConnectionError(
        MaxRetryError(None, url, NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]
    )
    responses.post(url, body=refused)
    responses.post(url, json={"metadata": {"name": "n"}})
    assert namespaces.create(xc, "n")["metadata"]["name"] == "n"
    assert len(responses.calls) == 2


@responses.activate
def test_request_read_timeout_on_post_is_not_retried(xc: XCClient):
    url = f"{URL}/api/web/namespaces"
    responses.post(url, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(XCTransportError) as info:
        namespaces.create(xc, "n")
    assert info.value.sent is True and info.value.retryable is True
    assert len(responses.calls) == 1


@responses.activate
def test_request_read_timeout_on_get_is_retried(xc: XCClient):
    url = f"{URL}/api/web/namespaces/n"
    responses.get(url, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(url, json={"ok": 1})
    assert namespaces.get(xc, "n") == {"ok": 1}


@responses.activate
def test_list_missing_items_is_empty_and_errors_surface(xc: XCClient):
    url = f"{URL}/api/config/namespaces/shared/certificates"
    responses.get(url, json={})
    assert objects.list_(xc, "shared", "certificates") == []
    responses.replace(responses.GET, url, json={"items": [{"name": "a"}],
                                                 "errors": [{"code": "EPARTIAL", "message": "x"}]})
    with pytest.raises(XCPartialListError) as info:
        objects.list_(xc, "shared", "certificates")
    assert info.value.items == [{"name": "a"}]


@responses.activate
def test_error_body_masks_secrets(xc: XCClient):
    responses.get(f"{URL}/api/web/namespaces/x", status=400,
                  json={"code": 3, "message": f"bad token {TOKEN}", "token": TOKEN})
    with pytest.raises(XCBadRequestError) as info:
        namespaces.get(xc, "x")
    assert TOKEN not in str(info.value) and TOKEN not in info.value.body
    assert TOKEN not in repr(info.value.json)


def test_users_is_duplicate_by_status_or_wording():
    conflict = XCConflictError(status=409, method="POST", url="u", body='{"code":6,"message":"x"}')
    worded = XCBadRequestError(status=400, method="POST", url="u",
                               body='{"code":3,"message":"User already exist in tenant"}')
    other = XCBadRequestError(status=400, method="POST", url="u", body='{"code":3,"message":"bad email"}')
    server = XCServerError(status=500, method="POST", url="u", body='{"message":"already exist"}')
    assert users.is_duplicate(conflict) and users.is_duplicate(worded)
    assert not users.is_duplicate(other) and not users.is_duplicate(server)


def test_client_repr_hides_token(xc: XCClient):
    assert TOKEN not in repr(xc)
