"""The engine: rendering and dependencies, comparison, create/wait/unchanged/replace, remove."""

from __future__ import annotations

import copy

import pytest

from devstack.pki import certificate_body, self_signed
from devstack.xc import InProcessXC
from shared.deadline import Deadline
from shared.errors import InputError
from shared.xc.client import XCClient, XCRequester
from shared.xc.errors import XCConflictError, XCServerError, XCTimeoutError
from shared.xc.retry import RetryPolicy
from tests.fixtures.clock import FakeClock
from tests.fixtures.xc import RecordingXC, namespace_body
from udf_helpers.config import HelperConfig
from udf_helpers.engine import (
    Engine,
    EnvName,
    LabContext,
    LabDefinition,
    LabObject,
    differences,
    drift,
    ref,
    render,
    run_lab,
)
from udf_helpers.labs import apilab, caaslab
from udf_helpers.models import LabRequest

NS = "ample-gull"
PROD = HelperConfig(env="prod")


def _two_objects(lab: LabContext) -> list[LabObject]:
    pool = lab.name("origin")
    return [
        LabObject(
            "origin_pools",
            pool,
            {"origin_servers": [{"public_name": {"dns_name": "x.example"}}], "port": 80, "healthcheck": []},
        ),
        LabObject(
            "http_loadbalancers",
            lab.name("lb"),
            {
                "domains": [lab.host()],
                "default_route_pools": [{"pool": lab.local_ref("origin_pool", pool), "weight": 1}],
                "certs": [lab.certificate_ref()],
            },
        ),
    ]


TWO = LabDefinition("twolab", EnvName("d.example", "d-dev.example"), EnvName.same("cert"), _two_objects)


def _plan(definition: LabDefinition = TWO, petname: str = NS, config: HelperConfig = PROD):
    return render(definition, definition.context(petname, config))


def _engine(xc: XCRequester, clock: FakeClock, budget: float = 30.0) -> Engine:
    return Engine(xc, NS, Deadline.after(budget, clock), sleep=clock.sleep)


@pytest.fixture
def tenant(xc_emulator: InProcessXC) -> InProcessXC:
    """The XC emulator, in process on the fake `clock`, with the lab's namespace (empty)."""
    xc_emulator.state.create_namespace(namespace_body(NS))
    return xc_emulator


@pytest.fixture
def xc(tenant: InProcessXC, xc_client: XCClient) -> RecordingXC:
    """The real client for `tenant`, recording how the engine calls it."""
    return RecordingXC(xc_client)


def _ops(tenant: InProcessXC) -> list[tuple[str, str]]:
    """(method, last path segment) of every call the tenant received, for order assertions."""
    return [(r.method, r.path.rsplit("/", 1)[-1]) for r in tenant.requests()]


def _hide_new_pools(tenant: InProcessXC, seconds: float) -> None:
    """New origin pools answer 404 for `seconds`; the engine polls at 1 s, then 1.6 s, then 2 s."""
    tenant.state.configure(object_visibility_delay_ms_by_plural={"origin_pools": int(seconds * 1000)})


# --------------------------------------------------------------------------- render


def test_render_binds_metadata_and_finds_local_dependencies():
    # GIVEN a lab whose load balancer refers to its pool and to a shared certificate
    # WHEN it is rendered
    plan = _plan()
    # THEN every body has the namespace bound, and only the pool is a dependency
    assert [p.label for p in plan] == ["origin_pools/ample-gull-origin", "http_loadbalancers/ample-gull-lb"]
    assert plan[0].body["metadata"] == {"name": "ample-gull-origin", "namespace": NS, "disable": False}
    assert plan[0].depends_on == ()
    assert plan[1].depends_on == (0,)


