"""The emulator's error table and typed errors (``devstack.xc.errors``, docs/xc-api.md §4.2)."""

from __future__ import annotations

import pytest

from devstack.xc.errors import AlreadyExistsError, ConflictError, error_body, error_for_status

# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 3), (401, 16), (403, 7), (404, 5), (409, 6), (429, 8), (500, 13), (503, 14), (504, 4)],
)
def test_error_for_status_table_status_gets_grpc_code(status: int, code: int) -> None:
    # GIVEN a status from the docs/xc-api.md §4.2 table
    # WHEN an error is built for it
    error = error_for_status(status, "boom")
    # THEN the body is gRPC-gateway shaped with the table's code
    assert error.status == status
    assert error.body() == {"code": code, "details": [], "message": "boom"}
    assert error_body(status)["code"] == code


def test_typed_errors_conflict_and_exists_have_distinct_codes() -> None:
    # GIVEN the two 409 flavours
    # WHEN their bodies are built
    # THEN "already exists" is code 6 worded as observed, and a conflict is code 10
    assert AlreadyExistsError().body() == {"code": 6, "details": [], "message": "Object already exists"}
    assert ConflictError("busy").body()["code"] == 10
    assert ConflictError("busy").status == 409
