"""Fixtures for the cert_mgmt integration tests."""

from __future__ import annotations

from tests.unit.cert_mgmt.conftest import output  # noqa: F401  (the log and stdout capture fixture)
