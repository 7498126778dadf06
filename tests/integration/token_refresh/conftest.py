"""Fixtures for the token_refresh integration tests."""

from __future__ import annotations

from tests.unit.token_refresh.conftest import output  # noqa: F401  (the log and stdout capture fixture)
