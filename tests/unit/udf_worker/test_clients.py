from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from shared.deadline import Deadline
from shared.errors import ConfigError
from shared.invoke import CalleeError
from udf_worker.clients import LambdaInvoker, SsmTenants

FN = "arn:aws:lambda:us-east-1:123456789012:function:tops-ns-create-test"


class FakeLambda:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.outcome).encode())}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "Invoke")


def test_lambda_invoker_success_returns_body() -> None:
    invoker = LambdaInvoker(FakeLambda({"statusCode": 200, "body": {"ok": 1}}))
    assert invoker.invoke(FN, {}, deadline=Deadline.after(30)) == {"ok": 1}


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (client_error("ResourceNotFoundException"), False),
        (client_error("AccessDeniedException"), False),
        (client_error("TooManyRequestsException"), True),
        (client_error("ServiceException"), True),
        (ReadTimeoutError(endpoint_url="http://lambda"), True),
    ],
)
def test_lambda_invoker_sdk_errors_become_callee_errors(error: Exception, retryable: bool) -> None:
    with pytest.raises(CalleeError) as caught:
        LambdaInvoker(FakeLambda(error)).invoke(FN, {}, deadline=Deadline.after(30))

    assert caught.value.retryable is retryable
    assert "tops-ns-create-test" in str(caught.value)


@pytest.fixture
def ssm(aws_mock: None) -> Any:
    return boto3.client("ssm", region_name="us-east-1")


def test_ssm_tenants_reads_and_normalises_url(ssm: Any) -> None:
    ssm.put_parameter(Name="/tenantOps/sec-lab/tenant-url", Value=" https://sec.example/ ", Type="String")

    assert SsmTenants().tenant_url("/tenantOps/sec-lab") == "https://sec.example"


def test_ssm_tenants_missing_parameter_is_config_error_naming_it(ssm: Any) -> None:
    with pytest.raises(ConfigError, match="/tenantOps/sec-lab/tenant-url"):
        SsmTenants().tenant_url("/tenantOps/sec-lab")


def test_ssm_tenants_not_a_url_is_config_error(ssm: Any) -> None:
    ssm.put_parameter(Name="/tenantOps/sec-lab/tenant-url", Value="sec.example", Type="String")

    with pytest.raises(ConfigError, match="https URL"):
        SsmTenants().tenant_url("/tenantOps/sec-lab")
