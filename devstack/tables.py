"""The UDF pipeline's two DynamoDB tables as the infrastructure creates them (docs/deployment.md §4).

One definition for everything that makes them in moto: the local stack (`devstack.stack`) and the
tests (unit tests in `mock_aws`, integration tests on a moto server).

- The deployment state table: hash key `dep_id`; TTL on `ttl`; a stream of new and old images, which
  drives udf_worker (INSERT provisions, REMOVE tears down).
- The lab configuration table: hash key `lab_id`; one row per lab, written by Terraform.
"""

from __future__ import annotations

from typing import Any, Final

STATE_KEY: Final = "dep_id"
STATE_TTL_ATTRIBUTE: Final = "ttl"
LAB_KEY: Final = "lab_id"


def _hash_key_table(name: str, key: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def create_state_table(db: Any, name: str) -> None:
    """The deployment state table `name`, with its stream and TTL, through the DynamoDB client `db`."""
    db.create_table(
        **_hash_key_table(name, STATE_KEY),
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    db.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": STATE_TTL_ATTRIBUTE}
    )


def create_lab_table(db: Any, name: str) -> None:
    """The lab configuration table `name` (empty), through the DynamoDB client `db`."""
    db.create_table(**_hash_key_table(name, LAB_KEY))
