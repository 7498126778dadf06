"""Hand-written floors for the cold-start benchmark: the AWS and XC calls each worker has to make, with
boto3 and urllib and nothing else (no validation, no retries, no logging library, no error policy).

`bench/cold_start.py` copies this file into its own folder and runs `lambda_handler`-shaped functions
from it in a fresh interpreter, exactly as it runs the zips, interleaved with them. Clients are made
inside the call, as the workers make theirs, so that the import and first-call parts compare too.
This module is run by the target runtime's Python with only the runtime's packages on its path: it
must not import anything from this repository.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from typing import Any

import boto3


def _params(base: str, *names: str, decrypt: bool = True) -> dict[str, str]:
    found = boto3.client("ssm").get_parameters(Names=[f"{base}/{n}" for n in names], WithDecryption=decrypt)
    return {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in found["Parameters"]}


def _xc(method: str, tenant: dict[str, str], path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        tenant["tenant-url"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"APIToken {tenant['token-value']}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else {}


def ns_create(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SSM (URL and token), POST the namespace with its owner label, GET it once (visible at once)."""
    tenant = _params(event["ssm_base_path"], "tenant-url", "token-value")
    name = event["namespace_name"]
    _xc(
        "POST",
        tenant,
        "/api/web/namespaces",
        {
            "metadata": {
                "name": name,
                "namespace": "",
                "description": event.get("description", ""),
                "labels": {"tops-dep-id": event["owner"]},
                "annotations": {},
                "disable": False,
            },
            "spec": {},
        },
    )
    body = _xc("GET", tenant, f"/api/web/namespaces/{name}")
    assert body["metadata"]["labels"]["tops-dep-id"] == event["owner"]
    return {"statusCode": 200, "body": {"namespace": name, "owner": event["owner"], "created": True}}


def user_create(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SSM (URL, token, idm-type), then POST the user with its roles and groups."""
    tenant = _params(event["ssm_base_path"], "tenant-url", "token-value", "idm-type")
    _xc(
        "POST",
        tenant,
        "/api/web/custom/namespaces/system/user_roles",
        {
            "name": event["email"],
            "email": event["email"],
            "first_name": event["first_name"],
            "last_name": event["last_name"],
            "namespace": "system",
            "idm_type": tenant["idm-type"],
            "type": "USER",
            "namespace_roles": event.get("namespace_roles", []),
            "group_names": event.get("group_names", []),
        },
    )
    return {"statusCode": 200, "body": {"email": event["email"], "created": True}}


def token_refresh(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SSM (four parameters, uncached), read the credential, renew it, read the new expiry back, and print
    one metrics line."""
    tenant = _params(os.environ["SSM_BASE_PATH"], "tenant-url", "token-value", "token-name", "token-type")
    kind = {"svccred": "service_credentials", "apicred": "api_credentials"}[tenant["token-type"]]
    path = f"/api/web/namespaces/system/{kind}/{tenant['token-name']}"
    before = _xc("GET", tenant, path)
    _xc(
        "POST",
        tenant,
        f"/api/web/namespaces/system/renew/{kind}",
        {"name": tenant["token-name"], "namespace": "system", "expiration_days": 7},
    )
    after = _xc("GET", tenant, path)
    print(json.dumps({"_aws": {"CloudWatchMetrics": []}, "CredentialRenewed": 1}))
    return {"statusCode": 200, "body": {"renewed": after != before}}


def udf_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An INSERT (a batch of one): the item and the lab row, the tenant URL, then ns_create, the account
    lookup, user_create and the lab's pre_lambda, each started by one conditional write (the last one
    records COMPLETED)."""
    db, lam = boto3.client("dynamodb"), boto3.client("lambda")
    table, key = os.environ["DEPLOYMENT_STATE_TABLE"], event["Records"][0]["dynamodb"]["Keys"]
    item = db.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    lab = db.get_item(TableName=os.environ["LAB_CONFIGURATION_TABLE"], Key={"lab_id": item["lab_id"]})
    row = lab["Item"]
    base, email, pet = row["ssm_base_path"]["S"], item["email"]["S"], item["petname"]["S"]
    url = _params(base, "tenant-url", decrypt=False)["tenant-url"]
    roles = [
        {"namespace": r["M"]["namespace"]["S"], "role": r["M"]["role"]["S"]}
        for r in row["namespace_roles"]["L"]
    ] + [{"namespace": pet, "role": "ves-io-admin-role"}]
    groups = [g["S"] for g in row["group_names"]["L"]]

    def write(expression: str, **values: Any) -> None:
        db.update_item(
            TableName=table,
            Key=key,
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(dep_id)",
            ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
        )

    def invoke(function: str, payload: dict[str, Any]) -> Any:
        answer = lam.invoke(FunctionName=function, Payload=json.dumps(payload))["Payload"].read()
        body = json.loads(answer)
        assert body["statusCode"] == 200, body
        return body["body"]

    user = os.environ["USER_CREATE_LAMBDA_FUNCTION"]
    write(
        "SET deployment_status = :p, tenant_url = :u, ssm_base_path = :b, create_namespace = :p",
        p={"S": "IN_PROGRESS"},
        u={"S": url},
        b={"S": base},
    )
    invoke(
        os.environ["NS_CREATE_LAMBDA_FUNCTION"],
        {"ssm_base_path": base, "namespace_name": pet, "owner": key["dep_id"]["S"]},
    )
    found = invoke(user, {"ssm_base_path": base, "email": email, "lookup": True})
    write(
        "SET create_namespace = :s, create_user = :p, user_preexisting = :e "
        "ADD user_added_roles :r, user_added_groups :g",
        s={"S": "SUCCESS"},
        p={"S": "IN_PROGRESS"},
        e={"BOOL": found["exists"]},
        r={"SS": [f"{r['namespace']}/{r['role']}" for r in roles]},
        g={"SS": groups},
    )
    invoke(
        user,
        {
            "ssm_base_path": base,
            "first_name": "Lab User",
            "last_name": key["dep_id"]["S"][:8],
            "email": email,
            "group_names": groups,
            "namespace_roles": roles,
        },
    )
    write("SET create_user = :s, pre_lambda = :p", s={"S": "SUCCESS"}, p={"S": "IN_PROGRESS"})
    invoke(row["pre_lambda"]["S"], {"ssm_base_path": base, "petname": pet, "email": email})
    write("SET pre_lambda = :s, deployment_status = :c", s={"S": "SUCCESS"}, c={"S": "COMPLETED"})
    return {"batchItemFailures": []}


def acme_client(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A certificate that is not due: the S3 reads of the run, then one directory GET on a new TLS
    connection (the floor of issue 12; the run itself also asks renewalInfo)."""
    s3, bucket, name = boto3.client("s3"), os.environ["S3_BUCKET"], os.environ["CERT_NAME"]
    for key in (
        f"{name}/fullchain.pem",
        f"{name}/privkey.pem",
        f"_acme/certs/{name}.json",
        f"_acme/state/{name}.json",
    ):
        s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    tls = ssl.create_default_context(cafile=os.environ["ACME_CA_BUNDLE"])
    with urllib.request.urlopen(os.environ["ACME_DIRECTORY_URL"], context=tls, timeout=10) as response:
        directory = json.loads(response.read())
    return {"statusCode": 200, "body": {"action": "valid", "ca": sorted(directory)[:1]}}
