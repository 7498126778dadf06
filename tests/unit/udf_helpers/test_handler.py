"""A lab's lambda_handler: payload and config errors, the 200 result, retryable errors, secrets."""

from __future__ import annotations

import functools
import json
import re

import boto3
import pytest
import responses

from shared import tenant as shared_tenant
from shared.xc.client import XCClient
from shared.xc.errors import XCServerError
from tests.conftest import load_event
from tests.fixtures.lambda_context import TEST_BASE_PATH, seed_tenant
from udf_helpers.labs import apilab, botlab

TENANT = "https://tenant.example.com"
TOKEN = "canary-token-udf-helpers-9f8e7d"
CONFIG = f"{TENANT}/api/config/namespaces/ample-gull"


@pytest.fixture
def tenant(aws_mock, monkeypatch):
    monkeypatch.setenv("ENV", "prod")
    seed_tenant(boto3.client("ssm"), TENANT, TOKEN)
    return TEST_BASE_PATH


def _not_found(rsps, url):
    rsps.add(responses.GET, url, status=404, json={"code": 5, "details": [], "message": "not found"})


def test_handler_bad_petname_is_a_400_naming_the_field(lambda_context, monkeypatch):
    monkeypatch.setenv("ENV", "prod")
    result = apilab.lambda_handler(load_event("udf_helpers_bad_petname"), lambda_context)
    assert result["statusCode"] == 400
    assert result["body"]["field"] == "petname" and result["body"]["retryable"] is False


def test_handler_missing_env_is_a_config_error(lambda_context, monkeypatch):
    monkeypatch.delenv("ENV", raising=False)
    result = apilab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    assert result["statusCode"] == 500
    assert result["body"]["error"] == "ConfigError" and "ENV" in result["body"]["message"]


def test_handler_missing_ssm_parameters_is_a_config_error_naming_them(aws_mock, lambda_context, monkeypatch):
    monkeypatch.setenv("ENV", "prod")
    result = apilab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    assert result["statusCode"] == 500
    assert f"{TEST_BASE_PATH}/tenant-url" in result["body"]["message"]


@responses.activate
def test_handler_creates_pool_then_lb_and_returns_200(tenant, lambda_context):
    # GIVEN an empty petname namespace (GET 404, then the pool shows once created)
    _not_found(responses, f"{CONFIG}/origin_pools/ample-gull-origin")
    responses.add(responses.POST, f"{CONFIG}/origin_pools", json={})
    responses.add(responses.GET, f"{CONFIG}/origin_pools/ample-gull-origin",
                  json={"metadata": {}, "spec": {}})
    _not_found(responses, f"{CONFIG}/http_loadbalancers/ample-gull-lb")
    responses.add(responses.POST, f"{CONFIG}/http_loadbalancers", json={})
    # WHEN the botlab helper runs
    result = botlab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    # THEN both objects are created, the LB after the pool was seen, with the SSM token
    assert result == {"statusCode": 200, "body": {"lab": "botlab", "action": "create", "objects": [
        {"type": "origin_pools", "name": "ample-gull-origin", "result": "created"},
        {"type": "http_loadbalancers", "name": "ample-gull-lb", "result": "created"},
    ]}}
    calls = [(c.request.method, c.request.url.rsplit("/", 1)[-1]) for c in responses.calls]
    assert calls == [("GET", "ample-gull-origin"), ("POST", "origin_pools"), ("GET", "ample-gull-origin"),
                     ("GET", "ample-gull-lb"), ("POST", "http_loadbalancers")]
    assert responses.calls[1].request.headers["Authorization"] == f"APIToken {TOKEN}"
    lb = json.loads(responses.calls[4].request.body)
    assert lb["spec"]["domains"] == ["ample-gull.lab-sec.f5demos.com"]


@responses.activate
def test_handler_remove_action(tenant, lambda_context):
    responses.add(responses.DELETE, f"{CONFIG}/http_loadbalancers/ample-gull-lb", json={})
    responses.add(responses.DELETE, f"{CONFIG}/origin_pools/ample-gull-origin", status=404,
                  json={"code": 5, "details": [], "message": "not found"})
    result = apilab.lambda_handler(load_event("udf_helpers_remove"), lambda_context)
    assert result["statusCode"] == 200
    assert [o["result"] for o in result["body"]["objects"]] == ["removed", "absent"]


@responses.activate
def test_handler_permanent_xc_error_is_a_non_200_result(tenant, lambda_context):
    # GIVEN the namespace does not exist: create answers 404
    _not_found(responses, f"{CONFIG}/origin_pools/ample-gull-origin")
    responses.add(responses.POST, f"{CONFIG}/origin_pools", status=404,
                  json={"code": 5, "details": [], "message": "namespace not found"})
    result = apilab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    assert result["statusCode"] == 502
    assert result["body"]["status"] == 404 and result["body"]["retryable"] is False


@responses.activate
def test_handler_retryable_error_is_raised_and_token_never_logged(tenant, lambda_context, monkeypatch,
                                                                  worker_output):
    # GIVEN XC keeps answering 503 (and the client's backoff does not really sleep)
    monkeypatch.setattr(shared_tenant, "XCClient", functools.partial(XCClient, sleep=lambda s: None))
    responses.add(responses.GET, re.compile(rf"{CONFIG}/.*"), status=503,
                  json={"code": 14, "details": [], "message": f"unavailable APIToken {TOKEN}"})
    output = worker_output("udf_helpers")
    # WHEN the handler runs with every logger at DEBUG
    with pytest.raises(XCServerError):
        apilab.lambda_handler(load_event("udf_helpers_create"), lambda_context)
    # THEN the failure is raised (so the caller retries) and the token is nowhere in the logs
    text = output()
    assert "xc call will be retried" in text and "failed, retryable" in text
    assert TOKEN not in text
