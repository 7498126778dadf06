"""Lab isolation on the local stack: a lab never uses, changes or deletes what it cannot prove it made.

Each test reproduces one way an unlucky or hostile deployment could reach something that is not its
own, through the real handlers, the XC emulator and moto, and checks the safe end state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import urllib3

from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.pipeline import Deployment, Pipeline
from tests.fixtures.xc import XC_TOKEN

pytestmark = pytest.mark.integration

JANE = "jane@example.com"
BOB = "bob@example.com"
DEP_A = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"
DEP_B = "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
FIRST = Deployment(DEP_A, "e37500bc", JANE, "ample-gull")  # example lab: namespace, user, pool and LB
SAME_PETNAME = Deployment(DEP_B, "e37500bc", BOB, "ample-gull")
BASE_LAB = Deployment(DEP_A, "fd6bfa98", JANE, "ample-gull")  # namespace and user only


def _objects(pipeline: Pipeline) -> dict[str, list[str]]:
    return pipeline.objects("ample-gull")


# ---------------------------------------------------------------- 1. namespace adoption


def test_second_deployment_with_same_petname_cannot_take_over_the_first_lab(pipeline: Pipeline) -> None:
    # GIVEN Jane's lab provisioned in namespace ample-gull
    pipeline.heartbeat(FIRST)
    assert pipeline.deliver().errors == []
    jane_roles = pipeline.roles(JANE)
    first_objects = _objects(pipeline)
    assert first_objects["origin_pools"] and ("ample-gull", "ves-io-admin-role") in jane_roles

    # WHEN Bob's deployment arrives with the same petname
    pipeline.heartbeat(SAME_PETNAME)
    pipeline.deliver()

    # THEN it fails at the namespace, saying whose it is; Bob got no account and no role anywhere
    item = pipeline.item(SAME_PETNAME)
    assert item is not None
    assert (item["deployment_status"], item["failed_step"], item["create_namespace"]) == (
        "FAILED",
        "create_namespace",
        "FAILED",
    )
    assert f"tops-dep-id={DEP_A}" in item["failure_reason"]
    assert f"not created by deployment {DEP_B}" in item["failure_reason"]
    assert pipeline.user(BOB) is None

    # WHEN Bob's deployment ends first
    pipeline.end(SAME_PETNAME)

    # THEN Jane's lab is untouched: namespace, objects, account and roles
    assert pipeline.namespaces() == {"ample-gull"}
    assert _objects(pipeline) == first_objects
    assert pipeline.roles(JANE) == jane_roles
    first = pipeline.item(FIRST)
    assert first is not None and first["deployment_status"] == "COMPLETED"

    # WHEN Jane's lab ends, it is cleaned up as usual
    pipeline.end(FIRST)
    assert pipeline.namespaces() == set() and pipeline.user(JANE) is None


def test_namespace_a_person_made_is_never_adopted_granted_or_deleted(pipeline: Pipeline) -> None:
    # GIVEN a namespace someone made by hand, holding an object, whose name matches a petname
    pipeline.xc.state.create_namespace({"metadata": {"name": "ample-gull", "description": "prod"}})
    pipeline.xc.state.create_object(
        "ample-gull",
        "origin_pools",
        {
            "metadata": {"name": "keep-me"},
            "spec": {"origin_servers": [{"public_name": {"dns_name": "example.com"}}], "port": 443},
        },
    )

    # WHEN a lab with that petname is provisioned, and later ends
    pipeline.heartbeat(BASE_LAB)
    pipeline.deliver()
    item = pipeline.item(BASE_LAB)
    assert item is not None and item["failed_step"] == "create_namespace"
    assert "without a tops-dep-id label" in item["failure_reason"]
    assert pipeline.user(JANE) is None
    pipeline.end(BASE_LAB)

    # THEN the person's namespace and object are still there, and nobody was granted anything on it
    assert pipeline.namespaces() == {"ample-gull"}
    assert _objects(pipeline) == {"origin_pools": ["keep-me"]}


# ---------------------------------------------------------------- 2. built-in names


@pytest.mark.parametrize("petname", ["system", "shared", "default", "ves-io-shared"])
def test_heartbeat_naming_a_builtin_namespace_is_refused_at_the_door(
    pipeline: Pipeline,
    petname: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a heartbeat whose petname names one of the tenant's own namespaces
    pipeline.heartbeat(Deployment(DEP_A, "fd6bfa98", JANE, petname))

    # WHEN it is delivered
    pipeline.deliver()

    # THEN the rejection is logged naming the field; no state item is written, nothing is invoked,
    # and no account gets any role
    rejected = [r for r in caplog.records if r.getMessage() == "heartbeat rejected"]
    assert [(getattr(r, "field", None), "reserved" in getattr(r, "reason", "")) for r in rejected] == [
        ("petname", True)
    ]
    assert pipeline.item(BASE_LAB) is None
    assert pipeline.invoked() == []
    assert pipeline.user(JANE) is None


def test_state_item_naming_a_builtin_namespace_fails_validation_without_calls(pipeline: Pipeline) -> None:
    # GIVEN an item that bypassed dispatch's check (written by an older dispatch, or by hand)
    pipeline.put_item(Deployment(DEP_A, "fd6bfa98", JANE, "system"), deployment_status="STARTING")

    # WHEN its INSERT is delivered, and the lab later ends
    pipeline.deliver()
    item = pipeline.item(BASE_LAB)
    assert item is not None
    assert (item["deployment_status"], item["failed_step"]) == ("FAILED", "validate")
    assert "reserved" in item["failure_reason"]
    pipeline.end(BASE_LAB)

    # THEN no callee ran: no role on `system`, and `system` was never asked to be deleted
    assert pipeline.invoked() == []
    assert pipeline.user(JANE) is None


# ---------------------------------------------------------------- 3. a replay must not leak our own account


def _answer_lost_once(
    pipeline: Pipeline, route: str, module: str, when: Callable[[dict[str, Any]], bool]
) -> None:
    """Route `route` to its real handler, which does its work; then, the first time `when(event)`
    holds, the answer is lost (the worker sees a failed invoke, as after its own timeout)."""
    import importlib

    handler = importlib.import_module(module).lambda_handler
    state = {"lost": False}

    def wrapped(event: dict[str, Any], context: Any) -> Any:
        result = handler(event, context)
        if when(event) and not state["lost"]:
            state["lost"] = True
            raise TimeoutError("the caller stopped waiting")
        return result

    pipeline.invoke.registry.set(route, wrapped)


def test_replay_after_a_lost_user_create_answer_still_deletes_the_pipeline_account(
    pipeline: Pipeline,
) -> None:
    # GIVEN user_create creates Jane's account, but its answer never reaches the worker
    _answer_lost_once(pipeline, "tops-user-create", "user_create.function", lambda e: not e.get("lookup"))
    pipeline.router.stream_max_retries = 1

    # WHEN the INSERT is delivered, fails, and is delivered again
    pipeline.heartbeat(BASE_LAB)
    pipeline.deliver()

    # THEN the replay completes, and the account is still recorded as the pipeline's own
    item = pipeline.item(BASE_LAB)
    assert item is not None and item["deployment_status"] == "COMPLETED"
    assert item["user_preexisting"] is False

    # WHEN the lab ends
    pipeline.end(BASE_LAB)

    # THEN the account the pipeline created is deleted, not leaked with the lab's groups
    assert pipeline.user(JANE) is None


# ---------------------------------------------------------------- 4. secrets in exception text


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def test_token_with_a_line_break_never_reaches_state_results_or_logs(
    pipeline: Pipeline,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a tenant token with a line break in SSM
    head, tail = "tokhead-7f3a9b1c2d4e", "toktail-5a6b7c8d9e0f"
    seed_tenant(pipeline.moto.client("ssm"), pipeline.xc.url, f"{head}\n{tail}", idm_type="SSO")

    # WHEN a lab is provisioned
    pipeline.heartbeat(BASE_LAB)
    pipeline.deliver()

    # THEN it fails with a configuration error that names the parameter, not the token
    item = pipeline.item(BASE_LAB)
    assert item is not None and item["deployment_status"] == "FAILED"
    assert f"{TEST_BASE_PATH}/token-value holds whitespace" in item["failure_reason"]
    # AND neither half of the token is in the state item, any callee's answer, or any output
    results = [(i.result, i.error) for i in pipeline.invoke.invocations]
    out = capsys.readouterr()
    for where in (_dump(item), _dump(results), out.out, out.err):
        assert head not in where and tail not in where


def test_transport_error_echoing_the_auth_header_is_masked_everywhere(
    pipeline: Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN an HTTP library whose error message quotes the request's Authorization header
    # (http.client and requests do this for a header value they refuse)
    def refuse(self: urllib3.PoolManager, method: str, url: str, **kwargs: Any) -> Any:
        raise urllib3.exceptions.InvalidHeader(
            f"Invalid return character or leading space in header: "
            f"{('Authorization', kwargs['headers']['Authorization'])!r}"
        )

    monkeypatch.setattr(urllib3.PoolManager, "request", refuse)

    # WHEN a lab is provisioned
    pipeline.heartbeat(BASE_LAB)
    pipeline.deliver()

    # THEN the failure is recorded, and the token is nowhere: state, answers, logs
    item = pipeline.item(BASE_LAB)
    assert item is not None and item["deployment_status"] == "FAILED"
    assert "InvalidHeader" in item["failure_reason"]
    token = XC_TOKEN
    results = [(i.result, i.error) for i in pipeline.invoke.invocations]
    out = capsys.readouterr()
    for where in (_dump(item), _dump(results), out.out, out.err):
        assert token not in where


# ---------------------------------------------------------------- 5. lost answers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", r"/user_roles$"),
        ("POST", r"^/api/web/namespaces$"),
    ],
    ids=["user-create", "namespace-create"],
)
def test_create_whose_answer_is_lost_is_still_the_pipeline_own(
    pipeline: Pipeline,
    method: str,
    path: str,
) -> None:
    # GIVEN the tenant commits the create, then the answer is lost (502)
    pipeline.xc.faults.add(method, path, 502, after=True)

    # WHEN a lab is provisioned and ends
    pipeline.heartbeat(BASE_LAB)
    assert pipeline.deliver().errors == []
    item = pipeline.item(BASE_LAB)
    assert item is not None and item["deployment_status"] == "COMPLETED"
    assert item["user_preexisting"] is False
    pipeline.end(BASE_LAB)

    # THEN nothing the pipeline made is left behind
    assert pipeline.user(JANE) is None
    assert pipeline.namespaces() == set()


def test_merge_of_a_preexisting_account_with_lost_answers_is_revoked_at_teardown(pipeline: Pipeline) -> None:
    # GIVEN Jane's own account, and every answer to the merge PUT lost after it took effect
    pipeline.add_account(
        JANE, [("system", "ves-io-monitor-role")], ["staff"], first_name="Jane", last_name="Doe"
    )
    pipeline.xc.faults.add("PUT", r"/user_roles$", 502, count=5, after=True)

    # WHEN the lab is provisioned: the merge took effect, but user_create never heard so and failed;
    # the worker's retry then finds nothing left to add
    pipeline.heartbeat(BASE_LAB)
    pipeline.deliver()
    assert pipeline.xc.faults.pending() == []
    item = pipeline.item(BASE_LAB)
    assert item is not None and item["deployment_status"] == "COMPLETED"
    # THEN what it set out to add was recorded before the call, not taken from the (lost) answer
    assert item["user_preexisting"] is True
    assert item["user_added_roles"] == {"ample-gull/ves-io-admin-role", "system/xc-lab-mcn-ce"}
    assert item["user_added_groups"] == {"xc-lab-users"}

    # WHEN the lab ends
    pipeline.end(BASE_LAB)

    # THEN the account keeps exactly its own roles and groups
    assert pipeline.user(JANE) is not None
    assert pipeline.roles(JANE) == {("system", "ves-io-monitor-role")}
    assert pipeline.groups(JANE) == {"staff"}


def test_fault_sweep_leaks_no_user_namespace_or_role(pipeline: Pipeline) -> None:
    # GIVEN labs provisioned while answers are lost after the tenant committed, at every write the
    # pipeline makes, for new and pre-existing accounts alike
    pipeline.router.stream_max_retries = 2
    faults = [
        ("POST", r"/user_roles$"),
        ("PUT", r"/user_roles$"),
        ("POST", r"^/api/web/namespaces$"),
        ("POST", r"/origin_pools$"),
        ("POST", r"/http_loadbalancers$"),
    ]
    pipeline.add_account(BOB, [("system", "own")], first_name="Bob", last_name="B")
    labs: list[Deployment] = []
    for index, (method, path) in enumerate(faults):
        for email in (f"learner{index}@example.com", BOB):
            deployment = Deployment(f"{index:08x}-{len(labs):04d}", "e37500bc", email, f"pet-{len(labs)}")
            pipeline.xc.faults.add(method, path, 502, after=True)
            pipeline.heartbeat(deployment)
            pipeline.deliver()
            labs.append(deployment)

    assert pipeline.xc.faults.pending() == []  # every lost answer happened
    assert {pipeline.item(d)["deployment_status"] for d in labs} == {"COMPLETED"}  # type: ignore[index]

    # WHEN every lab ends
    pipeline.end(*labs)

    # THEN only Bob's own account is left, with exactly his own role, and no lab namespace
    assert pipeline.namespaces() == set()
    assert [u["email"] for u in pipeline.xc.state.dump()["users"]] == [BOB]
    assert pipeline.roles(BOB) == {("system", "own")}


# ---------------------------------------------------------------- 7. the previous worker's items


def test_item_of_the_previous_worker_never_deletes_an_account(pipeline: Pipeline) -> None:
    # GIVEN a lab provisioned by the previous worker (no ssm_base_path, no user_* attributes): the
    # account has the lab's role and group, and the learner's own role
    pipeline.add_account(
        JANE,
        [("system", "xc-lab-mcn-ce"), ("system", "ves-io-monitor-role")],
        ["xc-lab-users"],
        first_name="Lab User",
        last_name="3f2a9c1e",
    )
    pipeline.put_item(
        BASE_LAB,
        deployment_status="COMPLETED",
        tenant_url=pipeline.xc.url,
        create_namespace="NA",
        create_user="SUCCESS",
        pre_lambda="NA",
    )
    pipeline.deliver()  # its INSERT finds it COMPLETED: nothing to provision

    # WHEN it ends under this worker
    pipeline.end(BASE_LAB)

    # THEN the lab's role and group are revoked, the account and its own role stay
    assert pipeline.user(JANE) is not None
    assert pipeline.roles(JANE) == {("system", "ves-io-monitor-role")}
    assert pipeline.groups(JANE) == set()
