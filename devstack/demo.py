"""`python -m devstack demo`: the whole system on one machine, through the real handlers.

1. acme_client issues the wildcard certificate (real DNS-01 against Pebble); the router turns the
   objects it wrote into S3 notifications for cert_mgmt, which pushes it into the tenant (replacing
   the certificate the stack seeded there).
2. token_refresh renews the tenant's service credential.
3. Two learners start labs (SQS heartbeats, one duplicated): dispatch, stream, worker, namespace,
   user and the lab helper, whose load balancer refers to the certificate from step 1.
4. One lab stops sending heartbeats; the sweeper deletes its item; the REMOVE record tears it down.

Each stage prints one line with its time; a summary follows. The exit status is 1 if any stage
failed. The TTL is shortened through the workers' own setting (TTL_EXTENSION_SECONDS).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from devstack.router import scheduled_event
from devstack.stack import CERT_NAME, DOMAIN, STATE_TABLE, LocalStack, StackOptions
from devstack.trace import Console, invocation_line, quiet_logs

DEMO_TTL_SECONDS: Final = 5


@dataclass(frozen=True)
class Learner:
    lab_id: str
    lab: str
    email: str
    petname: str
    dep_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def heartbeat(self) -> str:
        return json.dumps(
            {"lab_id": self.lab_id, "dep_id": self.dep_id, "email": self.email, "petname": self.petname}
        )


LEARNERS: Final = (
    Learner("e37500bc", "Example lab", "jane@example.com", "ample-gull"),
    Learner("f85bfeb4", "Bot Lab", "raj@example.com", "brave-otter"),
)


class StageFailed(Exception):
    pass


@dataclass
class Stage:
    name: str
    seconds: float
    ok: bool
    detail: str


class Demo:
    def __init__(self, stack: LocalStack, out: TextIO) -> None:
        self.stack = stack
        self.out = out
        self.console = Console(out, indent="  ")
        self.stages: list[Stage] = []
        self._seen_invocations = 0
        router = stack.router
        assert router is not None
        router.wrap_handlers(self.traced)

    # ------------------------------------------------------------------ plumbing

    def say(self, text: str) -> None:
        self.console.say(text)

    def stage(self, name: str, run: Callable[[], str]) -> bool:
        began = time.monotonic()
        try:
            detail, ok = run(), True
        except Exception as exc:  # one failed stage is reported, and the demo goes on
            detail, ok = f"{type(exc).__name__}: {exc}", False
        self.stages.append(Stage(name, time.monotonic() - began, ok, detail))
        self.say(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        return ok

    def traced(self, name: str, handler: Any) -> Callable[[Any, Any], Any]:
        """Wrap an event-driven handler so that each delivery prints one line, callees first."""

        def with_callees(event: Any, context: Any) -> Any:
            try:
                return handler(event, context)
            finally:
                self.callees()

        return self.console.traced(name, with_callees)

    def callees(self) -> None:
        """Print the synchronous invokes made since the last call (udf_worker -> tenant workers)."""
        assert self.stack.invoke is not None
        invocations = self.stack.invoke.invocations
        for call in invocations[self._seen_invocations :]:
            self.say("  " + invocation_line(call))
        self._seen_invocations = len(invocations)

    def invoke(self, function: str, event: Any) -> Any:
        assert self.stack.invoke is not None
        began = time.monotonic()
        result, error = self.stack.invoke.run(function, event)
        self._seen_invocations = len(self.stack.invoke.invocations)
        outcome = error["errorType"] if error else (result or {}).get("statusCode", "?")
        self.say(f"  {function} {outcome} ({time.monotonic() - began:.2f}s)")
        if error is not None:
            raise StageFailed(f"{function} raised {error['errorType']}: {error['errorMessage']}")
        if isinstance(result, dict) and result.get("statusCode", 200) != 200:
            raise StageFailed(f"{function} answered {result.get('statusCode')}: {result.get('body')}")
        return result

    def item(self, learner: Learner) -> dict[str, Any] | None:
        from boto3.dynamodb.types import TypeDeserializer

        raw = (
            self.stack.client("dynamodb")
            .get_item(TableName=STATE_TABLE, Key={"dep_id": {"S": learner.dep_id}}, ConsistentRead=True)
            .get("Item")
        )
        decode = TypeDeserializer().deserialize
        return None if raw is None else {k: decode(v) for k, v in raw.items()}

    def heartbeat(self, *learners: Learner, twice: bool = False) -> None:
        sqs = self.stack.client("sqs")
        for learner in learners:
            for _ in range(2 if twice else 1):
                sqs.send_message(QueueUrl=self.stack.queue_url, MessageBody=learner.heartbeat())

    def deliver(self) -> None:
        assert self.stack.router is not None
        stats = self.stack.router.drain()
        if stats.errors or stats.dropped:
            first = stats.errors[0] if stats.errors else stats.dropped[0]
            raise StageFailed(
                f"event delivery failed {len(stats.errors) or len(stats.dropped)} time(s); "
                f"first: {first!r:.300}"
            )

    # ------------------------------------------------------------------ the stages

    def certificate(self) -> str:
        body = self.invoke("tops-acme-client-sec-dev", scheduled_event("acme-daily-trigger"))["body"]
        if body.get("action") not in ("issued", "renewed"):
            raise StageFailed(f"acme_client did not issue: {body}")
        assert self.stack.router is not None
        stats = self.stack.router.pump_bucket()  # the S3 notifications of what acme_client wrote
        if stats.errors:
            first = stats.errors[0]
            raise StageFailed(f"cert_mgmt failed {len(stats.errors)} time(s); first: {first!r:.300}")
        actions = [str(result["body"].get("action")) for result in stats.results]
        if actions.count("created") + actions.count("replaced") != 1:
            raise StageFailed(f"expected exactly one push into the tenant, got {actions}")
        return (
            f"{body['action']} {', '.join(body['names'])} ({body['days_left']} days), "
            f"cert_mgmt {', '.join(actions)}"
        )

    def token(self) -> str:
        body = self.invoke(
            "tops-token-refresh-sec-dev", scheduled_event("tops-token-refresh-sec-schedule-dev")
        )
        body = body["body"]
        if not body.get("renewed"):
            raise StageFailed(f"credential not renewed: {body}")
        return f"{body['credential']}: {body['days_left_before']} -> {body['days_left_after']} days left"

    def provision(self) -> str:
        self.heartbeat(*LEARNERS)
        self.heartbeat(LEARNERS[0], twice=True)  # at-least-once delivery: a duplicate heartbeat
        self.deliver()
        states = []
        for learner in LEARNERS:
            item = self.item(learner) or {}
            if item.get("deployment_status") != "COMPLETED":
                raise StageFailed(f"{learner.petname}: {item}")
            states.append(f"{learner.petname} ({learner.lab}) COMPLETED")
        return "; ".join(states)

    def teardown(self) -> str:
        ending, staying = LEARNERS
        ended = self.item(ending) or {}
        deadline = time.monotonic() + 3 * DEMO_TTL_SECONDS + 10
        # The staying lab's VM keeps sending heartbeats while the ending one has gone quiet.
        while int(ended.get("ttl", 0)) >= int(time.time()):
            if time.monotonic() > deadline:
                raise StageFailed("the quiet lab never expired")
            self.heartbeat(staying)
            self.deliver()
            time.sleep(1)
        self.heartbeat(staying)
        self.deliver()
        assert self.stack.router is not None
        swept = self.stack.router.fire_schedule()
        self.deliver()
        if self.item(ending) is not None or self.item(staying) is None:
            raise StageFailed(f"sweep result unexpected: {swept}")
        xc = self.stack.xc.state
        if ending.petname in self.namespaces() or xc.user(ending.email) is not None:
            raise StageFailed(f"{ending.petname} left objects in the tenant")
        return f"swept {swept.get('body', swept)}; {ending.petname} torn down, {staying.petname} kept"

    # ------------------------------------------------------------------ summary

    def namespaces(self) -> list[str]:
        return sorted(ns["name"] for ns in self.stack.xc.state.dump()["namespaces"] if not ns["builtin"])

    def summary(self) -> None:
        state = self.stack.xc.state.dump()
        lines = ["", "Tenant contents", "---------------"]
        for ns in self.namespaces():
            objects = state["objects"].get(ns, {})
            listed = (
                ", ".join(
                    f"{plural}: {', '.join(sorted(o['name'] for o in objs))}"
                    for plural, objs in sorted(objects.items())
                    if objs
                )
                or "empty"
            )
            lines.append(f"namespace {ns:<14} {listed}")
        for cert in state["objects"].get("shared", {}).get("certificates", []):
            lines.append(f"certificate shared/{cert['name']}")
        for user in state.get("users", []):
            roles = ", ".join(f"{r['namespace']}/{r['role']}" for r in user.get("namespace_roles", []))
            lines.append(f"user {user['email']:<20} groups {user.get('group_names')} roles {roles}")
        lines += ["", "Deployments", "-----------"]
        for learner in LEARNERS:
            item = self.item(learner)
            if item is None:
                lines.append(f"{learner.petname:<12} {learner.dep_id}  (deleted: torn down)")
            else:
                steps = " ".join(
                    f"{k}={item.get(k)}" for k in ("create_namespace", "create_user", "pre_lambda")
                )
                lines.append(
                    f"{learner.petname:<12} {learner.dep_id}  {item.get('deployment_status')}  {steps}"
                )
        lines += ["", "Stages", "------"]
        for stage in self.stages:
            lines.append(f"{'ok  ' if stage.ok else 'FAIL'} {stage.name:<36} {stage.seconds:6.2f}s")
        print("\n".join(lines), file=self.out, flush=True)

    def run(self) -> int:
        self.say(
            f"local stack up: moto {self.stack.moto_url}, XC {self.stack.xc.url}, "
            f"Pebble (with ARI) {self.stack.ari.directory_url if self.stack.ari else '-'}"
        )
        self.stage(f"certificate *.{DOMAIN} -> {CERT_NAME}", self.certificate)
        self.stage("token_refresh", self.token)
        self.stage("two labs provisioned", self.provision)
        self.stage("quiet lab swept and torn down", self.teardown)
        self.summary()
        return 0 if all(stage.ok for stage in self.stages) else 1


def run_demo(out: TextIO = sys.stdout, *, verbose: bool = False) -> int:
    options = StackOptions(
        ttl_extension_seconds=DEMO_TTL_SECONDS, quiet_workers=not verbose, access_logs=verbose
    )
    with quiet_logs(not verbose), LocalStack(options) as stack:
        return Demo(stack, out).run()
