"""ns_remove.core: cascade delete, already gone, per-object errors, a concurrent delete."""

from __future__ import annotations

from typing import Any

import pytest

from ns_remove.core import remove_namespace
from ns_remove.errors import CascadeDeleteError
from ns_remove.models import RemovalRequest
from shared.deadline import Deadline
from shared.xc.client import XCClient
from shared.xc.errors import XCAuthError, XCError, XCServerError, XCTimeoutError
from tests.fixtures.clock import FakeClock
from tests.fixtures.tenant import TENANT_URL

ONE = f"{TENANT_URL}/api/web/namespaces/ample-gull"
CASCADE = f"{ONE}/cascade_delete"
REQUEST = RemovalRequest("/tenantOps-test/sec-lab", "ample-gull")


def _item(name: str, kind: str, uid: str, error: str = "") -> dict[str, str]:
    return {"object_name": name, "object_type": kind, "object_uid": uid, "error_message": error}


# What a cascade delete of the lab namespace reaches: a pool, a load balancer and the namespace itself.
POOL = _item("p", "origin_pool", "u1")
LB = _item("lb", "http_loadbalancer", "u2")
NAMESPACE = _item("ample-gull", "namespace", "u3")


def _run(xc: XCClient, clock: FakeClock, budget: float = 50.0) -> Any:
    return remove_namespace(REQUEST, xc, deadline=Deadline.after(budget, clock), sleep=clock.sleep)


