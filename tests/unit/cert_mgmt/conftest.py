"""Fixtures for the cert_mgmt unit tests: one tiny PKI and one leaf per test module."""

from __future__ import annotations

import pytest

from devstack.pki import Issued, TinyPKI
from tests.fixtures.pki import NAMES


@pytest.fixture(scope="module")
def pki() -> TinyPKI:
    return TinyPKI(names=NAMES)


@pytest.fixture(scope="module")
def issued(pki: TinyPKI) -> Issued:
    return pki.issue()
