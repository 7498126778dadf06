"""Fixtures for the emulator's model tests."""

from __future__ import annotations

import pytest

from devstack.xc.models import XCState
from tests.fixtures.xc import namespace_body


@pytest.fixture
def pet_ns(xc_state: XCState) -> str:
    """The namespace ``pet-one``, created and visible."""
    xc_state.create_namespace(namespace_body("pet-one"))
    return "pet-one"