def test_render_copies_specs_so_bodies_are_independent():
    shared_site = ref("shared", "vs", "virtual_site")

    def objects(lab: LabContext) -> list[LabObject]:
        return [
            LabObject("origin_pools", lab.name("a"), {"s": shared_site}),
            LabObject("origin_pools", lab.name("b"), {"s": shared_site}),
        ]

    plan = render(LabDefinition("x", TWO.domain, TWO.certificate, objects), TWO.context(NS, PROD))
    plan[0].body["spec"]["s"]["name"] = "changed"
    assert plan[1].body["spec"]["s"]["name"] == "vs"
    assert shared_site["name"] == "vs"


def test_render_forward_reference_is_a_definition_error():
    def objects(lab: LabContext) -> list[LabObject]:
        return [
            LabObject(
                "http_loadbalancers",
                lab.name("lb"),
                {"pool": lab.local_ref("origin_pool", lab.name("origin"))},
            ),
            LabObject("origin_pools", lab.name("origin"), {}),
        ]

    with pytest.raises(ValueError, match="created after it"):
        _plan(LabDefinition("bad", TWO.domain, TWO.certificate, objects))


def test_render_duplicate_object_is_a_definition_error():
    def objects(lab: LabContext) -> list[LabObject]:
        return [LabObject("origin_pools", lab.name("o"), {}), LabObject("origin_pools", lab.name("o"), {})]

    with pytest.raises(ValueError, match="defined twice"):
        _plan(LabDefinition("bad", TWO.domain, TWO.certificate, objects))


def test_render_petname_too_long_for_object_names_names_petname():
    # GIVEN a valid 60-character petname: "<petname>-mosquitto" exceeds 63 characters
    petname = "a" * 60
    with pytest.raises(InputError) as info:
        _plan(caaslab.DEFINITION, petname)
    assert info.value.field == "petname"


def test_context_overrides_and_env_names():
    assert TWO.context(NS, HelperConfig(env="dev")).domain == "d-dev.example"
    lab = TWO.context(NS, HelperConfig(env="dev", domain="o.example", cert_name="c2"))
    assert (lab.domain, lab.cert_name, lab.host("x")) == ("o.example", "c2", f"{NS}.x.o.example")


# --------------------------------------------------------------------------- comparison


@pytest.mark.parametrize(
    ("sent", "found", "expected"),
    [
        ({"a": 1}, {"a": 1, "extra": 2}, []),  # server-added fields are ignored
        ({"a": {"b": [1, {"c": "x"}]}}, {"a": {"b": [1, {"c": "x", "d": 0}]}}, []),
        ({"a": 1}, {"a": 2}, ["a"]),
        ({"a": [1, 2]}, {"a": [1]}, ["a"]),
        ({"no_tls": {}}, {}, ["no_tls"]),  # a one-of choice must be present
        ({"no_tls": {}}, {"use_tls": {}}, ["no_tls"]),
        ({"labels": {}, "healthcheck": [], "disable": False, "port": 0}, {}, []),  # defaults may be omitted
        ({"flag": False}, {"flag": 0}, ["flag"]),
        ({"port": 80}, {"port": "80"}, []),  # protobuf int64 as a string
        (
            {"ref": {"namespace": "n", "name": "p"}},
            {"ref": {"namespace": "n", "name": "p", "tenant": "t"}},
            [],
        ),
        ({"a": {"b": 1}}, {"a": None}, ["a"]),
    ],
)
def test_drift(sent, found, expected):
    assert drift(sent, found) == expected


def test_differences_ignores_name_and_namespace_and_server_metadata():
    body = {"metadata": {"name": "n", "namespace": "ns", "disable": False}, "spec": {"port": 80}}
    found = {
        "metadata": {"name": "n", "namespace": "ns", "uid": "u", "labels": {}},
        "spec": {"port": 80},
        "system_metadata": {"tenant": "t"},
    }
    assert differences(body, found) == []
    found["metadata"]["disable"] = True
    found["spec"]["port"] = 443
    assert differences(body, found) == ["metadata.disable", "spec.port"]


# --------------------------------------------------------------------------- apply


