"""Sweep every expired deployment item, all Scan pages, deleting each only if it is still expired.

The delete repeats the Scan's filter as its condition: a heartbeat that extended `ttl` after the
Scan read the item wins, and the lab is not torn down (the original deleted unconditionally and the
lab was torn down and provisioned again 90 s later).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, Unpack

from botocore.exceptions import BotoCoreError, ClientError

from udf_clean.errors import SweepError
from udf_clean.models import SweepResult

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import DeleteItemInputTypeDef, ScanInputTypeDef

log = logging.getLogger(__name__)

CONDITION_FAILED: Final = "ConditionalCheckFailedException"
_NAMES: Final = {"#ttl": "ttl"}  # `ttl` is a DynamoDB reserved word


class DynamoDBClient(Protocol):
    """The two calls made here, with boto3-stubs' own signatures: the boto3 client fits (mypy checks it
    in function.py), and so does a test's wrapper around one."""

    def scan(self, **kwargs: Unpack[ScanInputTypeDef]) -> Mapping[str, Any]: ...

    def delete_item(self, **kwargs: Unpack[DeleteItemInputTypeDef]) -> object: ...


def sweep_expired(db: DynamoDBClient, table: str, *, now: int) -> SweepResult:
    """Delete every item whose `ttl` (epoch seconds) is below `now`.

    Raises SweepError after trying every item when some deletes failed for a reason other than the
    condition; a Scan failure propagates (nothing was lost: the next run scans again).
    """
    values = {":now": {"N": str(now)}}
    scanned = expired = deleted = skipped = 0
    failures: list[str] = []
    start: dict[str, Any] | None = None
    while True:
        kwargs: ScanInputTypeDef = {
            "TableName": table,
            "FilterExpression": "#ttl < :now",
            "ProjectionExpression": "dep_id, #ttl",
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": values,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = db.scan(**kwargs)
        scanned += int(page.get("ScannedCount", 0))
        for item in page.get("Items", []):
            expired += 1
            key = {"dep_id": item["dep_id"]}
            dep_id = item["dep_id"].get("S", "?")
            try:
                db.delete_item(
                    TableName=table,
                    Key=key,
                    ConditionExpression="#ttl < :now",
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues=values,
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == CONDITION_FAILED:
                    skipped += 1
                    log.info(
                        "expired item revived or gone before its delete; skipped", extra={"dep_id": dep_id}
                    )
                    continue
                failures.append(f"{dep_id}: {exc}")
                log.error("delete failed", extra={"dep_id": dep_id, "error": str(exc)})
                continue
            except BotoCoreError as exc:
                failures.append(f"{dep_id}: {exc}")
                log.error("delete failed", extra={"dep_id": dep_id, "error": str(exc)})
                continue
            deleted += 1
            log.info("expired deployment deleted", extra={"dep_id": dep_id})
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    result = SweepResult(scanned=scanned, expired=expired, deleted=deleted, skipped=skipped)
    if failures:
        raise SweepError(result, failures)
    log.info("sweep done", extra=dict(result.to_body()))
    return result
