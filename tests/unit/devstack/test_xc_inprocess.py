"""The emulator in process (``devstack.xc.inprocess``): the real client, no sockets, the fake clock.

These run with sockets disabled (tests/unit/conftest.py), so every call below went from the real
``XCClient`` through urllib3's ``request()`` and ``WSGIPool`` into ``XCApp``: routing, auth, faults and
the request log included.
"""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError

from devstack.xc import DROP, InProcessXC
from shared.deadline import Deadline
from shared.xc import credentials, errors, namespaces, objects, users
from shared.xc.client import XCClient
from shared.xc.poll import wait_until
from shared.xc.retry import RetryPolicy
from tests.fixtures.xc import XC_EMAIL, XC_TENANT, FakeClock, pool_body, user_body

OWNER = "dep-7f3a"


def _visible(xc: XCClient, name: str) -> bool:
    try:
        namespaces.get(xc, name)
    except errors.XCNotFoundError:
        return False
    return True


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_client_reaches_the_emulator_while_sockets_are_blocked(xc_client: XCClient) -> None:
    # GIVEN a unit test, where opening a socket fails
    with pytest.raises(SocketBlockedError):
        socket.socket()
    # WHEN the real client asks the in-process tenant who it is
    detail = xc_client.request("GET", "/api/web/custom/namespaces/system/whoami")
    # THEN the emulator answered, for the fixture token's caller
    assert (detail["email"], detail["tenant"]) == (XC_EMAIL, XC_TENANT)


def test_namespace_owner_label_round_trips_through_the_client(
    xc_client: XCClient, xc_emulator: InProcessXC
) -> None:
    # GIVEN a namespace created the way ns_create does for a UDF deployment
    namespaces.create(xc_client, "pet-one", "lab", owner=OWNER)
    # WHEN it is read back and listed
    found = namespaces.get(xc_client, "pet-one")
    listed = next(item for item in namespaces.list_(xc_client) if item["name"] == "pet-one")
    # THEN the owner label is there in both, and the body sent carried it
    assert namespaces.owner_of(found) == OWNER
    assert listed["labels"] == {namespaces.OWNER_LABEL: OWNER}
    assert xc_emulator.requests()[0].body["metadata"]["labels"] == {namespaces.OWNER_LABEL: OWNER}
    # AND one created without an owner has none
    namespaces.create(xc_client, "pet-two")
    assert namespaces.owner_of(namespaces.get(xc_client, "pet-two")) is None


def test_emulator_answers_become_the_clients_typed_errors(
    xc_client: XCClient, xc_emulator: InProcessXC
) -> None:
    # GIVEN a namespace
    namespaces.create(xc_client, "pet-one")
    # WHEN it is created again, a missing one is read, a bad name is sent, a verb is wrong
    with pytest.raises(errors.XCConflictError) as duplicate:
        namespaces.create(xc_client, "pet-one")
    with pytest.raises(errors.XCNotFoundError) as missing:
        namespaces.get(xc_client, "nope")
    with pytest.raises(errors.XCBadRequestError) as bad:
        namespaces.create(xc_client, "Not_Valid")
    with pytest.raises(errors.XCBadRequestError) as verb:
        xc_client.request("DELETE", "/api/web/namespaces/pet-one")
    # THEN each is the class, status and gRPC code of docs/xc-api.md §4, and none was retried
    assert (duplicate.value.status, duplicate.value.code) == (409, 6)
    assert (missing.value.status, missing.value.code) == (404, 5)
    assert (bad.value.status, bad.value.code) == (400, 3) and "metadata.name" in bad.value.message
    assert (verb.value.status, verb.value.code) == (405, 12)
    assert [r.status for r in xc_emulator.requests()] == [200, 409, 404, 400, 405]


def test_unknown_token_is_an_auth_error(xc_emulator: InProcessXC) -> None:
    # GIVEN a client whose token the tenant does not know
    stranger = xc_emulator.client("not-a-known-token")
    # WHEN it calls / THEN 401, code 16, and the token is not in the error
    with pytest.raises(errors.XCAuthError) as info:
        namespaces.list_(stranger)
    assert (info.value.status, info.value.code) == (401, 16)
    assert "not-a-known-token" not in str(info.value)