def test_remove_namespace_existing_reports_deleted_objects(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a namespace holding a pool and a load balancer
    http.add("POST", CASCADE, json={"items": [POOL, LB, NAMESPACE]})
    # WHEN it is removed
    result = _run(xc, clock)
    # THEN every deleted object is reported, from one call with the name in the path
    assert result.removed is True
    assert [(o.name, o.type) for o in result.deleted] == [
        ("p", "origin_pool"),
        ("lb", "http_loadbalancer"),
        ("ample-gull", "namespace"),
    ]
    assert len(http.calls) == 1


def test_remove_namespace_missing_is_success_not_removed(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a namespace that does not exist
    http.add("POST", CASCADE, status=404, json={"code": 5, "message": "namespace not found"})
    # WHEN it is removed
    result = _run(xc, clock)
    # THEN that is success, with nothing deleted
    assert result.removed is False
    assert result.to_body()["state"] == "absent"
    assert result.deleted == ()


def test_remove_namespace_item_error_is_a_failure(http: Any, xc: XCClient, clock: FakeClock) -> None:
    # GIVEN a cascade delete that could not delete one object
    failed_lb = {**LB, "error_message": "object is referred by shared/other"}
    http.add("POST", CASCADE, json={"items": [POOL, failed_lb]})
    # WHEN the namespace is removed
    with pytest.raises(CascadeDeleteError) as info:
        _run(xc, clock)
    # THEN it is not reported as success; the error names the object and keeps both halves
    assert info.value.retryable is True
    assert "lb" in str(info.value)
    assert "referred" in str(info.value)
    assert [o.name for o in info.value.deleted] == ["p"]
    assert [o.name for o, _ in info.value.failed] == ["lb"]


def test_remove_namespace_empty_answer_is_removed_with_nothing_listed(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN an answer with no items (protobuf JSON may omit an empty array)
    http.add("POST", CASCADE, json={})
    # WHEN the namespace is removed
    # THEN it counts as removed
    assert _run(xc, clock).removed is True


@pytest.mark.parametrize("body", [[1, 2], {"items": "x"}, {"items": ["x"]}])
def test_remove_namespace_malformed_answer_raises(
    http: Any, xc: XCClient, clock: FakeClock, body: Any
) -> None:
    http.add("POST", CASCADE, json=body)
    with pytest.raises(XCError):
        _run(xc, clock)


def test_remove_namespace_concurrent_delete_waits_until_gone(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN another cascade delete of the same namespace in progress
    http.add("POST", CASCADE, status=409, json={"code": 10, "message": "namespace is being deleted"})
    http.add("GET", ONE, json={"metadata": {"name": "ample-gull"}})
    http.add("GET", ONE, status=404, json={"code": 5, "message": "not found"})
    # WHEN it is removed
    result = _run(xc, clock)
    # THEN the worker waits for it to go and reports it absent (this call deleted nothing)
    assert result.removed is False
    assert len(clock.slept) == 1


def test_remove_namespace_concurrent_delete_outlasting_deadline_times_out(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    http.add("POST", CASCADE, status=409, json={"code": 10, "message": "namespace is being deleted"})
    http.add("GET", ONE, json={"metadata": {"name": "ample-gull"}})
    with pytest.raises(XCTimeoutError) as info:
        _run(xc, clock, budget=3.0)
    assert "ample-gull" in str(info.value)


def test_remove_namespace_server_errors_are_retried_by_the_client(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN two 503s before the answer (cascade_delete is marked safe to repeat)
    http.add("POST", CASCADE, status=503, json={"code": 14, "message": "unavailable"})
    http.add("POST", CASCADE, status=503, json={"code": 14, "message": "unavailable"})
    http.add("POST", CASCADE, json={"items": [NAMESPACE]})
    # WHEN it is removed
    result = _run(xc, clock)
    # THEN the burst is absorbed
    assert result.removed is True
    assert len(http.calls) == 3


def test_remove_namespace_persistent_server_error_raises(http: Any, xc: XCClient, clock: FakeClock) -> None:
    http.add("POST", CASCADE, status=500, json={"code": 13, "message": "internal"})
    with pytest.raises(XCServerError):
        _run(xc, clock)


def test_remove_namespace_auth_error_propagates(http: Any, xc: XCClient, clock: FakeClock) -> None:
    http.add("POST", CASCADE, status=401, json={"code": 16, "message": "invalid API token"})
    with pytest.raises(XCAuthError):
        _run(xc, clock)


OWNED = RemovalRequest("/tenantOps-test/sec-lab", "ample-gull", owner="dep-1")


def _labelled(owner: str | None) -> dict[str, Any]:
    labels = {"tops-dep-id": owner} if owner else {}
    return {"json": {"metadata": {"name": "ample-gull", "labels": labels}, "spec": {}}}


def test_remove_namespace_owned_checks_the_label_then_deletes(
    http: Any, xc: XCClient, clock: FakeClock
) -> None:
    # GIVEN the namespace this deployment created
    http.add("GET", ONE, **_labelled("dep-1"))
    http.add("POST", CASCADE, json={"items": [NAMESPACE]})
    # WHEN its owner removes it
    result = remove_namespace(OWNED, xc, deadline=Deadline.after(50, clock), sleep=clock.sleep)
    # THEN the label is read first, then the namespace goes
    assert [c.request.method for c in http.calls] == ["GET", "POST"]
    assert (result.state, result.to_body()["owner"]) == ("removed", "dep-1")


@pytest.mark.parametrize("found", ["dep-2", None], ids=["other-deployment", "unlabelled"])
def test_remove_namespace_not_owned_is_kept(
    http: Any, xc: XCClient, clock: FakeClock, found: str | None
) -> None:
    # GIVEN a namespace of the same name that another deployment or a person made
    http.add("GET", ONE, **_labelled(found))
    # WHEN this deployment's teardown asks to remove it
    result = remove_namespace(OWNED, xc, deadline=Deadline.after(50, clock), sleep=clock.sleep)
    # THEN nothing is deleted, and the body says why
    assert [c.request.method for c in http.calls] == ["GET"]
    body = result.to_body()
    assert (body["state"], body["removed"]) == ("kept", False)
    assert "not created by this deployment" in body["reason"]


def test_remove_namespace_owned_but_already_gone_is_absent(http: Any, xc: XCClient, clock: FakeClock) -> None:
    http.add("GET", ONE, status=404, json={"code": 5, "message": "not found"})
    result = remove_namespace(OWNED, xc, deadline=Deadline.after(50, clock), sleep=clock.sleep)
    assert result.state == "absent"
    assert len(http.calls) == 1
