"""XCClient against a real HTTP server on loopback (tests/fixtures/http_server.py): the `http` fixture
routes the client's urllib3 pool to it, so requests, answers, dropped connections and timeouts are
real; a refused connection uses a second server that is not listening yet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from shared.deadline import Deadline
from shared.xc import client as xc_client
from shared.xc import namespaces, objects, users
from shared.xc.client import XCClient, build_path
from shared.xc.errors import (
    XCAuthError,
    XCBadRequestError,
    XCConflictError,
    XCHTTPError,
    XCNotFoundError,
    XCPartialListError,
    XCRateLimitError,
    XCServerError,
    XCTransportError,
)
from shared.xc.retry import RetryPolicy
from tests.fixtures.clock import FakeClock
from tests.fixtures.http_server import FakeHTTPServer

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


def test_request_sends_apitoken_header_and_normalised_url(http: FakeHTTPServer, xc: XCClient):
    # GIVEN a tenant answering a namespace GET
    http.add("GET", f"{URL}/api/web/namespaces/ns1", json={"metadata": {"name": "ns1"}})
    # WHEN the client asks for it
    body = namespaces.get(xc, "ns1")
    # THEN the body is parsed and the auth header has the XC scheme
    assert body == {"metadata": {"name": "ns1"}}
    assert http.calls[0].request.headers["Authorization"] == f"APIToken {TOKEN}"
    assert http.calls[0].request.url == f"{URL}/api/web/namespaces/ns1"
    assert http.calls[0].request.headers["Accept"] == "application/json"


def test_request_sends_json_body_and_query(http: FakeHTTPServer, xc: XCClient):
    http.add("POST", f"{URL}/api/web/namespaces", json={})
    http.add("GET", f"{URL}/api/web/namespaces", json={"items": []})
    xc.request("POST", "/api/web/namespaces", json={"metadata": {"name": "ns1"}})
    xc.request("GET", "/api/web/namespaces", params={"label_filter": "tops-dep-id in (a b)"})
    sent = http.calls[0].request
    assert json.loads(sent.body) == {"metadata": {"name": "ns1"}}
    assert sent.headers["Content-Type"] == "application/json"
    assert http.calls[1].request.url == f"{URL}/api/web/namespaces?label_filter=tops-dep-id+in+%28a+b%29"
    assert http.calls[1].request.body == b""


def test_request_empty_2xx_body_is_empty_dict(http: FakeHTTPServer, xc: XCClient):
    http.add("DELETE", f"{URL}/api/config/namespaces/ns1/origin_pools/p", body=b"")
    assert objects.delete(xc, "ns1", "origin_pools", "p") == {}


def test_request_2xx_body_that_is_not_json_is_an_error(http: FakeHTTPServer, xc: XCClient):
    http.add("GET", f"{URL}/api/web/namespaces/ns1", body="<html>login</html>")
    with pytest.raises(XCHTTPError) as info:
        namespaces.get(xc, "ns1")
    assert info.value.status == 200 and "login" in info.value.body


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (400, XCBadRequestError, 3),
        (401, XCAuthError, 16),
        (403, XCAuthError, 7),
        (404, XCNotFoundError, 5),
        (409, XCConflictError, 6),
        (500, XCServerError, 13),
    ],
)
def test_request_maps_status_to_typed_error(http: FakeHTTPServer, xc: XCClient, status, error_class, code):
    http.add(
        "POST",
        f"{URL}/api/web/namespaces",
        status=status,
        json={"code": code, "details": [], "message": "server says no"},
    )
    with pytest.raises(error_class) as info:
        namespaces.create(xc, "ns1")
    err = info.value
    assert err.status == status and err.code == code and err.message == "server says no"
    assert str(err).endswith(f"on POST {URL}/api/web/namespaces")
    assert "server says no" in str(err)
    assert len(http.calls) == 1  # none of these is retried for a POST


def test_request_non_json_error_body_keeps_text(http: FakeHTTPServer, xc: XCClient):
    http.add("GET", f"{URL}/api/web/namespaces/x", status=401, body="Unauthorized")
    with pytest.raises(XCAuthError) as info:
        namespaces.get(xc, "x")
    assert info.value.code is None and info.value.message == "Unauthorized"


def test_request_redirect_is_not_followed(http: FakeHTTPServer, xc: XCClient):
    # GIVEN a tenant answering a redirect to another host
    http.add(
        "GET", f"{URL}/api/web/namespaces/x", status=302, headers={"Location": "https://elsewhere.test/"}
    )
    # WHEN / THEN it is an error, and the token went nowhere else
    with pytest.raises(XCHTTPError) as info:
        namespaces.get(xc, "x")
    assert info.value.status == 302
    assert [c.request.url for c in http.calls] == [f"{URL}/api/web/namespaces/x"]


def test_request_429_with_retry_after_then_200_waits_as_told(
    http: FakeHTTPServer, xc: XCClient, sleeps: Sleeps
):
    # GIVEN two throttled answers (POST is retried on 429) then success
    url = f"{URL}/api/web/namespaces"
    http.add("POST", url, status=429, headers={"Retry-After": "2"}, json={"code": 8, "message": "slow down"})
    http.add("POST", url, status=429, json={"code": 8, "message": "slow down"})
    http.add("POST", url, json={"metadata": {"name": "ns1"}})
    # WHEN creating
    body = namespaces.create(xc, "ns1")
    # THEN it waited Retry-After first, then its own backoff, and made three calls
    assert body["metadata"]["name"] == "ns1"
    assert len(http.calls) == 3
    assert sleeps == [2.0, 0.5]


def test_request_503_retried_for_get_with_backoff(http: FakeHTTPServer, xc: XCClient, sleeps: Sleeps):
    url = f"{URL}/api/web/namespaces/ns1"
    for _ in range(3):
        http.add("GET", url, status=503, json={"code": 14, "message": "unavailable"})
    http.add("GET", url, json={"ok": True})
    assert namespaces.get(xc, "ns1") == {"ok": True}
    assert len(http.calls) == 4
    assert sleeps == [0.25, 0.5, 1.0]  # jitter 0: lower half of 0.5, 1, 2


def test_request_503_on_plain_post_is_not_retried(http: FakeHTTPServer, xc: XCClient):
    http.add("POST", f"{URL}/api/web/namespaces", status=503, json={"code": 14, "message": "unavailable"})
    with pytest.raises(XCServerError):
        namespaces.create(xc, "ns1")
    assert len(http.calls) == 1


def test_request_500_on_get_is_not_retried(http: FakeHTTPServer, xc: XCClient):
    http.add("GET", f"{URL}/api/web/namespaces/ns1", status=500, json={"code": 13, "message": "boom"})
    with pytest.raises(XCServerError) as info:
        namespaces.get(xc, "ns1")
    assert info.value.retryable is True
    assert len(http.calls) == 1


def test_request_cascade_delete_post_is_retried_as_idempotent(http: FakeHTTPServer, xc: XCClient):
    url = f"{URL}/api/web/namespaces/ns1/cascade_delete"
    http.add("POST", url, status=504, json={"code": 4, "message": "timeout"})
    http.add("POST", url, json={"items": []})
    assert namespaces.cascade_delete(xc, "ns1") == {"items": []}
    assert len(http.calls) == 2
    assert json.loads(http.calls[0].request.body or b"") == {"name": "ns1"}


def test_request_transient_errors_give_up_after_max_attempts(http: FakeHTTPServer, sleeps: Sleeps):
    xc = XCClient(URL, TOKEN, sleep=sleeps, jitter=lambda: 0.0, policy=RetryPolicy(max_attempts=3))
    url = f"{URL}/api/web/namespaces/ns1"
    for _ in range(5):
        http.add("GET", url, status=503, json={"code": 14, "message": "unavailable"})
    with pytest.raises(XCServerError):
        namespaces.get(xc, "ns1")
    assert len(http.calls) == 3


def test_request_throttling_outlasts_the_attempt_count_within_the_deadline(http: FakeHTTPServer):
    # GIVEN a burst: eight 429s in a row, then an answer, and 60 s of budget on a fake clock
    clock = FakeClock(start=0.0)
    xc = XCClient(
        URL, TOKEN, sleep=clock.sleep, jitter=lambda: 0.5, clock=clock, policy=RetryPolicy(max_attempts=3)
    )
    url = f"{URL}/api/web/namespaces/ns1"
    for _ in range(8):
        http.add("GET", url, status=429, headers={"Retry-After": "2"}, json={"code": 8, "message": "slow"})
    http.add("GET", url, json={"metadata": {"name": "ns1"}})
    # WHEN the call is made
    body = namespaces.get(xc, "ns1", deadline=Deadline(60.0, clock))
    # THEN it waited out the burst instead of failing after three answers, each wait spread past the hint
    assert body["metadata"]["name"] == "ns1"
    assert len(http.calls) == 9
    assert clock.slept == [2.5] * 8


def test_request_does_not_sleep_past_deadline(http: FakeHTTPServer, sleeps: Sleeps):
    now = [100.0]
    xc = XCClient(URL, TOKEN, sleep=sleeps, jitter=lambda: 0.0, clock=lambda: now[0])
    http.add(
        "GET",
        f"{URL}/api/web/namespaces/ns1",
        status=429,
        headers={"Retry-After": "10"},
        json={"code": 8, "message": "slow"},
    )
    with pytest.raises(XCRateLimitError) as info:
        namespaces.get(xc, "ns1", deadline=Deadline(105.0, lambda: now[0]))
    assert info.value.retry_after == 10.0
    assert sleeps == []
    assert len(http.calls) == 1


@pytest.fixture
def down(http: FakeHTTPServer) -> Iterator[FakeHTTPServer]:
    """A second tenant whose port is bound but not listening: connections are refused until start()."""
    server = FakeHTTPServer()
    try:
        yield server
    finally:
        server.stop()


def test_request_connection_refused_is_retried_even_for_post(down: FakeHTTPServer):
    # GIVEN a tenant that refuses the first connection and is up by the time the client retries
    slept: list[float] = []

    def come_up(seconds: float) -> None:
        slept.append(seconds)
        down.start()

    down.add("POST", f"{down.url}/api/web/namespaces", json={"metadata": {"name": "n"}})
    xc = XCClient(down.url, TOKEN, http=urllib3.PoolManager(), sleep=come_up, jitter=lambda: 0.0)
    # WHEN a create is sent
    body = namespaces.create(xc, "n")
    # THEN the refused attempt (nothing sent) was retried once, and the retry reached the tenant
    assert body["metadata"]["name"] == "n"
    assert slept == [0.25]
    assert len(down.calls) == 1


def test_request_connection_refused_every_time_is_a_transport_error_not_sent(down: FakeHTTPServer):
    xc = XCClient(
        down.url,
        TOKEN,
        http=urllib3.PoolManager(),
        sleep=lambda s: None,
        jitter=lambda: 0.0,
        policy=RetryPolicy(max_attempts=2),
    )
    with pytest.raises(XCTransportError) as info:
        namespaces.create(xc, "n")
    assert info.value.sent is False and info.value.retryable is True


def test_request_read_timeout_on_post_is_not_retried(http: FakeHTTPServer, sleeps: Sleeps):
    # GIVEN a tenant that never answers the create, and a 0.2 s read timeout
    xc = XCClient(URL, TOKEN, sleep=sleeps, jitter=lambda: 0.0, timeout=(5.0, 0.2))
    http.add("POST", f"{URL}/api/web/namespaces", hang=True)
    with pytest.raises(XCTransportError) as info:
        namespaces.create(xc, "n")
    # THEN the create may have landed: not repeated, reported as sent and retryable
    assert info.value.sent is True and info.value.retryable is True
    assert "ReadTimeoutError" in str(info.value)
    assert len(http.calls) == 1 and sleeps == []


def test_request_read_timeout_on_get_is_retried(http: FakeHTTPServer, sleeps: Sleeps):
    xc = XCClient(URL, TOKEN, sleep=sleeps, jitter=lambda: 0.0, timeout=(5.0, 0.2))
    url = f"{URL}/api/web/namespaces/n"
    http.add("GET", url, hang=True)
    http.add("GET", url, json={"ok": 1})
    assert namespaces.get(xc, "n") == {"ok": 1}
    assert len(http.calls) == 2 and sleeps == [0.25]


def test_request_dropped_connection_is_retried_for_get_only(
    http: FakeHTTPServer, xc: XCClient, sleeps: Sleeps
):
    # GIVEN a tenant that closes the connection without answering, once per URL
    http.add("GET", f"{URL}/api/web/namespaces/n", drop=True)
    http.add("GET", f"{URL}/api/web/namespaces/n", json={"ok": 1})
    http.add("POST", f"{URL}/api/web/namespaces", drop=True)
    # WHEN a GET and a create meet it
    assert namespaces.get(xc, "n") == {"ok": 1}
    with pytest.raises(XCTransportError) as info:
        namespaces.create(xc, "n")
    # THEN the GET was repeated, the create (sent, outcome unknown) was not
    assert info.value.sent is True
    assert [c.request.method for c in http.calls] == ["GET", "GET", "POST"]
    assert sleeps == [0.25]


def test_list_missing_items_is_empty_and_errors_surface(http: FakeHTTPServer, xc: XCClient):
    url = f"{URL}/api/config/namespaces/shared/certificates"
    http.add("GET", url, json={})
    assert objects.list_(xc, "shared", "certificates") == []
    http.replace(
        "GET", url, json={"items": [{"name": "a"}], "errors": [{"code": "EPARTIAL", "message": "x"}]}
    )
    with pytest.raises(XCPartialListError) as info:
        objects.list_(xc, "shared", "certificates")
    assert info.value.items == [{"name": "a"}]


def test_error_body_masks_secrets(http: FakeHTTPServer, xc: XCClient):
    http.add(
        "GET",
        f"{URL}/api/web/namespaces/x",
        status=400,
        json={"code": 3, "message": f"bad token {TOKEN}", "token": TOKEN},
    )
    with pytest.raises(XCBadRequestError) as info:
        namespaces.get(xc, "x")
    assert TOKEN not in str(info.value) and TOKEN not in info.value.body
    assert TOKEN not in repr(info.value.json)


def test_users_is_duplicate_by_status_or_wording():
    conflict = XCConflictError(status=409, method="POST", url="u", body='{"code":6,"message":"x"}')
    worded = XCBadRequestError(
        status=400, method="POST", url="u", body='{"code":3,"message":"User already exist in tenant"}'
    )
    other = XCBadRequestError(status=400, method="POST", url="u", body='{"code":3,"message":"bad email"}')
    server = XCServerError(status=500, method="POST", url="u", body='{"message":"already exist"}')
    assert users.is_duplicate(conflict) and users.is_duplicate(worded)
    assert not users.is_duplicate(other) and not users.is_duplicate(server)


def test_client_repr_hides_token(xc: XCClient):
    assert TOKEN not in repr(xc)


def test_close_releases_the_pool_connections(http: FakeHTTPServer):
    http.add("GET", f"{URL}/api/web/namespaces/n", json={})
    with XCClient(URL, TOKEN) as xc:
        namespaces.get(xc, "n")
        pool: Any = xc._pool()
        assert pool._pool.pools  # the loopback pool's own connection pool
    assert not pool._pool.pools


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_pool_for_goes_direct_without_proxy_settings(no_proxy_env: pytest.MonkeyPatch):
    pool = xc_client.pool_for(URL)
    assert type(pool) is urllib3.PoolManager
    assert "ca_certs" not in pool.connection_pool_kw  # the system's CA store


def test_pool_for_uses_the_proxy_the_environment_names(no_proxy_env: pytest.MonkeyPatch):
    no_proxy_env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    pool = xc_client.pool_for(URL)
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy is not None and pool.proxy.host == "proxy.internal"


@pytest.mark.parametrize("url", [URL, "http://127.0.0.1:8080"])
def test_pool_for_bypasses_the_proxy_for_no_proxy_and_loopback(no_proxy_env: pytest.MonkeyPatch, url: str):
    no_proxy_env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    no_proxy_env.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    no_proxy_env.setenv("NO_PROXY", ".example.test")
    assert type(xc_client.pool_for(url)) is urllib3.PoolManager


def test_pool_for_trusts_the_ca_bundle_the_environment_names(no_proxy_env: pytest.MonkeyPatch):
    no_proxy_env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    assert xc_client.pool_for(URL).connection_pool_kw["ca_certs"] == "/etc/ssl/private-ca.pem"
