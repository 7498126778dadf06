"""Recording a heartbeat in the deployment state table with conditional writes only.

- First heartbeat: PutItem conditioned on `attribute_not_exists(dep_id)`. Exactly one of any number
  of concurrent first deliveries creates the item; the INSERT it streams is what provisions the lab.
- Later heartbeats: UpdateItem of `ttl`, `expiration` and `updated_at` only, conditioned on
  `attribute_exists(dep_id)`, so the step fields the worker wrote are never touched.
- If the item vanished between the two (the sweeper deleted it: the lab had expired), the put is
  tried once more: the lab is alive again and is provisioned again, as after a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, Unpack

from botocore.exceptions import ClientError

from shared.errors import InputError, RetryableError
from udf_dispatch.models import Heartbeat, Outcome, parse_heartbeat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import PutItemInputTypeDef, UpdateItemInputTypeDef

log = logging.getLogger(__name__)

STARTING: Final = "STARTING"
CONDITION_FAILED: Final = "ConditionalCheckFailedException"
# Identity fields: written once on insert; a later heartbeat that disagrees is only reported.
_IDENTITY: Final = ("lab_id", "email", "petname")


class DynamoDBClient(Protocol):
    """The two calls made here, with boto3-stubs' own signatures: the boto3 client fits (mypy checks it
    in function.py), and so does a test's wrapper around one."""

    def put_item(self, **kwargs: Unpack[PutItemInputTypeDef]) -> object: ...

    def update_item(self, **kwargs: Unpack[UpdateItemInputTypeDef]) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Stamps:
    """The time attributes of one heartbeat, in the formats of docs/deployment.md §4.1."""

    created_at: str  # ISO-8601 UTC without zone suffix, microseconds
    ttl: int  # epoch seconds: now + extension
    expiration: str  # "YYYY-MM-DD HH:MM:SS UTC", the same instant as ttl
    updated_at: int  # epoch seconds: now

    @classmethod
    def at(cls, now: dt.datetime, extension: int) -> Stamps:
        utc = now.astimezone(dt.UTC)
        epoch = int(utc.timestamp())
        ttl = epoch + extension
        return cls(
            created_at=utc.replace(tzinfo=None).isoformat(timespec="microseconds"),
            ttl=ttl,
            expiration=dt.datetime.fromtimestamp(ttl, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            updated_at=epoch,
        )


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == CONDITION_FAILED


def handle_message(
    db: DynamoDBClient, table: str, message_id: str, body: str | None, *, now: dt.datetime, ttl_extension: int
) -> Outcome:
    """Validate one SQS message and record it.

    An invalid message is permanent: it is logged with its message id and the field at fault and
    counted as handled (redelivering it could never succeed). Anything else that fails is raised, so
    the record is reported failed and SQS redelivers it.
    """
    try:
        heartbeat = parse_heartbeat(body)
    except InputError as exc:
        log.error(
            "heartbeat rejected", extra={"message_id": message_id, "field": exc.field, "reason": str(exc)}
        )
        return Outcome.REJECTED
    return record_heartbeat(db, table, heartbeat, now=now, ttl_extension=ttl_extension)


def record_heartbeat(
    db: DynamoDBClient, table: str, heartbeat: Heartbeat, *, now: dt.datetime, ttl_extension: int
) -> Outcome:
    """Insert the deployment's state item, or extend its ttl if it exists.

    Raises RetryableError when the item keeps appearing and vanishing under us, and lets any other
    DynamoDB error (throttling after the SDK's own retries, a missing table) propagate: the message
    is then redelivered.
    """
    stamps = Stamps.at(now, ttl_extension)
    for _ in range(2):
        if _insert(db, table, heartbeat, stamps):
            log.info(
                "deployment started",
                extra={
                    "dep_id": heartbeat.dep_id,
                    "lab_id": heartbeat.lab_id,
                    "petname": heartbeat.petname,
                    "ttl": stamps.ttl,
                },
            )
            return Outcome.INSERTED
        old = _extend(db, table, heartbeat, stamps)
        if old is not None:
            _report_mismatch(heartbeat, old)
            log.debug("heartbeat", extra={"dep_id": heartbeat.dep_id, "ttl": stamps.ttl})
            return Outcome.EXTENDED
        log.info(
            "state item vanished between insert and update; inserting again",
            extra={"dep_id": heartbeat.dep_id},
        )
    raise RetryableError(f"state item {heartbeat.dep_id} kept changing under the heartbeat")


def _insert(db: DynamoDBClient, table: str, heartbeat: Heartbeat, stamps: Stamps) -> bool:
    """PutItem unless the item exists; False when it exists."""
    try:
        db.put_item(
            TableName=table,
            Item={
                "dep_id": {"S": heartbeat.dep_id},
                "lab_id": {"S": heartbeat.lab_id},
                "email": {"S": heartbeat.email},
                "petname": {"S": heartbeat.petname},
                "deployment_status": {"S": STARTING},
                "created_at": {"S": stamps.created_at},
                "ttl": {"N": str(stamps.ttl)},
            },
            ConditionExpression="attribute_not_exists(dep_id)",
        )
    except ClientError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True


def _extend(db: DynamoDBClient, table: str, heartbeat: Heartbeat, stamps: Stamps) -> dict[str, Any] | None:
    """Move ttl, expiration and updated_at; return the old identity fields, or None if the item is gone."""
    try:
        response = db.update_item(
            TableName=table,
            Key={"dep_id": {"S": heartbeat.dep_id}},
            UpdateExpression="SET #ttl = :ttl, expiration = :exp, updated_at = :now",
            ConditionExpression="attribute_exists(dep_id)",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={
                ":ttl": {"N": str(stamps.ttl)},
                ":exp": {"S": stamps.expiration},
                ":now": {"N": str(stamps.updated_at)},
            },
            ReturnValues="ALL_OLD",
        )
    except ClientError as exc:
        if _condition_failed(exc):
            return None
        raise
    old: dict[str, Any] = response.get("Attributes") or {}
    return old


def _report_mismatch(heartbeat: Heartbeat, old: dict[str, Any]) -> None:
    """A heartbeat naming another lab, learner or petname for a known dep_id is kept out of the item."""
    differs = [name for name in _IDENTITY if name in old and old[name].get("S") != getattr(heartbeat, name)]
    if differs:
        log.warning(
            "heartbeat disagrees with the stored deployment; stored values kept",
            extra={"dep_id": heartbeat.dep_id, "fields": differs},
        )