def test_transient_errors_are_retried_on_the_fake_clock(
    xc_client: XCClient, xc_emulator: InProcessXC, clock: FakeClock
) -> None:
    # GIVEN two 503s, then the real answer, for the namespace list
    xc_emulator.faults.add("GET", r"^/api/web/namespaces$", 503, count=2)
    # WHEN it is listed
    items = namespaces.list_(xc_client)
    # THEN the client backed off 0.25 s then 0.5 s on the fake clock, and the third call answered
    assert {"system", "shared", "default"} <= {item["name"] for item in items}
    assert clock.slept == [0.25, 0.5]
    assert [(r.status, r.fault) for r in xc_emulator.requests()] == [
        (503, "injected"),
        (503, "injected"),
        (200, None),
    ]


def test_post_500_is_not_retried_and_503_gives_up_after_max_attempts(
    xc_client: XCClient, xc_emulator: InProcessXC
) -> None:
    # GIVEN a 500 on a namespace create and endless 503s on reads
    xc_emulator.faults.add("POST", r"^/api/web/namespaces$", 500)
    xc_emulator.faults.add("GET", r"^/api/web/namespaces/system$", 503, count=10)
    # WHEN / THEN the create fails at once; the read after the policy's attempts
    with pytest.raises(errors.XCServerError):
        namespaces.create(xc_client, "pet-one")
    with pytest.raises(errors.XCServerError) as info:
        namespaces.get(xc_client, "system")
    assert info.value.code == 14
    assert [r.method for r in xc_emulator.requests()] == ["POST"] + ["GET"] * RetryPolicy().max_attempts


def test_throttled_call_waits_the_retry_after_hint(
    xc_client: XCClient, xc_emulator: InProcessXC, clock: FakeClock
) -> None:
    # GIVEN a 429 with a 2 s hint, then a rate limit of one call per 10 s
    xc_emulator.faults.add("GET", r"^/api/web/namespaces$", 429, retry_after=2)
    namespaces.list_(xc_client)
    assert clock.slept == [2.0]
    xc_emulator.faults.set_rate_limit(1, 10.0)
    namespaces.list_(xc_client)
    # WHEN the next call comes within the window and the deadline is shorter than the wait
    # THEN it is a typed 429 with the hint, raised without waiting
    with pytest.raises(errors.XCRateLimitError) as info:
        namespaces.list_(xc_client, deadline=Deadline.after(5.0, clock))
    assert info.value.retry_after == 10.0 and clock.slept == [2.0]
    # AND once the window has passed on the fake clock the call goes through
    clock.advance(10.0)
    assert namespaces.list_(xc_client)


def test_dropped_connection_is_a_transport_error_retried_only_when_safe(
    xc_client: XCClient, xc_emulator: InProcessXC
) -> None:
    # GIVEN a connection dropped on the next read, and on the next create
    xc_emulator.faults.add("GET", r"^/api/web/namespaces$", DROP)
    xc_emulator.faults.add("POST", r"^/api/web/namespaces$", DROP)
    # WHEN both are called
    namespaces.list_(xc_client)
    with pytest.raises(errors.XCTransportError) as info:
        namespaces.create(xc_client, "pet-one")
    # THEN the read was retried and answered; the create was not (it may have been sent)
    assert info.value.sent is True and info.value.retryable
    assert [(r.method, r.status, r.fault) for r in xc_emulator.requests()] == [
        ("GET", 0, "dropped"),
        ("GET", 200, None),
        ("POST", 0, "dropped"),
    ]


def test_answer_slower_than_the_read_timeout_is_lost_after_the_tenant_acted(
    xc_emulator: InProcessXC, clock: FakeClock
) -> None:
    # GIVEN 3 s of latency and a client that reads for at most 2 s, once
    xc_emulator.faults.latency_ms = 3000
    xc = xc_emulator.client(timeout=(1.0, 2.0), policy=RetryPolicy(max_attempts=1))
    # WHEN it creates a namespace
    with pytest.raises(errors.XCTransportError) as info:
        namespaces.create(xc, "pet-one")
    # THEN the client timed out reading, but the namespace exists: the answer was lost, not the call
    assert "ReadTimeout" in str(info.value) and info.value.sent is True
    assert clock.slept == [3.0]
    assert xc_emulator.state.get_namespace("pet-one")["metadata"]["name"] == "pet-one"


