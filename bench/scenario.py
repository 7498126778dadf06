"""The UDF pipeline on the local stack, as the provisioning and burst benchmarks drive it.

`Scenario` starts `devstack.stack.LocalStack` without Pebble (no certificate is issued here), seeds
the shared objects the labs refer to (the lab certificates; LocalStack already seeds the virtual site)
so that reference validation can stay on, imports every handler the pipeline reaches (cold starts are
benchmark 1, not these), then sends heartbeats and lets the router deliver them.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from devstack.pki import certificate_body, self_signed
from devstack.stack import ENV_NAME, LAB_ROWS, STATE_TABLE, LocalStack, StackOptions

HELPER_PREFIX: Final = "tops-udf-helper-"
HELPER_SUFFIX: Final = f"-pre-{ENV_NAME}"
QUIET_LOGGERS: Final = ("werkzeug", "devstack", "botocore", "urllib3")


@dataclass(frozen=True, slots=True)
class Lab:
    """A lab row with a helper: its id, the helper's name (`example`, ...) and the row itself."""

    lab_id: str
    name: str
    row: dict[str, Any]

    @property
    def user_ns(self) -> bool:
        return bool(self.row.get("user_ns"))


def helper_labs() -> list[Lab]:
    """Every lab row of the stack whose `pre_lambda` is a lab helper, in the rows' order."""
    labs = []
    for lab_id, row in LAB_ROWS.items():
        function = str(row.get("pre_lambda") or "").rsplit(":", 1)[-1]
        if function.startswith(HELPER_PREFIX) and function.endswith(HELPER_SUFFIX):
            labs.append(Lab(lab_id, function[len(HELPER_PREFIX) : -len(HELPER_SUFFIX)], row))
    return labs


@dataclass(frozen=True, slots=True)
class Plan:
    """What one lab's helper creates: the objects in order, and how many of them it waits for."""

    objects: int
    waited: int


def helper_plan(lab: Lab, petname: str) -> Plan:
    """The helper's rendered plan for `petname`, under the configuration the helpers will read."""
    import importlib

    from udf_helpers.config import load_config
    from udf_helpers.engine import render

    definition = importlib.import_module(f"udf_helpers.labs.{lab.name}").DEFINITION
    planned = render(definition, definition.context(petname, load_config(os.environ)))
    waited = {dep for obj in planned for dep in obj.depends_on}
    return Plan(objects=len(planned), waited=len(waited))


@dataclass(frozen=True, slots=True)
class Learner:
    lab: Lab
    petname: str
    email: str
    dep_id: str

    @classmethod
    def make(cls, lab: Lab, petname: str) -> Learner:
        return cls(lab, petname, f"{petname}@bench.example.com", str(uuid.uuid4()))

    def body(self) -> str:
        import json

        return json.dumps(
            {"lab_id": self.lab.lab_id, "dep_id": self.dep_id, "email": self.email, "petname": self.petname}
        )


def quiet() -> None:
    """Workers log at WARNING; the servers' access logs are off."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


class Scenario:
    """A started LocalStack with the shared objects seeded and the pipeline's handlers imported."""

    def __init__(self, labs: Sequence[Lab]) -> None:
        quiet()
        self.labs = list(labs)
        self.stack = LocalStack(StackOptions(pebble=False, validate_refs=True))

    def __enter__(self) -> Scenario:
        # moto keeps its state in this process across servers: start from an empty account.
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        self.stack.start()
        try:
            self._seed()
            self._warm()
        except BaseException:
            self.stack.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.stop()

    @property
    def xc(self) -> Any:
        return self.stack.xc

    @property
    def router(self) -> Any:
        assert self.stack.router is not None
        return self.stack.router

    def _seed(self) -> None:
        """The certificate every helper lab refers to, in `shared`, visible at once."""
        import importlib

        from udf_helpers.config import load_config

        config = load_config(os.environ)
        names = set()
        for lab in self.labs:
            definition = importlib.import_module(f"udf_helpers.labs.{lab.name}").DEFINITION
            names.add(definition.context("seed", config).cert_name)
        for name in sorted(names):
            if name not in {o["name"] for o in self._shared("certificates")}:
                cert_pem, key_pem = self_signed(f"{name}.bench.example.com").pem_pair
                body = certificate_body(name, cert_pem, key_pem)
                self.xc.state.create_object("shared", "certificates", body)

    def _shared(self, plural: str) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = self.xc.state.dump()["objects"].get("shared", {}).get(plural, [])
        return objects

    def _warm(self) -> None:
        """Import the callees' handler modules now, so that no delivery pays a first import."""
        assert self.stack.invoke is not None
        registry = self.stack.invoke.registry
        helpers = [f"{HELPER_PREFIX}{lab.name}-pre" for lab in self.labs]
        functions = ["tops-ns-create", "tops-user-create", *helpers]
        for function in functions:
            route, _ = registry.route(function)
            registry.handler(route)

    def heartbeat(self, learners: Sequence[Learner]) -> None:
        sqs = self.stack.client("sqs")
        for learner in learners:
            sqs.send_message(QueueUrl=self.stack.queue_url, MessageBody=learner.body())

    def items(self) -> dict[str, dict[str, Any]]:
        """Every state item by dep_id (a full scan: the benches run on an otherwise empty table)."""
        from boto3.dynamodb.types import TypeDeserializer

        decode = TypeDeserializer().deserialize
        db = self.stack.client("dynamodb")
        found: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": STATE_TABLE, "ConsistentRead": True}
        for _ in range(10_000):  # bounded: one page per iteration
            page = db.scan(**kwargs)
            for raw in page.get("Items", []):
                item = {k: decode(v) for k, v in raw.items()}
                found[str(item["dep_id"])] = item
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def timed_worker(self, durations: list[float]) -> None:
        """Wrap the router's udf_worker so that each invocation's wall time is appended to `durations`."""
        worker: Callable[[Any, Any], Any] = self.router.worker

        def run(event: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return worker(event, context)
            finally:
                durations.append(time.perf_counter() - started)

        self.router.worker = run


def call_kind(path: str) -> str:
    """A short name for what an XC call touched: `namespace`, `user_roles`, `origin_pools`, ..."""
    parts = [p for p in path.split("/") if p]
    if parts[:3] == ["api", "web", "namespaces"]:
        return "namespace" if len(parts) <= 4 else f"namespace {parts[-1]}"
    if parts[:2] == ["api", "config"] and len(parts) >= 5:
        return parts[4]
    return parts[-1] if parts else path


def call_breakdown(records: Sequence[Any]) -> str:
    """`POST namespace 1, GET namespace 4, ...` in order of first appearance."""
    counts: Counter[str] = Counter()
    for record in records:
        counts[f"{record.method} {call_kind(record.path)}"] += 1
    return ", ".join(f"{key} {count}" for key, count in counts.items())
