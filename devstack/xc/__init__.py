"""A faithful fake F5 Distributed Cloud (XC) tenant for tests and the devstack."""

from __future__ import annotations

from devstack.xc.faults import DROP, Faults, RequestRecord
from devstack.xc.inprocess import InProcessXC
from devstack.xc.models import DEFAULT_TENANT, CredentialInfo, XCConfig, XCState
from devstack.xc.server import XCServer

__all__ = [
    "DEFAULT_TENANT",
    "DROP",
    "CredentialInfo",
    "Faults",
    "InProcessXC",
    "RequestRecord",
    "XCConfig",
    "XCServer",
    "XCState",
]