def test_fault_after_the_call_changes_state_and_still_fails(
    xc_client: XCClient, xc_emulator: InProcessXC
) -> None:
    # GIVEN a create that succeeds in the tenant but answers 503
    xc_emulator.faults.add("POST", r"^/api/web/namespaces$", 503, after=True)
    # WHEN / THEN the client raises, and a second create finds the first
    with pytest.raises(errors.XCServerError):
        namespaces.create(xc_client, "pet-one")
    with pytest.raises(errors.XCConflictError):
        namespaces.create(xc_client, "pet-one")


def test_visibility_delay_elapses_on_the_shared_clock(
    xc_client: XCClient, xc_emulator: InProcessXC, clock: FakeClock
) -> None:
    # GIVEN new namespaces that stay invisible for 3 s
    xc_emulator.state.configure(namespace_visibility_delay_ms=3000)
    namespaces.create(xc_client, "pet-one")
    start = clock()
    # WHEN a poll waits for it on the same clock
    assert wait_until(
        lambda: _visible(xc_client, "pet-one"),
        deadline=Deadline.after(30, clock),
        pending="pet-one",
        interval=1.0,
        sleep=clock.sleep,
    )
    # THEN it showed once 3 s had passed, without a real sleep; a shorter deadline times out
    assert clock() - start >= 3.0
    namespaces.create(xc_client, "pet-two")
    with pytest.raises(errors.XCTimeoutError):
        wait_until(
            lambda: _visible(xc_client, "pet-two"),
            deadline=Deadline.after(2, clock),
            pending="pet-two",
            interval=1.0,
            sleep=clock.sleep,
        )


def test_request_log_keeps_bodies_and_query_and_times_on_the_clock(
    xc_client: XCClient, xc_emulator: InProcessXC, clock: FakeClock
) -> None:
    # GIVEN a namespace with a pool, and 250 ms of latency
    namespaces.create(xc_client, "pet-one")
    xc_emulator.faults.latency_ms = 250
    objects.create(xc_client, "pet-one", "origin_pools", pool_body("pet-origin"))
    # WHEN the pools are listed with report_fields
    listed = xc_client.request(
        "GET", "/api/config/namespaces/pet-one/origin_pools", params={"report_fields": "1"}
    )
    # THEN the query reached the emulator (full items came back) and the log shows what was sent
    assert listed["items"][0]["get_spec"]["port"] == 443
    create, listing = xc_emulator.requests()[1:]
    assert create.body == pool_body("pet-origin") and create.duration_ms == 250.0
    assert listing.query == {"report_fields": "1"}
    assert listing.timestamp == clock.wall - 0.25


def test_users_and_credentials_through_the_client(xc_client: XCClient, xc_emulator: InProcessXC) -> None:
    # GIVEN a user and a service credential
    users.create(xc_client, user_body("jane@example.com", group_names=["g1"]))
    xc_emulator.state.seed_credential(
        "service_credentials", "svc-abc", None, xc_emulator.clock.time() + 86400
    )
    # WHEN a duplicate is created, the user is found, and the credential renewed and read
    with pytest.raises(errors.XCConflictError) as duplicate:
        users.create(xc_client, user_body("jane@example.com"))
    renewed = credentials.renew(xc_client, "service_credentials", "svc-abc", 7)
    expiry, active = credentials.state_of(
        "service_credentials", credentials.get(xc_client, "service_credentials", "svc-abc")
    )
    # THEN the answers are those of docs/xc-api.md §7.2 and §7.3
    assert users.is_duplicate(duplicate.value)
    found = users.find(xc_client, "JANE@example.com")
    assert found is not None and found["group_names"] == ["g1"]
    assert renewed == {"status": True} and active is True
    assert expiry is not None and expiry.timestamp() == xc_emulator.clock.time() + 7 * 86400


def test_admin_api_is_served_in_process_too(xc_emulator: InProcessXC) -> None:
    # GIVEN the in-process pool, without credentials
    pool = xc_emulator.pool
    # WHEN the admin API sets a config value and reads the state
    answer = pool.request("POST", f"{xc_emulator.url}/_emulator/config", json={"validate_refs": True})
    state = pool.request("GET", f"{xc_emulator.url}/_emulator/state").json()
    # THEN it applied, as over HTTP
    assert answer.status == 200 and answer.json()["validate_refs"] is True
    assert xc_emulator.state.config.validate_refs is True
    assert state["tenant"] == XC_TENANT


def test_client_without_any_token_is_refused() -> None:
    # GIVEN an emulator made without a token / WHEN a client is asked for without one / THEN no client
    with pytest.raises(ValueError, match="no token"):
        InProcessXC(clock=FakeClock()).client()
