"""Fakes for the worker's core tests: a tiny tenant model behind an invoker with the callees' contracts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from devstack.tables import create_lab_table, create_state_table
from shared.deadline import Deadline
from shared.errors import ConfigError
from shared.invoke import CalleeError
from tests.fixtures.clock import FakeClock
from tests.fixtures.tables import EXAMPLE_POST, EXAMPLE_PRE, LAB_ROWS, LAB_TABLE, LAMBDA_ARN, STATE_TABLE
from udf_worker.clients import TableLabCatalog, Worker
from udf_worker.config import Functions
from udf_worker.state import LabTable, StateTable

FUNCTIONS = Functions(
    ns_create=LAMBDA_ARN + "tops-ns-create-test",
    ns_remove=LAMBDA_ARN + "tops-ns-remove-test",
    user_create=LAMBDA_ARN + "tops-user-create-test",
    user_remove=LAMBDA_ARN + "tops-user-remove-test",
)
PRE, POST = EXAMPLE_PRE, EXAMPLE_POST
SEC = "/tenantOps-test/sec-lab"
APP = "/tenantOps-test/app-lab"
URLS = {SEC: "https://sec.example.test", APP: "https://app.example.test"}

# The test lab rows, two of them in the app tenant.
LABS: dict[str, dict[str, Any]] = {
    lab_id: {**row, "ssm_base_path": APP if lab_id in ("10da9e42", "8b3bfc3a") else SEC}
    for lab_id, row in LAB_ROWS.items()
}


@dataclass
class FakeUser:
    roles: set[tuple[str, str]] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)


@dataclass
class FakeTenant:
    namespaces: dict[str, str | None] = field(default_factory=dict)  # name -> owner label
    users: dict[str, FakeUser] = field(default_factory=dict)
    objects: set[str] = field(default_factory=set)  # "<namespace>/<name>" created by the lab helper


class FakeInvoker:
    """Runs the callee contracts against FakeTenants (one per base path). `fail(function, error)` makes
    the next call of a function raise; `before(function, hook)` runs a hook before each such call."""

    def __init__(self) -> None:
        self.tenants: dict[str, FakeTenant] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._failures: dict[str, list[Exception]] = {}
        self._hooks: dict[str, Callable[[dict[str, Any]], object]] = {}

    def tenant(self, base: str = SEC) -> FakeTenant:
        return self.tenants.setdefault(base, FakeTenant())

    def fail(self, function: str, error: Exception, times: int = 1) -> None:
        self._failures.setdefault(function, []).extend([error] * times)

    def before(self, function: str, hook: Callable[[dict[str, Any]], object]) -> None:
        self._hooks[function] = hook

    def names(self) -> list[str]:
        """The short names of the functions called, in order."""
        return [function.rsplit(":", 1)[-1].removesuffix("-test") for function, _ in self.calls]

    def invoke(self, function: str, payload: dict[str, Any], *, deadline: Deadline) -> Any:
        assert deadline.remaining() > 0
        self.calls.append((function, payload))
        if function in self._hooks:
            self._hooks[function](payload)
        pending = self._failures.get(function)
        if pending:
            raise pending.pop(0)
        tenant = self.tenant(payload["ssm_base_path"])
        name, owner = str(payload.get("namespace_name")), payload.get("owner")
        if function == FUNCTIONS.ns_create:
            created = name not in tenant.namespaces
            if created:
                tenant.namespaces[name] = owner
            elif owner is not None and tenant.namespaces[name] != owner:
                raise CalleeError(
                    function,
                    f"status 409: namespace {name} already exists, not created by deployment {owner}",
                    retryable=False,
                    status=409,
                )
            return {"namespace": name, "owner": owner, "created": created}
        if function == FUNCTIONS.ns_remove:
            if name in tenant.namespaces and owner is not None and tenant.namespaces[name] != owner:
                return {"namespace": name, "owner": owner, "removed": False, "state": "kept", "reason": "x"}
            removed = tenant.namespaces.pop(name, "absent") != "absent"
            tenant.objects = {o for o in tenant.objects if not o.startswith(name + "/")}
            return {
                "namespace": name,
                "owner": owner,
                "removed": removed,
                "state": "removed" if removed else "absent",
            }
        if function == FUNCTIONS.user_create:
            return self._user_create(tenant, payload)
        if function == FUNCTIONS.user_remove:
            return self._user_remove(tenant, payload)
        if function in (PRE, POST):
            name = f"{payload['petname']}/{payload['petname']}-lb"
            if payload.get("action") == "remove":
                tenant.objects.discard(name)
            else:
                tenant.objects.add(name)
            return {"lab": "example", "action": payload.get("action", "create")}
        raise CalleeError(function, "ResourceNotFoundException: no such function", retryable=False)

    @staticmethod
    def _user_create(tenant: FakeTenant, payload: dict[str, Any]) -> dict[str, Any]:
        email = payload["email"]
        if payload.get("lookup"):
            found = tenant.users.get(email) or FakeUser()
            return {
                "email": email,
                "exists": email in tenant.users,
                "namespace_roles": [{"namespace": n, "role": r} for n, r in sorted(found.roles)],
                "group_names": sorted(found.groups),
            }
        created = email not in tenant.users
        user = tenant.users.setdefault(email, FakeUser())
        roles = {(r["namespace"], r["role"]) for r in payload.get("namespace_roles") or []}
        groups = set(payload.get("group_names") or [])
        added_roles = roles - user.roles
        added_groups = groups - user.groups
        user.roles |= roles
        user.groups |= groups
        return {
            "email": email,
            "created": created,
            "added_roles": [{"namespace": n, "role": r} for n, r in sorted(added_roles)],
            "added_groups": sorted(added_groups),
        }

    @staticmethod
    def _user_remove(tenant: FakeTenant, payload: dict[str, Any]) -> dict[str, Any]:
        email = payload["email"]
        if payload.get("namespace_roles") is None and payload.get("group_names") is None:
            existed = tenant.users.pop(email, None) is not None
            return {"email": email, "removed": existed}
        user = tenant.users.get(email)
        if user is not None:
            user.roles -= {(r["namespace"], r["role"]) for r in payload.get("namespace_roles") or []}
            user.groups -= set(payload.get("group_names") or [])
        return {"email": email, "revoked": True}


class FakeTenants:
    def __init__(self, urls: dict[str, str] | None = None) -> None:
        self.urls = dict(URLS if urls is None else urls)

    def tenant_url(self, ssm_base_path: str) -> str:
        if ssm_base_path not in self.urls:
            raise ConfigError([f"SSM parameter {ssm_base_path}/tenant-url not found"])
        return self.urls[ssm_base_path]


def create_tables(db: Any) -> None:
    create_state_table(db, STATE_TABLE)
    create_lab_table(db, LAB_TABLE)
    labs = boto3.resource("dynamodb", region_name="us-east-1").Table(LAB_TABLE)
    for lab_id, row in LABS.items():
        labs.put_item(Item={"lab_id": lab_id, **row})


@dataclass
class Rig:
    """moto tables + fakes, and a Worker over them."""

    db: Any
    invoker: FakeInvoker
    tenants: FakeTenants
    time_left: float = 60.0
    clock: FakeClock = field(default_factory=FakeClock)

    def worker(self, db: Any = None) -> Worker:
        client = db or self.db
        return Worker(
            state=StateTable(client, STATE_TABLE),
            labs=TableLabCatalog(LabTable(client, LAB_TABLE)),
            tenants=self.tenants,
            invoker=self.invoker,
            functions=FUNCTIONS,
            deadline=Deadline.after(self.time_left, self.clock),
            min_step_seconds=15.0,
            sleep=self.clock.sleep,
            jitter=lambda: 0.0,
            now=self.clock.time,
        )

    def start(
        self,
        dep_id: str,
        lab_id: str = "e37500bc",
        email: str = "jane@example.com",
        petname: str = "ample-gull",
        **extra: Any,
    ) -> None:
        """What dispatch writes on the first heartbeat."""
        item = {
            "dep_id": dep_id,
            "lab_id": lab_id,
            "email": email,
            "petname": petname,
            "deployment_status": "STARTING",
            "created_at": "2025-03-01T14:02:11.123456",
            "ttl": 1740838031,
            **extra,
        }
        boto3.resource("dynamodb", region_name="us-east-1").Table(STATE_TABLE).put_item(Item=item)

    def item(self, dep_id: str) -> dict[str, Any] | None:
        return StateTable(self.db, STATE_TABLE).get(dep_id)

    def delete(self, dep_id: str) -> dict[str, Any]:
        """Delete the item like the sweeper; return the old image (deserialized), as a REMOVE carries it."""
        old = self.item(dep_id)
        assert old is not None
        self.db.delete_item(TableName=STATE_TABLE, Key={"dep_id": {"S": dep_id}})
        return old