def test_apply_creates_in_order_and_waits_for_the_pool_before_the_lb(tenant, xc, clock):
    # GIVEN an empty namespace whose new pool stays invisible for three GETs (4 s), a tenant that refuses
    # a reference to an object it does not show yet, and the shared certificate the LB names
    _hide_new_pools(tenant, 4.0)
    tenant.state.configure(validate_refs=True)
    tenant.state.create_object("shared", "certificates", certificate_body("cert", *self_signed().pem_pair))
    start = clock()
    # WHEN the lab is applied
    results = _engine(xc, clock).apply(_plan())
    # THEN the LB is created only after a GET saw the pool, with sleeps in between
    assert [(r.plural, r.result) for r in results] == [
        ("origin_pools", "created"),
        ("http_loadbalancers", "created"),
    ]
    assert _ops(tenant) == [
        ("GET", "ample-gull-origin"),
        ("POST", "origin_pools"),
        ("GET", "ample-gull-origin"),
        ("GET", "ample-gull-origin"),
        ("GET", "ample-gull-origin"),
        ("GET", "ample-gull-origin"),
        ("GET", "ample-gull-lb"),
        ("POST", "http_loadbalancers"),
    ]
    assert [r.status for r in tenant.requests()] == [404, 200, 404, 404, 404, 200, 404, 200]
    assert len(clock.slept) == 3
    # AND creates may be retried by the client (a duplicate is recognised), with the deadline passed
    posts = [c for c in xc.calls if c.method == "POST"]
    assert len(posts) == 2
    assert all(c.idempotent is True and c.deadline and c.deadline.at == start + 30.0 for c in posts)


def test_apply_twice_reports_unchanged_without_writes(tenant, xc, clock):
    _engine(xc, clock).apply(_plan())
    xc.calls.clear()
    tenant.faults.clear_requests()
    results = _engine(xc, clock).apply(_plan())
    assert [r.result for r in results] == ["unchanged", "unchanged"]
    assert {c.method for c in xc.calls} == {"GET"}
    assert {r.method for r in tenant.requests()} == {"GET"}


def test_apply_replaces_a_drifted_object_with_the_full_body(tenant, xc, clock):
    # GIVEN the lab exists, then someone changed the pool's port
    plan = _plan()
    _engine(xc, clock).apply(plan)
    drifted = copy.deepcopy(plan[0].body)
    drifted["spec"]["port"] = 8080
    tenant.state.replace_object(NS, "origin_pools", "ample-gull-origin", drifted)
    # WHEN applied again
    results = _engine(xc, clock).apply(plan)
    # THEN the pool is replaced with exactly the rendered body; the LB is unchanged
    assert [r.result for r in results] == ["replaced", "unchanged"]
    put = next(c for c in xc.calls if c.method == "PUT")
    assert put.path.endswith("/ample-gull/origin_pools/ample-gull-origin")
    assert put.json == plan[0].body
    assert [r.body for r in tenant.requests() if r.method == "PUT"] == [plan[0].body]
    assert tenant.state.get_object(NS, "origin_pools", "ample-gull-origin")["spec"]["port"] == 80


def test_apply_already_exists_but_invisible_waits_then_compares(tenant, xc, clock):
    # GIVEN a previous attempt created the pool, which GET does not show for two more reads (0.5 s)
    _hide_new_pools(tenant, 0.5)
    plan = _plan()
    tenant.state.create_object(NS, "origin_pools", plan[0].body)
    # WHEN applied
    results = _engine(xc, clock).apply(plan)
    # THEN the 409 is read as "exists": the engine waits, finds it identical, and goes on
    assert [r.result for r in results] == ["unchanged", "created"]
    assert _ops(tenant)[:5] == [
        ("GET", "ample-gull-origin"),
        ("POST", "origin_pools"),
        ("GET", "ample-gull-origin"),
        ("GET", "ample-gull-origin"),
        ("GET", "ample-gull-lb"),
    ]
    assert [r.status for r in tenant.requests()][:4] == [404, 409, 404, 200]


