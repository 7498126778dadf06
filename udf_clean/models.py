"""The sweep's result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict


class SweepBody(TypedDict):
    scanned: int
    expired: int
    deleted: int
    skipped: int


@dataclass(frozen=True, slots=True)
class SweepResult:
    """`scanned`: items the Scan read; `expired`: those with `ttl` in the past; `deleted`: removed here;
    `skipped`: not removed because a heartbeat moved their `ttl` (or something else removed them) first."""

    scanned: int = 0
    expired: int = 0
    deleted: int = 0
    skipped: int = 0

    def to_body(self) -> SweepBody:
        return {
            "scanned": self.scanned,
            "expired": self.expired,
            "deleted": self.deleted,
            "skipped": self.skipped,
        }
