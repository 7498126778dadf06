"""Every lab helper end to end over real sockets: the XC emulator, and moto server for SSM."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.pki import certificate_body, self_signed
from devstack.xc import XCServer
from shared.xc.errors import XCTimeoutError
from tests.fixtures.lambda_context import TEST_BASE_PATH, StubContext, seed_tenant
from tests.fixtures.xc import XC_TOKEN, watched
from udf_helpers.config import HelperConfig
from udf_helpers.engine import differences, render
from udf_helpers.labs import apilab, botlab, caaslab, example, waaplab

pytestmark = pytest.mark.integration

PET = "ample-gull"
LABS = {"example": example, "apilab": apilab, "botlab": botlab, "caaslab": caaslab, "waaplab": waaplab}
CANARY = "canary-token-udf-helpers-integration-5a4b3c"


def _tenant(server: XCServer, moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> XCServer:
    monkeypatch.setenv("ENV", "prod")
    seed_tenant(moto_server.client("ssm"), server.url, XC_TOKEN)
    server.state.create_namespace({"metadata": {"name": PET}, "spec": {}})
    return server


@pytest.fixture
def tenant(xc_server: XCServer, moto_server, monkeypatch) -> XCServer:
    """The emulator with the petname namespace, SSM pointing at it, and ENV=prod."""
    return _tenant(xc_server, moto_server, monkeypatch)


@pytest.fixture
def clocked_tenant(xc_clocked_server: XCServer, moto_server, monkeypatch) -> XCServer:
    """The same on the fake `clock`: its delays pass only when the test moves that clock."""
    return _tenant(xc_clocked_server, moto_server, monkeypatch)


def _invoke(module: Any, action: str | None = None, *, timeout_s: float = 60.0) -> dict[str, Any]:
    event: dict[str, Any] = {"ssm_base_path": TEST_BASE_PATH, "petname": PET, "email": "jane@example.com"}
    if action is not None:
        event["action"] = action
    result: dict[str, Any] = module.lambda_handler(event, StubContext(timeout_s=timeout_s))
    return result


def _results(result: dict[str, Any]) -> list[str]:
    assert result["statusCode"] == 200, result
    return [o["result"] for o in result["body"]["objects"]]


def _plan(module: Any) -> list[Any]:
    return render(module.DEFINITION, module.DEFINITION.context(PET, HelperConfig(env="prod")))


def _seed_shared(server: XCServer, *, certificate: str | None = None, virtual_site: bool = False) -> None:
    if certificate is not None:
        cert_pem, key_pem = self_signed("lab.example.com").pem_pair
        server.state.create_object("shared", "certificates", certificate_body(certificate, cert_pem, key_pem))
    if virtual_site:
        server.state.create_object(
            "shared", "virtual_sites", {"metadata": {"name": caaslab.VIRTUAL_SITE}, "spec": {}}
        )


@pytest.mark.parametrize("name", sorted(LABS))
def test_lab_creates_its_objects_then_reports_unchanged(tenant, name):
    module = LABS[name]
    # WHEN the helper runs for a fresh namespace
    first = _invoke(module)
    # THEN every object exists in the petname namespace exactly as rendered
    assert _results(first) == ["created", "created"]
    assert first["body"]["lab"] == name and first["body"]["action"] == "create"
    for planned in _plan(module):
        stored = tenant.state.get_object(PET, planned.plural, planned.name)
        assert differences(planned.body, stored) == []
    # AND the same payload again changes nothing
    requests_before = len(tenant.requests())
    assert _results(_invoke(module)) == ["unchanged", "unchanged"]
    assert {r.method for r in tenant.requests()[requests_before:]} == {"GET"}


def test_caaslab_with_reference_validation_needs_and_uses_the_shared_objects(tenant):
    # GIVEN the emulator rejects references to missing objects, and shared holds nothing yet
    tenant.state.configure(validate_refs=True)
    # WHEN caaslab runs: the pool's virtual-site reference is refused, a permanent error
    refused = _invoke(caaslab)
    assert refused["statusCode"] == 502 and refused["body"]["status"] == 400
    # WHEN the virtual site and the certificate exist
    _seed_shared(tenant, certificate="caas-lab-certificate", virtual_site=True)
    # THEN it succeeds
    assert _results(_invoke(caaslab)) == ["created", "created"]


def test_pool_invisible_after_create_is_waited_for(clocked_tenant, clock):
    # GIVEN pools stay invisible for 1.5 s of the tenant's time after create, a time that passes once the
    # helper's first read of its created pool has been answered 404; and references must resolve
    tenant = clocked_tenant
    _seed_shared(tenant, certificate="lab-sec-wildcard")
    tenant.state.configure(validate_refs=True, object_visibility_delay_ms_by_plural={"origin_pools": 1500})
    faults = watched(tenant)
    faults.on(
        "POST",
        r"/origin_pools$",
        200,
        lambda: faults.on("GET", f"/origin_pools/{PET}-origin$", 404, lambda: clock.advance(1.5)),
    )
    # WHEN apilab runs
    result = _invoke(apilab)
    # THEN it waited for the pool, then created the LB
    assert _results(result) == ["created", "created"]
    requests = tenant.requests()
    log = [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in requests]
    pool_post = log.index(("POST", "origin_pools", 200))
    lb_post = log.index(("POST", "http_loadbalancers", 200))
    between = log[pool_post + 1 : lb_post]
    assert ("GET", f"{PET}-origin", 404) in between
    assert ("GET", f"{PET}-origin", 200) in between
    assert requests[lb_post].timestamp - requests[pool_post].timestamp >= 1.5


def test_pool_not_visible_in_time_times_out_within_the_lambda_budget(clocked_tenant, clock):
    # GIVEN a pool that stays invisible until the tenant's clock moves, in a function with 4 s left (1 s
    # of budget after the 3 s margin)
    tenant = clocked_tenant
    tenant.state.configure(object_visibility_delay_ms_by_plural={"origin_pools": 2500})
    # WHEN the helper runs: a retryable timeout is raised, naming the pool
    with pytest.raises(XCTimeoutError) as info:
        _invoke(waaplab, timeout_s=4.0)
    assert info.value.retryable and f"{PET}-origin" in info.value.pending
    # AND the retry, while the pool is still invisible, finds it by its "already exists", waits for it
    # (it shows once that create has been refused) and converges without a duplicate
    watched(tenant).on("POST", r"/origin_pools$", 409, lambda: clock.advance(2.5))
    assert _results(_invoke(waaplab)) == ["unchanged", "created"]
    assert tenant.state.object_names(PET, "origin_pools") == [f"{PET}-origin"]
    assert ("POST", "origin_pools", 409) in [
        (r.method, r.path.rsplit("/", 1)[-1], r.status) for r in tenant.requests()
    ]


def test_drifted_object_is_replaced(tenant):
    # GIVEN the lab exists and someone changed the pool's port and the LB's domains
    _invoke(apilab)
    pool, lb = _plan(apilab)
    changed = tenant.state.get_object(PET, pool.plural, pool.name)
    changed["spec"]["port"] = 8080
    tenant.state.replace_object(
        PET, pool.plural, pool.name, {"metadata": changed["metadata"], "spec": changed["spec"]}
    )
    # WHEN the helper runs again
    result = _invoke(apilab)
    # THEN the pool is put back; the LB was untouched
    assert _results(result) == ["replaced", "unchanged"]
    assert tenant.state.get_object(PET, pool.plural, pool.name)["spec"]["port"] == 80
    assert _results(_invoke(apilab)) == ["unchanged", "unchanged"]


@pytest.mark.parametrize("name", sorted(LABS))
def test_remove_deletes_in_reverse_order_then_reports_absent(tenant, name):
    module = LABS[name]
    _invoke(module)
    plan = _plan(module)
    tenant.faults.clear_requests()
    # WHEN removed
    result = _invoke(module, "remove")
    # THEN the load balancer goes first, then the pool, and nothing of the lab is left
    assert _results(result) == ["removed", "removed"]
    assert result["body"]["action"] == "remove"
    deletes = [r.path.rsplit("/", 1)[-1] for r in tenant.requests() if r.method == "DELETE"]
    assert deletes == [plan[1].name, plan[0].name]
    for planned in plan:
        assert tenant.state.object_names(PET, planned.plural) == []
    # AND removing again is a no-op
    assert _results(_invoke(module, "remove")) == ["absent", "absent"]


def test_missing_namespace_is_a_failure_not_a_success(tenant):
    tenant.state.cascade_delete_namespace(PET)
    result = _invoke(botlab)
    assert result["statusCode"] != 200
    assert result["body"]["retryable"] is False


def test_burst_of_429_and_503_is_absorbed(tenant):
    # GIVEN throttling and unavailability on reads and on creates
    tenant.faults.add("GET", r"/origin_pools/", [429, 503, 503], retry_after=0)
    tenant.faults.add("POST", r"/origin_pools$", [503, 429], retry_after=0)
    tenant.faults.add("POST", r"/http_loadbalancers$", [429, 503], retry_after=0)
    # WHEN the helper runs
    result = _invoke(example)
    # THEN it succeeds without duplicates
    assert _results(result) == ["created", "created"]
    faults = [r for r in tenant.requests() if r.fault]
    assert len(faults) == 7
    assert all(not rule["remaining"] for rule in tenant.faults.pending())


def test_create_whose_answer_was_lost_is_recognised(tenant):
    # GIVEN the pool create is applied but the answer is a 503
    tenant.faults.add("POST", r"/origin_pools$", 503, after=True)
    # WHEN the helper runs: the client repeats the create, XC says "already exists"
    result = _invoke(botlab)
    # THEN the pool is read back and found identical; one pool exists
    assert _results(result) == ["unchanged", "created"]
    assert tenant.state.object_names(PET, "origin_pools") == [f"{PET}-origin"]


def test_token_never_reaches_the_logs(tenant, moto_server, worker_output):
    # GIVEN the tenant token is a canary, and every logger is at DEBUG
    tenant.state.add_token(CANARY)
    seed_tenant(moto_server.client("ssm"), tenant.url, CANARY)
    tenant.faults.add("GET", r"/origin_pools/", 503, retry_after=0)
    output = worker_output("udf_helpers")
    # WHEN the helper creates (with a retry), runs again, removes, and fails on a bad token
    results = [_invoke(apilab), _invoke(apilab), _invoke(apilab, "remove")]
    tenant.state.remove_token(CANARY)
    failed = _invoke(apilab)
    text = output()
    # THEN the logs have content but never the token
    assert "lab object created" in text and "xc call will be retried" in text and "failed" in text
    assert failed["statusCode"] != 200
    assert CANARY not in text
    assert all(CANARY not in repr(r) for r in [*results, failed])
