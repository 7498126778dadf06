"""The two tables, through the low-level boto3 DynamoDB client.

Every write to a state item is an UpdateItem conditioned on `attribute_exists(dep_id)`: when the item
is gone (the lab ended and the sweeper deleted it), the write fails with DeploymentGone instead of
silently re-creating a half item that nothing would ever delete. The worker never writes `ttl`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from udf_worker.errors import DeploymentGone
from udf_worker.models import DEP_ID

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import ScanInputTypeDef, UpdateItemInputTypeDef

CONDITION_FAILED: Final = "ConditionalCheckFailedException"


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer  # deferred: slow to import, needed per call

    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def serialize(value: Any) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    result: Any = TypeSerializer().serialize(value)
    return dict(result)


class StateTable:
    """The deployment state table."""

    def __init__(self, db: DynamoDBClient, table: str) -> None:
        self._db = db
        self.table = table

    def get(self, dep_id: str) -> dict[str, Any] | None:
        """The item as it is now (strongly consistent read), or None."""
        response = self._db.get_item(TableName=self.table, Key={DEP_ID: {"S": dep_id}}, ConsistentRead=True)
        item = response.get("Item")
        return deserialize(item) if item else None

    def put_marker(self, item: Mapping[str, Any]) -> None:
        """Write a retry marker (udf_worker.redrive), replacing an earlier one of the same deployment.
        Never used for a deployment item."""
        self._db.put_item(TableName=self.table, Item={k: serialize(v) for k, v in item.items()})

    def update(
        self,
        dep_id: str,
        *,
        set_: Mapping[str, Any] | None = None,
        set_if_absent: Mapping[str, Any] | None = None,
        add: Mapping[str, Iterable[str]] | None = None,
        remove: Sequence[str] = (),
    ) -> None:
        """One conditional UpdateItem. `add` unions string sets (idempotent); empty sets are left out.

        Raises DeploymentGone when the item does not exist.
        """
        names: dict[str, str] = {}
        values: dict[str, Any] = {}

        def alias(attribute: str) -> str:
            key = f"#a{len(names)}"
            names[key] = attribute
            return key

        def value(v: Any) -> str:
            key = f":v{len(values)}"
            values[key] = serialize(v)
            return key

        sets = [f"{alias(k)} = {value(v)}" for k, v in (set_ or {}).items()]
        for k, v in (set_if_absent or {}).items():
            name = alias(k)
            sets.append(f"{name} = if_not_exists({name}, {value(v)})")
        adds = [f"{alias(k)} {value(set(v))}" for k, v in (add or {}).items() if v]
        removes = [alias(k) for k in remove]
        clauses = []
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if adds:
            clauses.append("ADD " + ", ".join(adds))
        if removes:
            clauses.append("REMOVE " + ", ".join(removes))
        if not clauses:
            return
        kwargs: UpdateItemInputTypeDef = {
            "TableName": self.table,
            "Key": {DEP_ID: {"S": dep_id}},
            "UpdateExpression": " ".join(clauses),
            "ConditionExpression": "attribute_exists(#key)",
            "ExpressionAttributeNames": {**names, "#key": DEP_ID},
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._db.update_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == CONDITION_FAILED:
                raise DeploymentGone(dep_id) from exc
            raise

    def scan(self, attributes: Sequence[str]) -> Iterator[dict[str, Any]]:
        """Every item, every page, with only `attributes` (deserialized)."""
        names = {f"#p{i}": a for i, a in enumerate(attributes)}
        start: dict[str, Any] | None = None
        while True:
            kwargs: ScanInputTypeDef = {
                "TableName": self.table,
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._db.scan(**kwargs)
            for item in page.get("Items", []):
                yield deserialize(item)
            start = page.get("LastEvaluatedKey")
            if not start:
                return


class LabTable:
    """The lab configuration table (read only)."""

    def __init__(self, db: DynamoDBClient, table: str) -> None:
        self._db = db
        self.table = table

    def get(self, lab_id: str) -> dict[str, Any] | None:
        response = self._db.get_item(TableName=self.table, Key={"lab_id": {"S": lab_id}})
        item = response.get("Item")
        return deserialize(item) if item else None
