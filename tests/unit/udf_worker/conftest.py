from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.unit.udf_worker.fakes import FakeInvoker, FakeTenants, Rig, create_tables


@pytest.fixture
def rig(aws_mock: None) -> Rig:
    db: Any = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(db)
    return Rig(db=db, invoker=FakeInvoker(), tenants=FakeTenants())
