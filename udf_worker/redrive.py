"""Trying a failed deployment again later, with the infrastructure as deployed.

The deployed stream mapping never retries a record (maximum retry attempts 0, no destination), so a
transient failure raised "for the stream to retry" would be the end of it. Instead, the worker
writes a retry marker into the state table: an item keyed `<dep_id>#retry` whose `ttl` lies a little
in the future. udf_clean, which deletes every item whose `ttl` has passed once a minute, deletes the
marker in time, and the marker's REMOVE record brings the worker back to the deployment:

- `provision`: provisioning runs again from the item's current state (done steps are skipped), unless
  the deployment completed, failed permanently or ended meanwhile;
- `teardown`: teardown runs again from the old image the marker carries, unless the deployment is
  back in the table (restarted with the same `dep_id`), whose own REMOVE will tear it down.

Markers need no permission beyond the deployed ones (the worker's PutItem, the cleaner's sweep), never
re-create or touch the deployment item, and are ignored when they are inserted. Waits double from
one minute up to fifteen; after `max_attempts` the worker gives up and says so in an error log.
When the stream does retry, both paths run; every step is idempotent, so the later one finds the work
done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from udf_worker.clients import Worker

log = logging.getLogger(__name__)

SEPARATOR: Final = "#"  # never part of a deployment id (shared.names.deployment_id)
SUFFIX: Final = SEPARATOR + "retry"
FIRST_DELAY_S: Final = 60
MAX_DELAY_S: Final = 900

# Marker attributes.
RETRY_OF: Final = "retry_of"
RETRY_ACTION: Final = "retry_action"
RETRY_ATTEMPT: Final = "retry_attempt"
RETRY_IMAGE: Final = "retry_image"

Action = Literal["provision", "teardown"]


def is_marker(key: str) -> bool:
    return SEPARATOR in key


def marker_key(dep_id: str) -> str:
    return dep_id + SUFFIX


def delay_s(attempt: int) -> int:
    """Wait before retry number `attempt` (1-based): 60 s, doubling, at most 15 minutes."""
    return int(min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class Retry:
    """A marker's content: what to do again, for which deployment, and which attempt this is."""

    dep_id: str
    action: Action
    attempt: int
    image: Mapping[str, Any] | None = None

    @classmethod
    def from_image(cls, image: Mapping[str, Any]) -> Retry | None:
        """The retry a marker's old image describes; None for anything malformed (logged)."""
        dep_id, action, attempt = image.get(RETRY_OF), image.get(RETRY_ACTION), image.get(RETRY_ATTEMPT)
        retry_image = image.get(RETRY_IMAGE)
        if not isinstance(dep_id, str) or action not in ("provision", "teardown") or attempt is None:
            log.error("retry marker is malformed; ignored", extra={"marker": image.get("dep_id")})
            return None
        return cls(
            dep_id=dep_id,
            action=action,
            attempt=int(attempt),
            image=retry_image if isinstance(retry_image, Mapping) else None,
        )

    def to_item(self, now: float) -> dict[str, Any]:
        item: dict[str, Any] = {
            "dep_id": marker_key(self.dep_id),
            RETRY_OF: self.dep_id,
            RETRY_ACTION: self.action,
            RETRY_ATTEMPT: self.attempt,
            "ttl": int(now) + delay_s(self.attempt),
        }
        if self.image is not None:
            item[RETRY_IMAGE] = dict(self.image)
        return item


def schedule(worker: Worker, retry: Retry) -> bool:
    """Write the marker for `retry`; False (and an error log) when the attempts are used up."""
    if retry.attempt > worker.max_retries:
        log.error(
            "giving up: transient failures persisted through every retry",
            extra={"dep_id": retry.dep_id, "action": retry.action, "attempts": worker.max_retries},
        )
        return False
    worker.state.put_marker(retry.to_item(worker.now()))
    log.info(
        "retry scheduled",
        extra={
            "dep_id": retry.dep_id,
            "action": retry.action,
            "attempt": retry.attempt,
            "in_s": delay_s(retry.attempt),
        },
    )
    return True