def test_apply_conflict_other_than_already_exists_is_raised(tenant, xc, clock):
    tenant.faults.add("POST", r"/origin_pools$", 409, body={"code": 10, "details": [], "message": "injected"})
    with pytest.raises(XCConflictError) as info:
        _engine(xc, clock).apply(_plan())
    assert info.value.code == 10
    assert [r.method for r in tenant.requests()] == ["GET", "POST"]


def test_apply_never_visible_times_out_at_the_deadline(tenant, xc, clock):
    # GIVEN a pool that never becomes visible and a 10 s budget
    _hide_new_pools(tenant, 3600.0)
    start = clock()
    # WHEN applied
    with pytest.raises(XCTimeoutError) as info:
        _engine(xc, clock, budget=10.0).apply(_plan())
    # THEN it is a retryable timeout naming the pool, raised at the deadline, never after it
    assert info.value.retryable and "ample-gull-origin" in info.value.pending
    assert clock() == pytest.approx(start + 10.0)
    assert not any(c.method == "POST" and c.path.endswith("http_loadbalancers") for c in xc.calls)
    assert tenant.state.object_names(NS, "http_loadbalancers") == []


def test_apply_retryable_error_propagates(tenant, xc, clock):
    # GIVEN the LB create keeps answering 503 (the client retries a create the engine marks safe)
    attempts = RetryPolicy().max_attempts
    tenant.faults.add("POST", r"/http_loadbalancers$", 503, count=attempts)
    with pytest.raises(XCServerError):
        _engine(xc, clock).apply(_plan())
    assert [r.path for r in tenant.requests() if r.method == "POST"][1:] == (
        [f"/api/config/namespaces/{NS}/http_loadbalancers"] * attempts
    )


# --------------------------------------------------------------------------- remove


def test_remove_deletes_in_reverse_order_and_missing_is_absent(tenant, xc, clock):
    plan = _plan()
    _engine(xc, clock).apply(plan)
    xc.calls.clear()
    results = _engine(xc, clock).remove(plan)
    assert [(r.plural, r.result) for r in results] == [
        ("http_loadbalancers", "removed"),
        ("origin_pools", "removed"),
    ]
    assert [c.method for c in xc.calls] == ["DELETE", "DELETE"]
    assert tenant.state.object_names(NS, "origin_pools") == []
    assert tenant.state.object_names(NS, "http_loadbalancers") == []
    again = _engine(xc, clock).remove(plan)
    assert [r.result for r in again] == ["absent", "absent"]


def test_remove_retryable_error_propagates(tenant, xc, clock):
    tenant.faults.add("DELETE", r"/ample-gull-lb$", 503, count=RetryPolicy().max_attempts)
    with pytest.raises(XCServerError):
        _engine(xc, clock).remove(_plan())
    assert {r.status for r in tenant.requests()} == {503}


# --------------------------------------------------------------------------- run_lab


def test_run_lab_body_shape_and_remove_action(tenant, xc, clock):
    request = LabRequest(ssm_base_path="/tenantOps/sec-lab", petname=NS)
    body = run_lab(
        apilab.DEFINITION, request, PROD, xc, deadline=Deadline.after(30, clock), sleep=clock.sleep
    )
    assert body == {
        "lab": "apilab",
        "action": "create",
        "objects": [
            {"type": "origin_pools", "name": f"{NS}-origin", "result": "created"},
            {"type": "http_loadbalancers", "name": f"{NS}-lb", "result": "created"},
        ],
    }
    removal = LabRequest(ssm_base_path="/tenantOps/sec-lab", petname=NS, action="remove")
    body = run_lab(
        apilab.DEFINITION, removal, PROD, xc, deadline=Deadline.after(30, clock), sleep=clock.sleep
    )
    assert body["action"] == "remove"
    assert [o["result"] for o in body["objects"]] == ["removed", "removed"]
