"""The UDF pipeline on the local stack: moto in server mode (SQS, DynamoDB with its stream, SSM), the XC
emulator, the Lambda invoke endpoint running the real tenant workers and lab helper, and the router
standing in for the event source mappings and the cleaner's schedule.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from devstack.lambda_invoke import LambdaInvokeServer
from devstack.router import EventRouter, Stats, handler_for
from devstack.xc import XCServer
from tests.fixtures.aws import MotoServer
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.xc import XC_TOKEN, xc_server  # noqa: F401 - the fixture, until xc is a root plugin

STATE_TABLE = "tops-udf-lab-deployment-state-test"
LAB_TABLE = "tops-udf-lab-config-test"
QUEUE = "tops-udf-queue-test"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
EXAMPLE_PRE = ARN + "tops-udf-helper-example-pre-test"

# Lab rows as Terraform writes them (docs/deployment.md §4.2), all in the emulator's one tenant.
LABS: dict[str, dict[str, Any]] = {
    "e37500bc": {"description": "Example lab", "group_names": ["xc-lab-users"],
                 "namespace_roles": [{"namespace": "system", "role": "f5xc-web-app-scanning-user"}],
                 "user_ns": True, "pre_lambda": EXAMPLE_PRE, "post_lambda": None},
    "fd6bfa98": {"description": "MCN Tenant Base Lab", "group_names": ["xc-lab-users"],
                 "namespace_roles": [{"namespace": "system", "role": "xc-lab-mcn-ce"}], "user_ns": True,
                 "pre_lambda": None, "post_lambda": None},
    "a09e1e9d": {"description": "Sec Tenant Base Lab", "group_names": ["xc-lab-users"], "namespace_roles": [],
                 "user_ns": True, "pre_lambda": None, "post_lambda": None},
    "8b3bfc3a": {"description": "NGINX One Lab", "group_names": [],
                 "namespace_roles": [{"namespace": "default", "role": "f5xc-nginx-one-user"}],
                 "user_ns": False, "pre_lambda": None, "post_lambda": None},
}

ROUTES = {
    "tops-ns-create": "ns_create.function",
    "tops-ns-remove": "ns_remove.function",
    "tops-user-create": "user_create.function",
    "tops-user-remove": "user_remove.function",
    "tops-udf-helper-example-pre": "udf_helpers.labs.example",
}


@dataclass(frozen=True)
class Deployment:
    dep_id: str
    lab_id: str
    email: str
    petname: str

    def body(self) -> str:
        return json.dumps({"lab_id": self.lab_id, "dep_id": self.dep_id, "email": self.email,
                           "petname": self.petname})


class Pipeline:
    """The stack and the verbs the tests use: heartbeat, deliver, expire, sweep, and tenant views."""

    def __init__(self, moto: MotoServer, xc: XCServer, invoke: LambdaInvokeServer) -> None:
        self.moto = moto
        self.xc = xc
        self.invoke = invoke
        self.sqs = moto.client("sqs")
        self.db = moto.client("dynamodb")
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        self._create_tables()
        seed_tenant(moto.client("ssm"), xc.url, XC_TOKEN, idm_type="SSO")
        stream_arn = self.db.describe_table(TableName=STATE_TABLE)["Table"]["LatestStreamArn"]
        self.router = EventRouter(
            sqs=self.sqs, queue_url=self.queue_url, dispatch=handler_for("udf_dispatch.function"),
            streams=moto.client("dynamodbstreams"), stream_arn=stream_arn,
            worker=handler_for("udf_worker.function"), cleaner=handler_for("udf_clean.function"),
        )

    def _create_tables(self) -> None:
        self.db.create_table(
            TableName=STATE_TABLE, KeySchema=[{"AttributeName": "dep_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "dep_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        self.db.update_time_to_live(TableName=STATE_TABLE,
                                    TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
        self.db.create_table(
            TableName=LAB_TABLE, KeySchema=[{"AttributeName": "lab_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lab_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        serializer = TypeSerializer()
        for lab_id, row in LABS.items():
            item = {"lab_id": lab_id, "ssm_base_path": TEST_BASE_PATH, **row}
            self.db.put_item(TableName=LAB_TABLE, Item={k: serializer.serialize(v) for k, v in item.items()})

    # ------------------------------------------------------------------ driving

    def heartbeat(self, *deployments: Deployment, times: int = 1) -> None:
        """The lab VMs send their heartbeats."""
        for _ in range(times):
            for deployment in deployments:
                self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=deployment.body())

    def deliver(self) -> Stats:
        """Let the event source mappings deliver everything pending."""
        return self.router.drain()

    def expire(self, *deployments: Deployment) -> None:
        """Time passes without heartbeats: their ttl is now in the past."""
        for deployment in deployments:
            self.db.update_item(
                TableName=STATE_TABLE, Key={"dep_id": {"S": deployment.dep_id}},
                UpdateExpression="SET #t = :t",
                ExpressionAttributeNames={"#t": "ttl"},
                ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}},
            )

    def sweep(self) -> Any:
        """The cleaner's schedule fires, then the stream delivers the REMOVE records."""
        result = self.router.fire_schedule()
        self.deliver()
        return result

    def end(self, *deployments: Deployment) -> Any:
        self.expire(*deployments)
        return self.sweep()

    # ------------------------------------------------------------------ views

    def item(self, deployment: Deployment) -> dict[str, Any] | None:
        raw = self.db.get_item(TableName=STATE_TABLE, Key={"dep_id": {"S": deployment.dep_id}},
                               ConsistentRead=True).get("Item")
        if raw is None:
            return None
        deserializer = TypeDeserializer()
        return {k: deserializer.deserialize(v) for k, v in raw.items()}

    def user(self, email: str) -> dict[str, Any] | None:
        return self.xc.state.user(email)

    def roles(self, email: str) -> set[tuple[str, str]]:
        user = self.user(email)
        return {(r["namespace"], r["role"]) for r in (user or {}).get("namespace_roles", [])}

    def groups(self, email: str) -> set[str]:
        return set((self.user(email) or {}).get("group_names", []))

    def namespaces(self) -> set[str]:
        return {ns["name"] for ns in self.xc.state.dump()["namespaces"] if not ns["builtin"]}

    def objects(self, namespace: str) -> dict[str, list[str]]:
        found = self.xc.state.dump()["objects"].get(namespace, {})
        return {plural: sorted(o["name"] for o in objs) for plural, objs in found.items()}

    def invoked(self) -> list[str]:
        return [i.route for i in self.invoke.invocations]


@pytest.fixture
def invoke_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaInvokeServer]:
    server = LambdaInvokeServer(ROUTES).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pipeline(moto_server: MotoServer, xc_server: XCServer,  # noqa: F811 - the imported fixture
             invoke_server: LambdaInvokeServer, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    for name, value in {
        "DEPLOYMENT_STATE_TABLE": STATE_TABLE, "LAB_CONFIGURATION_TABLE": LAB_TABLE,
        "UDF_QUEUE": f"{moto_server.url}/123456789012/{QUEUE}",
        "NS_CREATE_LAMBDA_FUNCTION": ARN + "tops-ns-create-test",
        "NS_REMOVE_LAMBDA_FUNCTION": ARN + "tops-ns-remove-test",
        "USER_CREATE_LAMBDA_FUNCTION": ARN + "tops-user-create-test",
        "USER_REMOVE_LAMBDA_FUNCTION": ARN + "tops-user-remove-test",
        "ENV": "dev",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("REPORT_BATCH_ITEM_FAILURES", "TTL_EXTENSION_SECONDS", "MIN_STEP_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return Pipeline(moto_server, xc_server, invoke_server)
