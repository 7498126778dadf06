"""One stream change -> provision (INSERT), tear down (REMOVE) or ignore (MODIFY).

A retry marker's REMOVE (udf_worker.redrive) runs the provisioning or teardown it stands for again;
its INSERT is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.errors import InputError
from udf_worker import redrive
from udf_worker.clients import Worker
from udf_worker.errors import TeardownError
from udf_worker.models import DeploymentState, StreamChange
from udf_worker.provision import provision
from udf_worker.teardown import teardown

log = logging.getLogger(__name__)


def stream_change(record: Any) -> StreamChange:
    """Reduce a Powertools `DynamoDBRecord` to a StreamChange. Raises InputError without a dep_id key."""
    name = record.event_name.name if record.event_name is not None else ""
    stream = record.dynamodb
    if stream is None:
        raise InputError("dynamodb", "missing from the stream record")
    dep_id = stream.keys.get("dep_id")
    if not isinstance(dep_id, str) or not dep_id:
        raise InputError("dynamodb.Keys.dep_id", f"must be a non-empty string, got {dep_id!r:.80}")
    old = stream.old_image if name == "REMOVE" else None
    return StreamChange(
        event_name=name, dep_id=dep_id, old_image=old or None, sequence_number=stream.sequence_number
    )


def handle_change(change: StreamChange, worker: Worker) -> str:
    """Act on one change; return what happened (for the log and the tests).

    Raises StepError or TeardownError (retryable or not) so the record is reported failed; raises
    InputError for a REMOVE without an old image (the stream must be NEW_AND_OLD_IMAGES).
    """
    if change.event_name not in ("INSERT", "REMOVE") or (
        redrive.is_marker(change.dep_id) and change.event_name == "INSERT"
    ):
        log.debug("ignored", extra={"event_name": change.event_name, "dep_id": change.dep_id})
        return "ignored"
    if change.event_name == "INSERT":
        return str(provision(change.dep_id, worker))
    if not change.old_image:
        log.error(
            "REMOVE record without an old image: nothing can be torn down", extra={"dep_id": change.dep_id}
        )
        raise InputError(
            "dynamodb.OldImage",
            f"missing from the REMOVE record of {change.dep_id}: the "
            "stream view type must include old images",
        )
    if redrive.is_marker(change.dep_id):
        retry = redrive.Retry.from_image(change.old_image)
        return "ignored" if retry is None else _retry(retry, worker)
    return _teardown(change.dep_id, change.old_image, worker, attempt=0)


def _retry(retry: redrive.Retry, worker: Worker) -> str:
    log.info("retrying", extra={"dep_id": retry.dep_id, "action": retry.action, "attempt": retry.attempt})
    if retry.action == "provision":
        return str(provision(retry.dep_id, worker, attempt=retry.attempt))
    if worker.state.get(retry.dep_id) is not None:
        log.info(
            "deployment is back (restarted); its own REMOVE will tear it down", extra={"dep_id": retry.dep_id}
        )
        return "skipped"
    return _teardown(retry.dep_id, retry.image or {}, worker, attempt=retry.attempt)


def _teardown(dep_id: str, image: Mapping[str, Any], worker: Worker, *, attempt: int) -> str:
    """Tear down from `image`; after a transient failure, schedule a retry carrying the image."""
    try:
        result = teardown(DeploymentState.from_item({**image, "dep_id": dep_id}), worker)
    except TeardownError as exc:
        if exc.retryable:
            redrive.schedule(worker, redrive.Retry(dep_id, "teardown", attempt + 1, image=image))
        raise
    return f"removed (user {result.user}, namespace {result.namespace})"
