"""ns_create.core: create, already-exists, visibility wait, deletion in progress, deadlines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ns_create.core import MAX_SERVER_ERRORS, create_namespace
from ns_create.models import NamespaceRequest
from shared.deadline import Deadline
from shared.errors import OwnershipError
from shared.xc.client import XCClient
from shared.xc.errors import XCAuthError, XCBadRequestError, XCServerError, XCTimeoutError
from shared.xc.poll import VISIBILITY_INTERVAL
from tests.fixtures.clock import FakeClock
from tests.fixtures.tenant import TENANT_URL

NS = f"{TENANT_URL}/api/web/namespaces"
ONE = f"{NS}/ample-gull"
REQUEST = NamespaceRequest("/tenantOps-test/sec-lab", "ample-gull", "lab")


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"status": status, "json": {"code": code, "details": [], "message": message}}


def _namespace(**system: Any) -> dict[str, Any]:
    return {
        "json": {"metadata": {"name": "ample-gull"}, "spec": {}, "system_metadata": {"uid": "u-1", **system}}
    }


def _calls(http: Any) -> list[tuple[str, str]]:
    return [(call.request.method, call.request.url) for call in http.calls]


def _run(xc: XCClient, clock: FakeClock, budget: float = 50.0) -> Any:
    return create_namespace(REQUEST, xc, deadline=Deadline.after(budget, clock), sleep=clock.sleep)


def test_create_namespace_new_and_visible_reports_created(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a tenant that accepts the create and shows the namespace at once
    http.add("POST", NS, json={"metadata": {"name": "ample-gull"}})
    http.add("GET", ONE, **_namespace())
    # WHEN the namespace is created
    result = _run(xc, clock)
    # THEN it is reported created after one create and one read, with no wait
    assert result.created is True
    assert result.state == "created"
    assert result.create_attempts == 1
    assert _calls(http) == [("POST", NS), ("GET", ONE)]
    assert clock.slept == []
    sent = json.loads(http.calls[0].request.body)
    assert sent["metadata"]["name"] == "ample-gull"
    assert sent["metadata"]["description"] == "lab"


def test_create_namespace_already_exists_reports_existed(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a namespace that exists
    http.add("POST", NS, **_error(409, 6, "Object already exists"))
    http.add("GET", ONE, **_namespace())
    # WHEN it is created again
    result = _run(xc, clock)
    # THEN that is success, reported as existed, with no second create
    assert result.created is False
    assert result.to_body()["state"] == "existed"
    assert _calls(http) == [("POST", NS), ("GET", ONE)]


def test_create_namespace_not_yet_visible_polls_until_visible(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a namespace that reads 404 for a while after its create
    http.add("POST", NS, json={})
    for _ in range(3):
        http.add("GET", ONE, status=404, json={"code": 5, "message": "not found"})
    http.add("GET", ONE, **_namespace())
    # WHEN it is created
    result = _run(xc, clock)
    # THEN the poll waits about the time XC takes to show a namespace, then backs off; creates once
    assert result.created is True
    assert [m for m, _ in _calls(http)] == ["POST", "GET", "GET", "GET", "GET"]
    assert clock.slept[0] == pytest.approx(VISIBILITY_INTERVAL)
    assert clock.slept == sorted(clock.slept)
    assert result.waited_s == pytest.approx(sum(clock.slept))


def test_create_namespace_being_deleted_retries_create(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a name whose cascade delete is still running (409 code 10), then free
    http.add("POST", NS, **_error(409, 10, "namespace ample-gull is being deleted"))
    http.add("POST", NS, **_error(409, 10, "namespace ample-gull is being deleted"))
    http.add("POST", NS, json={})
    http.add("GET", ONE, **_namespace())
    # WHEN it is created
    result = _run(xc, clock)
    # THEN the create is retried within the deadline and this call created it
    assert result.created is True
    assert result.create_attempts == 3
    assert [m for m, _ in _calls(http)] == ["POST", "POST", "POST", "GET"]
    assert len(clock.slept) == 2


def test_create_namespace_conflict_while_get_says_absent_creates_again(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a create that says "exists" while GET says 404 (the old namespace is going away)
    http.add("POST", NS, **_error(409, 6, "Object already exists"))
    http.add("POST", NS, json={})
    http.add("GET", ONE, status=404, json={"code": 5, "message": "not found"})
    http.add("GET", ONE, **_namespace())
    # WHEN it is created
    result = _run(xc, clock)
    # THEN it creates again instead of reporting a namespace that is not there
    assert result.created is True
    assert [m for m, _ in _calls(http)] == ["POST", "GET", "POST", "GET"]


def test_create_namespace_existing_with_deletion_timestamp_waits_and_recreates(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN an existing namespace that GET shows with a deletion timestamp
    http.add("POST", NS, **_error(409, 6, "Object already exists"))
    http.add("POST", NS, json={})
    http.add("GET", ONE, **_namespace(deletion_timestamp="2025-03-01T14:02:11Z"))
    http.add("GET", ONE, **_namespace())
    # WHEN it is created
    result = _run(xc, clock)
    # THEN it is not taken as usable; the create runs again once the delete is done
    assert result.created is True
    assert [m for m, _ in _calls(http)] == ["POST", "GET", "POST", "GET"]


def test_create_namespace_pending_initializers_waits(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a namespace whose initializers are still pending
    http.add("POST", NS, json={})
    http.add("GET", ONE, **_namespace(initializers={"pending": [{"name": "ves-io-init"}]}))
    http.add("GET", ONE, **_namespace(initializers={"pending": []}))
    # WHEN it is created
    result = _run(xc, clock)
    # THEN the worker waits for them
    assert result.created is True
    assert len(clock.slept) == 1


def test_create_namespace_never_visible_times_out_naming_it(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a namespace that never becomes visible
    http.add("POST", NS, json={})
    http.add("GET", ONE, status=404, json={"code": 5, "message": "not found"})
    start = clock()
    # WHEN the deadline passes
    with pytest.raises(XCTimeoutError) as info:
        _run(xc, clock, budget=10.0)
    # THEN a retryable timeout names the namespace and what it waited for, and no sleep overshoots
    assert info.value.retryable is True
    assert "ample-gull" in str(info.value)
    assert "visible" in str(info.value)
    assert clock.now <= start + 10.0
    assert [m for m, _ in _calls(http)].count("POST") == 1


def test_create_namespace_still_being_deleted_at_deadline_times_out(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a cascade delete that outlasts the deadline
    http.add("POST", NS, **_error(409, 10, "namespace ample-gull is being deleted"))
    # WHEN the deadline passes
    with pytest.raises(XCTimeoutError) as info:
        _run(xc, clock, budget=5.0)
    # THEN the timeout says why
    assert "cascade delete" in str(info.value)


def test_create_namespace_auth_error_on_get_propagates(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a read that is refused
    http.add("POST", NS, json={})
    http.add("GET", ONE, status=403, json={"code": 7, "message": "Forbidden"})
    # WHEN the namespace is created
    # THEN the error is not mistaken for "not yet"
    with pytest.raises(XCAuthError):
        _run(xc, clock)
    assert len(http.calls) == 2


def test_create_namespace_bad_request_propagates(http: Any, xc: XCClient, clock: FakeClock) -> None:
    http.add("POST", NS, status=400, json={"code": 3, "message": "invalid name"})
    with pytest.raises(XCBadRequestError):
        _run(xc, clock)
    assert len(http.calls) == 1


def test_create_namespace_server_error_on_create_reads_and_retries(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN a create that fails with 503 once and whose retry finds the namespace created
    http.add("POST", NS, status=503, json={"code": 14, "message": "unavailable"})
    http.add("POST", NS, **_error(409, 6, "Object already exists"))
    http.add("GET", ONE, **_namespace())
    # WHEN the namespace is created
    result = _run(xc, clock)
    # THEN the outcome is read back rather than failed; unknown ownership is reported as existed
    assert result.created is False
    assert result.create_attempts == 2


def test_create_namespace_repeated_server_errors_raise(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a create that keeps failing with 500
    http.add("POST", NS, status=500, json={"code": 13, "message": "internal"})
    # WHEN the namespace is created
    with pytest.raises(XCServerError) as info:
        _run(xc, clock)
    # THEN after a bounded number of attempts the retryable server error is raised
    assert info.value.retryable is True
    assert len(http.calls) == MAX_SERVER_ERRORS


OWNED = NamespaceRequest("/tenantOps-test/sec-lab", "ample-gull", "lab", owner="dep-1")


def _labelled(owner: str | None) -> dict[str, Any]:
    labels = {"tops-dep-id": owner} if owner else {}
    return {
        "json": {
            "metadata": {"name": "ample-gull", "labels": labels},
            "spec": {},
            "system_metadata": {"uid": "u-1"},
        }
    }


def test_create_namespace_with_owner_labels_the_namespace(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a free name
    http.add("POST", NS, json={})
    http.add("GET", ONE, **_labelled("dep-1"))
    # WHEN a deployment creates it
    result = create_namespace(OWNED, xc, deadline=Deadline.after(50, clock), sleep=clock.sleep)
    # THEN the create carries the deployment's owner label, and the body says who owns it
    assert json.loads(http.calls[0].request.body)["metadata"]["labels"] == {"tops-dep-id": "dep-1"}
    assert (result.created, result.to_body()["owner"]) == (True, "dep-1")


def test_create_namespace_replay_of_own_create_reports_existed(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN the namespace this deployment created on an earlier delivery
    http.add("POST", NS, **_error(409, 6, "Object already exists"))
    http.add("GET", ONE, **_labelled("dep-1"))
    # WHEN the create is replayed
    result = create_namespace(OWNED, xc, deadline=Deadline.after(50, clock), sleep=clock.sleep)
    # THEN the label proves it is ours: existed, success
    assert (result.created, result.state) == (False, "existed")


@pytest.mark.parametrize("found", ["dep-2", None], ids=["other-deployment", "unlabelled"])
def test_create_namespace_owned_by_someone_else_is_refused_untouched(
    http: Any, xc: XCClient, clock: FakeClock, found: str | None
) -> None:
    # GIVEN a namespace of the same name made by another deployment, or by a person (no label)
    http.add("POST", NS, **_error(409, 6, "Object already exists"))
    http.add("GET", ONE, **_labelled(found))
    # WHEN this deployment asks for it
    with pytest.raises(OwnershipError) as info:
        create_namespace(OWNED, xc, deadline=Deadline.after(50, clock), sleep=clock.sleep)
    # THEN it is refused at once (not retryable), saying whose it is, and nothing else was called
    assert info.value.retryable is False
    assert "not created by deployment dep-1" in str(info.value)
    assert (f"tops-dep-id={found}" if found else "without a tops-dep-id label") in str(info.value)
    assert _calls(http) == [("POST", NS), ("GET", ONE)]
    assert clock.slept == []
