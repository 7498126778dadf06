"""The whole local stack in one object: moto (server mode), the XC emulator, the DNS server over
moto's Route 53, Pebble, the Lambda invoke endpoint and the event router, seeded like one
environment of the deployed system (docs/deployment.md) with one tenant.

Workers run in this process and reach everything through the standard `AWS_ENDPOINT_URL*`
variables and their deployed environment variables, which `start()` sets in `os.environ`.
`make demo` and `make devstack` start this same stack; docs/local-stack.md describes the seeds and
the routing.
"""

from __future__ import annotations

import importlib
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from devstack import moto_rules
from devstack.lambda_invoke import DEFAULT_ACCOUNT, DEFAULT_REGION, LambdaInvokeServer
from devstack.route53 import seed_challenge_zones
from devstack.router import EventRouter, handler_for
from devstack.tables import create_lab_table, create_state_table

ENV_NAME: Final = "dev"
TENANT: Final = "sec-lab"
BASE_PATH: Final = f"/tenantOps-{ENV_NAME}/{TENANT}"
CERT_NAME: Final = f"lab-sec-wildcard-{ENV_NAME}"
DOMAIN: Final = f"lab-sec-{ENV_NAME}.f5demos.com"
CHALLENGE_RECORD: Final = f"lab-sec-{ENV_NAME}.challenge.f5demos.com"
CERT_BUCKET: Final = f"tops-cert-bucket-{ENV_NAME}"
STATE_TABLE: Final = f"tops-udf-lab-deployment-state-{ENV_NAME}"
LAB_TABLE: Final = f"tops-udf-lab-config-{ENV_NAME}"
QUEUE: Final = f"tops-udf-queue-{ENV_NAME}"
CREDENTIAL: Final = "tenant-operations-demoabcd"
ARN: Final = f"arn:aws:lambda:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:function:"
QUIET_WORKERS: Final = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


def helper_arn(lab: str) -> str:
    return f"{ARN}tops-udf-helper-{lab}-pre-{ENV_NAME}"


# The lab configuration rows (docs/deployment.md §4.2), all pointing at the stack's one tenant.
LAB_ROWS: Final[dict[str, dict[str, Any]]] = {
    "e37500bc": {
        "description": "Example lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [{"namespace": "system", "role": "f5xc-web-app-scanning-user"}],
        "user_ns": True,
        "pre_lambda": helper_arn("example"),
    },
    "fd6bfa98": {
        "description": "MCN Tenant Base Lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [{"namespace": "system", "role": "xc-lab-mcn-ce"}],
        "user_ns": True,
        "pre_lambda": None,
    },
    "10da9e42": {
        "description": "App Tenant Base Lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [],
        "user_ns": True,
        "pre_lambda": None,
    },
    "a09e1e9d": {
        "description": "Sec Tenant Base Lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [],
        "user_ns": True,
        "pre_lambda": None,
    },
    "648ecc3e": {
        "description": "API Lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [{"namespace": "shared", "role": "f5xc-waap-monitor"}],
        "user_ns": True,
        "pre_lambda": helper_arn("apilab"),
    },
    "f85bfeb4": {
        "description": "Bot Lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [],
        "user_ns": True,
        "pre_lambda": helper_arn("botlab"),
    },
    "811c573b": {
        "description": "CAAS Lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [],
        "user_ns": True,
        "pre_lambda": helper_arn("caaslab"),
    },
    "d3c24766": {
        "description": "WAAP Lab",
        "group_names": ["xc-lab-users"],
        "namespace_roles": [],
        "user_ns": True,
        "pre_lambda": helper_arn("waaplab"),
    },
    "8b3bfc3a": {
        "description": "NGINX One Lab",
        "group_names": [],
        "namespace_roles": [{"namespace": "default", "role": "f5xc-nginx-one-user"}],
        "user_ns": False,
        "pre_lambda": None,
    },
}


@dataclass
class StackOptions:
    """What the stack's workers are configured with; the demo shortens the TTL through these."""

    ttl_extension_seconds: int = 300
    pebble: bool = True
    nonce_reject: int = 0
    xc_latency_ms: int = 0
    credential_days_left: float = 3.0  # so that token_refresh has work to do
    validate_refs: bool = True
    access_logs: bool = False  # the XC emulator's per-request lines (moto's follow the werkzeug logger)
    # Workers log only warnings and send no metrics: set in this process, not in `exports()`.
    quiet_workers: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)


