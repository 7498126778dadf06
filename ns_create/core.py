"""Create a namespace and wait until it can be used.

The create and the wait are one loop under one deadline, because a namespace can be in three
states a single POST cannot tell apart: absent (create it), present (use it) and still being
cascade-deleted (its name answers 409 until the delete finishes; then it must be created again).

With an `owner` (a deployment id), "present" is only good enough when the namespace carries that
owner's label: a 409 proves nothing about who made it, so a namespace of another deployment, of a
person or of the tenant is refused with OwnershipError, untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final, Literal

from ns_create.models import NamespaceRequest, NamespaceResult
from shared.deadline import Deadline
from shared.errors import OwnershipError
from shared.xc import namespaces
from shared.xc.client import XCRequester
from shared.xc.errors import XCConflictError, XCNotFoundError, XCServerError, XCTimeoutError
from shared.xc.poll import VISIBILITY_INTERVAL, wait_until

log = logging.getLogger(__name__)

# gRPC ALREADY_EXISTS (docs/xc-api.md §4.2). Any other 409 code (10, ABORTED) is a conflicting operation,
# in practice a cascade delete of the same name that has not finished.
ALREADY_EXISTS_CODE: Final = 6
# A 5xx on a POST is not retried by the client (its outcome is unknown); this loop retries it because
# the next create reads the outcome (a 409 says it exists), but only this many times in one call.
MAX_SERVER_ERRORS: Final = 3

Phase = Literal["create", "wait"]


def create_namespace(
    request: NamespaceRequest,
    xc: XCRequester,
    *,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> NamespaceResult:
    """Create `request.namespace_name` (or find it existing) and wait until GET shows it usable.

    Raises OwnershipError when the namespace exists without the request's owner label,
    XCTimeoutError (retryable) when it is not usable by `deadline`, naming what was pending;
    any XC error other than the 409s and 404s handled here propagates (e.g. XCAuthError).
    """
    run = _Run(request, xc, deadline)
    started = deadline.clock()
    try:
        wait_until(
            run.step,
            deadline=deadline,
            pending=f"namespace {request.namespace_name}",
            interval=VISIBILITY_INTERVAL,
            sleep=sleep,
        )
    except XCTimeoutError as exc:
        raise XCTimeoutError(f"namespace {request.namespace_name} ({run.pending})", exc.waited) from exc
    result = NamespaceResult(
        namespace=request.namespace_name,
        created=run.created,
        waited_s=deadline.clock() - started,
        create_attempts=run.attempts,
        owner=request.owner,
    )
    log.info(
        "namespace %s",
        result.state,
        extra={
            "namespace": result.namespace,
            "waited_s": round(result.waited_s, 3),
            "create_attempts": result.create_attempts,
        },
    )
    return result


class _Run:
    """The state of one create-then-wait; `step` is the poll check (True when done, None when not)."""

    def __init__(self, request: NamespaceRequest, xc: XCRequester, deadline: Deadline) -> None:
        self.request = request
        self.xc = xc
        self.deadline = deadline
        self.phase: Phase = "create"
        self.created = False
        self.attempts = 0
        self.server_errors = 0
        self.pending = "its create"

    def step(self) -> bool | None:
        if self.phase == "create" and not self._create():
            return None
        body = self._get()
        if body is None:
            if not self.created:
                # Answered 409 yet GET says absent: the old one is still going away, or the new one is
                # not visible yet. Creating again tells which, and is harmless either way.
                self.phase = "create"
            self.pending = "it to become visible"
            return None
        if _being_deleted(body):
            self.phase = "create"
            self.pending = "its previous cascade delete to finish"
            return None
        self._check_owner(body)
        if _initializers_pending(body):
            self.pending = "its initializers"
            return None
        return True

    def _check_owner(self, body: dict[str, Any]) -> None:
        wanted = self.request.owner
        if wanted is None:
            return
        found = namespaces.owner_of(body)
        if found != wanted:
            label = (
                f"labelled {namespaces.OWNER_LABEL}={found}"
                if found
                else f"without a {namespaces.OWNER_LABEL} label"
            )
            raise OwnershipError(
                f"namespace {self.request.namespace_name} already exists, {label}: it was not created "
                f"by deployment {wanted}, so it is neither used nor changed"
            )

    def _create(self) -> bool:
        """One create attempt: True when the namespace was created or exists; False to try again."""
        name = self.request.namespace_name
        self.attempts += 1
        try:
            namespaces.create(
                self.xc, name, self.request.description, owner=self.request.owner, deadline=self.deadline
            )
        except XCConflictError as exc:
            if exc.code not in (None, ALREADY_EXISTS_CODE):
                log.info(
                    "namespace is being deleted; will create it again",
                    extra={"namespace": name, "code": exc.code},
                )
                self.pending = "its previous cascade delete to finish"
                return False
            self.phase = "wait"
            return True
        except XCServerError as exc:
            self.server_errors += 1
            if self.server_errors >= MAX_SERVER_ERRORS:
                raise
            log.warning(
                "namespace create failed; will read and try again",
                extra={"namespace": name, "status": exc.status},
            )
            self.pending = "a create the tenant accepts"
            return False
        self.created = True
        self.phase = "wait"
        return True

    def _get(self) -> dict[str, Any] | None:
        try:
            body = namespaces.get(self.xc, self.request.namespace_name, deadline=self.deadline)
        except XCNotFoundError:
            return None
        return body if isinstance(body, dict) else {}


def _being_deleted(body: dict[str, Any]) -> bool:
    meta = body.get("system_metadata")
    return isinstance(meta, dict) and bool(meta.get("deletion_timestamp"))


def _initializers_pending(body: dict[str, Any]) -> bool:
    """Kubernetes-style `system_metadata.initializers.pending`, when the API reports it."""
    meta = body.get("system_metadata")
    initializers = meta.get("initializers") if isinstance(meta, dict) else None
    return isinstance(initializers, dict) and bool(initializers.get("pending"))
