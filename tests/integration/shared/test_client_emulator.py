"""The XC client over real sockets against the devstack emulator."""

from __future__ import annotations

import time

import pytest

from shared.deadline import Deadline
from shared.xc import credentials, namespaces, objects, users
from shared.xc.client import XCClient
from shared.xc.errors import (
    XCAuthError,
    XCBadRequestError,
    XCConflictError,
    XCNotFoundError,
    XCRateLimitError,
    XCServerError,
    XCTimeoutError,
    XCTransportError,
)
from shared.xc.poll import wait_until
from shared.xc.retry import RetryPolicy
from tests.fixtures.xc import XC_TOKEN

pytestmark = pytest.mark.integration


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.01))  # keep the test fast but real


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def xc(xc_server, sleeps) -> XCClient:
    return XCClient(xc_server.url, XC_TOKEN, sleep=sleeps, jitter=lambda: 0.0)


def calls(server, method: str, path: str) -> list:
    return [r for r in server.requests() if r.method == method and r.path == path]


def test_client_namespace_lifecycle_and_error_classes(xc, xc_server):
    # GIVEN an empty tenant WHEN a namespace is created twice THEN the second is a typed conflict
    namespaces.create(xc, "ns-one", "demo")
    with pytest.raises(XCConflictError) as dup:
        namespaces.create(xc, "ns-one")
    assert dup.value.status == 409 and dup.value.code == 6
    assert namespaces.get(xc, "ns-one")["metadata"]["name"] == "ns-one"
    assert "ns-one" in {item["name"] for item in namespaces.list_(xc)}
    # AND an invalid name is a 400 that is not retried
    with pytest.raises(XCBadRequestError):
        namespaces.create(xc, "Not_Valid")
    # AND cascade delete removes it, a second one is 404
    namespaces.cascade_delete(xc, "ns-one")
    with pytest.raises(XCNotFoundError) as gone:
        namespaces.cascade_delete(xc, "ns-one")
    assert gone.value.code == 5


def test_client_unknown_token_is_auth_error(xc_server):
    bad = XCClient(xc_server.url, "not-a-real-token-123")
    with pytest.raises(XCAuthError) as info:
        namespaces.list_(bad)
    assert info.value.status == 401
    assert "not-a-real-token-123" not in str(info.value)


def test_client_429_with_retry_after_then_success(xc, xc_server, sleeps):
    xc_server.faults.add("GET", r"^/api/web/namespaces$", [429, 429], retry_after=1)
    assert namespaces.list_(xc)
    assert sleeps == [1.0, 1.0]
    assert len(calls(xc_server, "GET", "/api/web/namespaces")) == 3


def test_client_503_backoff_for_get_and_gives_up_at_limit(xc_server, sleeps):
    xc = XCClient(
        xc_server.url, XC_TOKEN, sleep=sleeps, jitter=lambda: 0.0, policy=RetryPolicy(max_attempts=3)
    )
    xc_server.faults.add("GET", r"^/api/web/namespaces/system$", 503, count=5)
    with pytest.raises(XCServerError) as info:
        namespaces.get(xc, "system")
    assert info.value.status == 503 and info.value.code == 14
    assert sleeps == [0.25, 0.5]
    assert len(calls(xc_server, "GET", "/api/web/namespaces/system")) == 3


def test_client_post_500_is_not_retried(xc, xc_server):
    xc_server.faults.add("POST", r"^/api/web/namespaces$", 500)
    with pytest.raises(XCServerError):
        namespaces.create(xc, "ns-two")
    assert len(calls(xc_server, "POST", "/api/web/namespaces")) == 1


def test_client_504_on_cascade_delete_is_retried(xc, xc_server):
    namespaces.create(xc, "ns-three")
    xc_server.faults.add("POST", r"cascade_delete$", 504)
    result = namespaces.cascade_delete(xc, "ns-three")
    assert any(item.get("object_type") == "namespace" for item in result["items"])


def test_client_read_timeout_raises_transport_error(xc_clocked_server, clock):
    # GIVEN a tenant that holds its answer (its 1.5 s latency does not end until the test lets go)
    xc_clocked_server.faults.latency_ms = 1500
    clock.hold()
    xc = XCClient(xc_clocked_server.url, XC_TOKEN, timeout=(2, 0.5), policy=RetryPolicy(max_attempts=1))
    # WHEN a call is made with a 0.5 s read timeout
    with pytest.raises(XCTransportError) as info:
        namespaces.get(xc, "system")
    # THEN it gave up, retryable, while the tenant had not answered yet
    assert info.value.retryable
    assert clock.holding.is_set() and xc_clocked_server.requests() == []
    clock.release()


def test_client_connection_refused_is_transport_error():
    xc = XCClient("http://127.0.0.1:9", XC_TOKEN, policy=RetryPolicy(max_attempts=2), sleep=lambda s: None)
    with pytest.raises(XCTransportError) as info:
        namespaces.list_(xc)
    assert info.value.sent is False


