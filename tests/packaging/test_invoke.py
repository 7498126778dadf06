"""The built acme_client and cert_mgmt zips, invoked for real under each Lambda runtime's Python and
with the oldest and the newest supported SDK.

Each invocation runs in a fresh interpreter (-I -S -B) whose path is the unzipped zip, then the SDK
folder, then the standard library: what Lambda gives the function. Around it runs the local
stack: moto in server mode (S3, Route 53, SSM, reached through AWS_ENDPOINT_URL), the devstack DNS
server answering from moto's Route 53, Pebble validating DNS-01 for real, and the XC emulator.
acme_client issues the wildcard certificate into the bucket (account created with a conditional
write, TXT values written and removed, the pair published), then cert_mgmt, fed the S3 event of
the published chain, creates that certificate in the tenant's `shared` namespace.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from devstack.dns import DNSServer
from devstack.pebble import Pebble
from devstack.xc import XCServer
from scripts.package import Built, Deployable, Runtime, load_manifest, select
from tests.fixtures.acme import BUCKET, CERT_NAME, seed_acme
from tests.fixtures.aws import MotoServer
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from tests.fixtures.xc import XC_TOKEN

from .support import SDK, BuildCache, isolated_env

pytestmark = pytest.mark.packaging

# The function's view: the zip first, then the runtime's SDK. Logs go to stdout as in Lambda; the
# result is the last line, after a marker. The context counts down from the function's timeout.
INVOKE_PROBE = """
import json, sys, time, uuid
tree, sdk, event_path, name, timeout = sys.argv[1:6]
sys.path[:0] = [tree, sdk]

class Context:
    function_name = name
    memory_limit_in_mb = 128
    aws_request_id = str(uuid.uuid4())
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
    log_group_name = "/aws/lambda/" + name
    log_stream_name = "local"
    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds
    def get_remaining_time_in_millis(self):
        return max(0, int((self.deadline - time.monotonic()) * 1000))

import function
with open(event_path) as stream:
    event = json.load(stream)
result = function.lambda_handler(event, Context(float(timeout)))
import botocore, _cffi_backend
print("@@RESULT@@" + json.dumps({
    "result": result,
    "botocore": (botocore.__version__, botocore.__file__),
    "cffi_backend": _cffi_backend.__file__,
}, default=str))
"""
MARKER = "@@RESULT@@"


def _unzip(built: Built, dest: Path) -> Path:
    if not dest.exists():
        with zipfile.ZipFile(built.path) as archive:
            archive.extractall(dest)
    return dest


def _invoke(
    python: Path, tree: Path, sdk: SDK, event: dict[str, Any], name: str, env: dict[str, str], work: Path
) -> dict[str, Any]:
    event_path = work / f"{name}-event.json"
    event_path.write_text(json.dumps(event))
    command = [
        *(str(python), "-I", "-S", "-B", "-c", INVOKE_PROBE),
        *(str(tree), str(sdk.path), str(event_path), name, "180"),
    ]
    result = subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, cwd=tree, timeout=300
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    assert result.returncode == 0 and lines, (
        f"{name} failed (exit {result.returncode})\n"
        f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    )
    report: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return report


@pytest.fixture(scope="module")
def deployables() -> dict[str, Deployable]:
    return {d.name: d for d in select(load_manifest(), ["acme_client", "cert_mgmt"])}


def test_acme_client_issues_and_cert_mgmt_pushes_it_to_xc(
    lambda_runtime: Runtime,
    python: Path,
    sdk: SDK,
    deployables: dict[str, Deployable],
    builds: BuildCache,
    _moto_server_session: MotoServer,
    acme_dns_server: DNSServer,
    pebble: Pebble,
    xc_server: XCServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # GIVEN both zips unzipped, an empty account in moto (bucket, zones, the challenge CNAME) and
    # an empty tenant whose URL and token are in SSM
    moto = _moto_server_session
    moto.reset()
    acme_tree = _unzip(builds.get(deployables["acme_client"]), tmp_path_factory.getbasetemp() / "invoke-acme")
    cert_tree = _unzip(builds.get(deployables["cert_mgmt"]), tmp_path_factory.getbasetemp() / "invoke-cert")
    seeded = seed_acme(moto, acme_dns_server, pebble, monkeypatch)
    seed_tenant(moto.client("ssm"), xc_server.url, XC_TOKEN)
    aws = {
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }

    # WHEN acme_client runs on its schedule event
    acme = _invoke(
        python,
        acme_tree,
        sdk,
        load_event("acme_client_schedule"),
        "tops-acme-client-mcn",
        isolated_env(tmp_path, **aws, **seeded.env, AWS_LAMBDA_FUNCTION_NAME="tops-acme-client-mcn"),
        tmp_path,
    )
    # THEN it issued, with the runtime's SDK at the version under test and its own native modules
    assert acme["result"]["statusCode"] == 200, acme["result"]
    assert acme["result"]["body"]["action"] == "issued"
    assert acme["botocore"][0] == sdk.version
    assert acme["botocore"][1].startswith(str(sdk.path))
    tag = lambda_runtime.version.replace(".", "")
    assert Path(acme["cffi_backend"]).name.startswith(f"_cffi_backend.cpython-{tag}-")
    assert acme["cffi_backend"].startswith(str(acme_tree))
    keys = set(seeded.objects())
    assert {f"{CERT_NAME}/privkey.pem", f"{CERT_NAME}/fullchain.pem"} <= keys
    assert any(key.startswith("_acme/accounts/") for key in keys)
    assert seeded.txt_values() == []

    # WHEN cert_mgmt receives the S3 event of the published chain
    event = load_event("cert_mgmt_fullchain")
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    event["Records"][0]["s3"]["object"]["key"] = f"{CERT_NAME}/fullchain.pem"
    cert = _invoke(
        python,
        cert_tree,
        sdk,
        event,
        "tops-cert-mgmt-mcn",
        isolated_env(
            tmp_path,
            **aws,
            SSM_BASE_PATH=TEST_BASE_PATH,
            S3_BUCKET=BUCKET,
            CERT_NAME=CERT_NAME,
            AWS_LAMBDA_FUNCTION_NAME="tops-cert-mgmt-mcn",
        ),
        tmp_path,
    )
    # THEN the tenant holds exactly the published pair under the certificate's name
    assert cert["result"]["statusCode"] == 200, cert["result"]
    assert cert["result"]["body"]["action"] == "created"
    chain, key = xc_server.state.certificate_material("shared", CERT_NAME)
    assert chain == seeded.get(f"{CERT_NAME}/fullchain.pem")
    assert key == seeded.get(f"{CERT_NAME}/privkey.pem")