class LocalStack:
    """Start with `start()` (or `with`), stop with `stop()`. See the module docstring."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.token = "xc-demo-" + secrets.token_hex(12)
        self.env: dict[str, str] = {}
        self._saved_env: dict[str, str | None] = {}
        self._stops: list[Callable[[], None]] = []
        self.moto_url = ""
        self.xc: Any = None
        self.dns: Any = None
        self.pebble: Any = None
        self.ari: Any = None  # the renewalInfo proxy in front of Pebble: the CA the workers see
        self.invoke: LambdaInvokeServer | None = None
        self.router: EventRouter | None = None
        self.queue_url = ""
        self.challenge_zone_id = ""
        self.certificates: list[str] = []  # the names seeded in the tenant's `shared` namespace

    # ------------------------------------------------------------------ life cycle

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer

        from devstack.xc import XCServer

        moto_rules.install()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        self._stops.append(moto.stop)
        host, port = moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self._set_env(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": DEFAULT_REGION,
                "AWS_DEFAULT_REGION": DEFAULT_REGION,
            }
        )

        self.xc = XCServer(quiet=not self.options.access_logs).start()
        self._stops.append(self.xc.stop)
        self.xc.state.configure(validate_refs=self.options.validate_refs)
        self.xc.faults.latency_ms = self.options.xc_latency_ms
        self.xc.state.seed_credential(
            "service_credentials",
            CREDENTIAL,
            self.token,
            time.time() + self.options.credential_days_left * 86400,
        )

        if self.options.pebble:
            self._start_acme()

        self.invoke = LambdaInvokeServer().start()
        self._stops.append(self.invoke.stop)
        self._set_env({"AWS_ENDPOINT_URL_LAMBDA": self.invoke.url})
        self._seed()
        self._set_env(self._worker_env())
        self._set_env(self.options.extra_env)
        if self.options.quiet_workers:
            self._set_env(QUIET_WORKERS, export=False)
        self._seed_certificates()
        self.router = EventRouter(
            sqs=self.client("sqs"),
            queue_url=self.queue_url,
            dispatch=handler_for("udf_dispatch.function"),
            streams=self.client("dynamodbstreams"),
            stream_arn=self.client("dynamodb").describe_table(TableName=STATE_TABLE)["Table"][
                "LatestStreamArn"
            ],
            worker=handler_for("udf_worker.function"),
            cleaner=handler_for("udf_clean.function"),
            s3=self.client("s3"),
            bucket=CERT_BUCKET,
            cert_prefix=f"{CERT_NAME}/",
            cert_mgmt=handler_for("cert_mgmt.function"),
        )

    def _start_acme(self) -> None:
        from devstack.ari import AriProxy
        from devstack.dns import DNSServer
        from devstack.pebble import PEBBLE_BINARY, Pebble

        if not shutil.which(PEBBLE_BINARY) and not os.path.exists(PEBBLE_BINARY):
            raise RuntimeError("pebble is not installed: run `make setup` (Debian package 'pebble')")
        self.dns = DNSServer(self.client("route53")).start()
        self._stops.append(self.dns.stop)
        self.pebble = Pebble(
            self.dns.address,
            nonce_reject=self.options.nonce_reject,
            authz_reuse=0,
            validity_seconds=90 * 86400,
        ).start()
        self._stops.append(self.pebble.stop)
        self.ari = AriProxy(self.pebble).start()
        self._stops.append(self.ari.stop)

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception:  # stopping is best effort; the next one must still run
                pass
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        from shared import aws

        aws.reset()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers

    def client(self, service: str) -> Any:
        import boto3

        # boto3-stubs types `client` per literal service name; this one is chosen at run time.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.moto_url,
            region_name=DEFAULT_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def _set_env(self, values: Mapping[str, str], *, export: bool = True) -> None:
        """Set `values` in this process (restored by `stop()`); `export` also lists them in `exports()`."""
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
            if export:
                self.env[name] = value
        from shared import aws

        aws.reset()

    def _worker_env(self) -> dict[str, str]:
        env = {
            # cert_mgmt, token_refresh
            "SSM_BASE_PATH": BASE_PATH,
            "S3_BUCKET": CERT_BUCKET,
            "CERT_NAME": CERT_NAME,
            # udf pipeline
            "DEPLOYMENT_STATE_TABLE": STATE_TABLE,
            "LAB_CONFIGURATION_TABLE": LAB_TABLE,
            "UDF_QUEUE": self.queue_url,
            "ENV": ENV_NAME,
            "TTL_EXTENSION_SECONDS": str(self.options.ttl_extension_seconds),
            "NS_CREATE_LAMBDA_FUNCTION": f"{ARN}tops-ns-create-{ENV_NAME}",
            "NS_REMOVE_LAMBDA_FUNCTION": f"{ARN}tops-ns-remove-{ENV_NAME}",
            "USER_CREATE_LAMBDA_FUNCTION": f"{ARN}tops-user-create-{ENV_NAME}",
            "USER_REMOVE_LAMBDA_FUNCTION": f"{ARN}tops-user-remove-{ENV_NAME}",
            # acme_client
            "DOMAIN": DOMAIN,
            "EMAIL": "ops@example.com",
            "CHALLENGE_RECORD": CHALLENGE_RECORD,
            "CHALLENGE_ZONE_ID": self.challenge_zone_id,
            "ACME_START_JITTER": "0",
        }
        if self.pebble is not None:
            env.update(
                {
                    "ACME_DIRECTORY_URL": self.ari.directory_url,
                    "ACME_CA_BUNDLE": self.ari.ca_bundle_path,
                    "ACME_DNS_SERVERS": self.dns.address,
                    "ACME_DNS_CHECK": "authoritative",
                }
            )
        return env

    def _seed(self) -> None:
        from boto3.dynamodb.types import TypeSerializer

        ssm = self.client("ssm")
        for name, value, kind in (
            ("tenant-url", self.xc.url, "String"),
            ("token-value", self.token, "SecureString"),
            ("token-name", CREDENTIAL, "String"),
            ("token-type", "svccred", "String"),
            ("idm-type", "SSO", "String"),
        ):
            ssm.put_parameter(Name=f"{BASE_PATH}/{name}", Value=value, Type=kind, Overwrite=True)

        self.client("s3").create_bucket(Bucket=CERT_BUCKET)
        self.queue_url = self.client("sqs").create_queue(
            QueueName=QUEUE, Attributes={"VisibilityTimeout": "61", "MessageRetentionPeriod": "60"}
        )["QueueUrl"]

        _, self.challenge_zone_id = seed_challenge_zones(
            self.client("route53"), DOMAIN, CHALLENGE_RECORD, ttl=300
        )

        db = self.client("dynamodb")
        create_state_table(db, STATE_TABLE)
        create_lab_table(db, LAB_TABLE)
        serializer = TypeSerializer()
        for lab_id, row in LAB_ROWS.items():
            item = {"lab_id": lab_id, "ssm_base_path": BASE_PATH, "post_lambda": None, **row}
            db.put_item(TableName=LAB_TABLE, Item={k: serializer.serialize(v) for k, v in item.items()})

        # What the tenants hold before any worker runs (docs/deployment.md §9).
        self.xc.state.create_object(
            "shared", "virtual_sites", {"metadata": {"name": "appworld2025-k8s-vsite"}, "spec": {}}
        )

    def _seed_certificates(self) -> None:
        """A certificate for every name the lab helpers refer to, in `shared`, as a tenant holds them
        from earlier runs: the helpers work from the start, and cert_mgmt replaces ours with what
        acme_client issues. Self-signed by a throwaway key of this stack, valid 90 days."""
        from devstack.pki import certificate_body, self_signed
        from udf_helpers.config import load_config

        config = load_config(os.environ)
        wanted: dict[str, str] = {}
        for row in LAB_ROWS.values():
            helper = str(row.get("pre_lambda") or "").rsplit(":", 1)[-1]
            prefix, suffix = "tops-udf-helper-", f"-pre-{ENV_NAME}"
            if helper.startswith(prefix) and helper.endswith(suffix):
                lab = helper[len(prefix) : -len(suffix)]
                definition = importlib.import_module(f"udf_helpers.labs.{lab}").DEFINITION
                context = definition.context("seed", config)
                wanted.setdefault(context.cert_name, context.domain)
        for name, domain in sorted(wanted.items()):
            issued = self_signed(f"*.{domain}", [f"*.{domain}", domain])
            self.xc.state.create_object("shared", "certificates", certificate_body(name, *issued.pem_pair))
            self.certificates.append(name)

    def seeds(self) -> list[str]:
        """One line per seeded service (docs/local-stack.md, Seeds)."""
        certificates = ", ".join(f"shared/{name}" for name in self.certificates)
        return [
            f"SSM {BASE_PATH}/: tenant-url, token-value, token-name, token-type, idm-type",
            f"XC tenant: credential {CREDENTIAL} ({self.options.credential_days_left:g} days left), "
            f"certificates {certificates}, virtual site shared/appworld2025-k8s-vsite",
            f"DynamoDB {STATE_TABLE} (empty, with its stream) and {LAB_TABLE} ({len(LAB_ROWS)} lab rows)",
            f"S3 {CERT_BUCKET} (empty), SQS {QUEUE}",
            f"Route 53 f5demos.com (_acme-challenge.{DOMAIN} CNAME {CHALLENGE_RECORD}) and "
            "challenge.f5demos.com",
        ]

    def exports(self) -> str:
        """The environment a shell needs to run workers against this stack."""
        return "\n".join(f"export {name}={value}" for name, value in sorted(self.env.items()))


@contextmanager
def running(options: StackOptions | None = None) -> Iterator[LocalStack]:
    stack = LocalStack(options).start()
    try:
        yield stack
    finally:
        stack.stop()