def test_client_object_crud_and_list_shapes(xc):
    namespaces.create(xc, "ns-objs")
    body = {
        "metadata": {"name": "pool-a"},
        "spec": {"origin_servers": [{"public_name": {"dns_name": "a.test"}}], "port": 80},
    }
    objects.create(xc, "ns-objs", "origin_pools", body)
    listed = objects.list_(xc, "ns-objs", "origin_pools")
    assert [item["name"] for item in listed] == ["pool-a"]
    assert "spec" not in listed[0]  # summaries only
    body["spec"]["port"] = 8080
    objects.replace(xc, "ns-objs", "origin_pools", "pool-a", body)
    assert objects.get(xc, "ns-objs", "origin_pools", "pool-a")["spec"]["port"] == 8080
    assert objects.delete(xc, "ns-objs", "origin_pools", "pool-a") == {}
    assert objects.list_(xc, "ns-objs", "origin_pools") == []
    with pytest.raises(XCNotFoundError):
        objects.delete(xc, "ns-objs", "origin_pools", "pool-a")


def test_client_users_duplicate_and_replace(xc):
    request = {
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "name": "jane@example.com",
        "namespace": "system",
        "type": "USER",
        "idm_type": "SSO",
        "group_names": ["g1"],
        "namespace_roles": [{"namespace": "system", "role": "ves-io-monitor-role"}],
    }
    users.create(xc, request)
    with pytest.raises(XCConflictError) as dup:
        users.create(xc, request)
    assert users.is_duplicate(dup.value)
    found = users.find(xc, "JANE@example.com")
    assert found is not None and found["group_names"] == ["g1"]
    users.update(xc, {**request, "group_names": ["g2"]})
    assert users.find(xc, "jane@example.com")["group_names"] == ["g2"]
    users.cascade_delete(xc, "jane@example.com")
    assert users.find(xc, "jane@example.com") is None
    with pytest.raises(XCNotFoundError):
        users.cascade_delete(xc, "jane@example.com")


def test_client_credentials_renew_moves_expiry(xc, xc_server):
    xc_server.state.seed_credential("service_credentials", "svc-abc", "svc-token-000111", time.time() + 86400)
    before, active = credentials.state_of(
        "service_credentials", credentials.get(xc, "service_credentials", "svc-abc")
    )
    assert active is True and before is not None
    assert credentials.renew(xc, "service_credentials", "svc-abc", 7) == {"status": True}
    after, _ = credentials.state_of(
        "service_credentials", credentials.get(xc, "service_credentials", "svc-abc")
    )
    assert after is not None and (after - before).days >= 5


def test_poll_waits_for_visibility_within_deadline(xc_clocked_server, clock):
    # GIVEN a namespace visible 400 ms (of the tenant's time) after its create, and a poller that sleeps on
    # the same clock
    xc = XCClient(xc_clocked_server.url, XC_TOKEN, jitter=lambda: 0.0)
    xc_clocked_server.state.configure(namespace_visibility_delay_ms=400)
    namespaces.create(xc, "ns-late")
    start = clock.monotonic()
    # WHEN it is polled for THEN it is found, after the delay
    assert wait_until(
        lambda: visible_named(xc, "ns-late"),
        deadline=Deadline.after(30, clock.monotonic),
        pending="namespace ns-late visible",
        sleep=clock.sleep,
    )
    assert clock.monotonic() - start >= 0.4  # it did wait for the namespace to show
    gets = [r.status for r in calls(xc_clocked_server, "GET", "/api/web/namespaces/ns-late")]
    assert gets[0] == 404 and gets[-1] == 200
    # AND one that stays invisible past the deadline is a timeout naming it
    xc_clocked_server.state.configure(namespace_visibility_delay_ms=60_000)
    namespaces.create(xc, "ns-never")
    with pytest.raises(XCTimeoutError, match="ns-never"):
        wait_until(
            lambda: visible_named(xc, "ns-never"),
            deadline=Deadline.after(0.5, clock.monotonic),
            pending="namespace ns-never visible",
            sleep=clock.sleep,
        )


def visible_named(xc: XCClient, name: str) -> bool:
    try:
        namespaces.get(xc, name)
    except XCNotFoundError:
        return False
    return True


def test_rate_limited_post_is_retried_and_exhaustion_is_typed(xc, xc_server, sleeps):
    xc_server.faults.add("POST", r"^/api/web/namespaces$", 429, retry_after=2)
    namespaces.create(xc, "ns-rl")
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] < 3.0  # the hint, plus a spread of up to 1 s
    # throttling is bounded by the deadline: a hint that does not fit ends the call at once
    xc_server.faults.add("GET", r"^/api/web/namespaces$", 429, retry_after=3)
    with pytest.raises(XCRateLimitError) as info:
        namespaces.list_(xc, deadline=Deadline.after(2.5))
    assert info.value.retry_after == 3.0 and info.value.retryable
    assert len(sleeps) == 1
