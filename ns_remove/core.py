"""Cascade-delete a namespace and report what went with it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ns_remove.errors import CascadeDeleteError
from ns_remove.models import RemovalRequest, RemovalResult
from shared.deadline import Deadline
from shared.xc import namespaces
from shared.xc.client import XCRequester
from shared.xc.errors import XCConflictError, XCNotFoundError
from shared.xc.lists import cascade_result
from shared.xc.poll import wait_until

log = logging.getLogger(__name__)


def remove_namespace(
    request: RemovalRequest,
    xc: XCRequester,
    *,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> RemovalResult:
    """Delete `request.namespace_name` and every object in it; a missing namespace is done already.

    With `request.owner`, the namespace is read first and deleted only when it carries that owner's
    label; otherwise it is kept (reported `kept`, logged as a warning) and nothing is deleted.
    A 409 means another cascade delete of the same namespace is running: wait for the namespace to
    disappear (XCTimeoutError, retryable, if it has not by `deadline`) and report it absent, since
    this call deleted nothing. Raises CascadeDeleteError when any object reports an error, XCError
    for an answer that is not a cascade_delete result, and lets other XC errors propagate.
    """
    name = request.namespace_name
    if request.owner is not None:
        try:
            found = namespaces.owner_of(namespaces.get(xc, name, deadline=deadline))
        except XCNotFoundError:
            log.info("namespace absent", extra={"namespace": name})
            return RemovalResult(namespace=name, removed=False, owner=request.owner)
        if found != request.owner:
            reason = (
                f"namespace {name} is not labelled {namespaces.OWNER_LABEL}={request.owner} "
                f"(found {found or 'no owner label'}): not created by this deployment, kept"
            )
            log.warning(
                "namespace kept: not owned",
                extra={"namespace": name, "owner": request.owner, "found_owner": found},
            )
            return RemovalResult(namespace=name, removed=False, owner=request.owner, kept=True, reason=reason)
    try:
        body = namespaces.cascade_delete(xc, name, deadline=deadline)
    except XCNotFoundError:
        log.info("namespace absent", extra={"namespace": name})
        return RemovalResult(namespace=name, removed=False, owner=request.owner)
    except XCConflictError as exc:
        log.info(
            "namespace is being deleted by another call; waiting for it to go",
            extra={"namespace": name, "code": exc.code},
        )
        wait_until(
            lambda: _gone(xc, name, deadline),
            deadline=deadline,
            pending=f"namespace {name} to finish its cascade delete",
            sleep=sleep,
        )
        log.info("namespace absent", extra={"namespace": name})
        return RemovalResult(namespace=name, removed=False, owner=request.owner)
    deleted, failed = cascade_result(body, f"namespace {name}")
    if failed:
        raise CascadeDeleteError(name, deleted, failed)
    log.info("namespace removed", extra={"namespace": name, "deleted_count": len(deleted)})
    return RemovalResult(namespace=name, removed=True, deleted=deleted, owner=request.owner)


def _gone(xc: XCRequester, name: str, deadline: Deadline) -> bool:
    try:
        namespaces.get(xc, name, deadline=deadline)
    except XCNotFoundError:
        return True
    return False
