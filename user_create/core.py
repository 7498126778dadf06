"""Create a user, or merge the requested roles and groups into the user that already exists."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

from shared.deadline import Deadline
from shared.names import sorted_unique
from shared.xc import users
from shared.xc.client import XCRequester
from shared.xc.errors import XCHTTPError, XCServerError, XCTimeoutError
from shared.xc.poll import wait_until
from user_create.errors import UserNotVisibleError
from user_create.models import LookupResult, UserLookup, UserRequest, UserResult

log = logging.getLogger(__name__)

# After a duplicate answer the user should be in the list at once (docs/xc-api.md §6); give an eventually
# consistent list this long before calling it a retryable error.
FIND_GRACE_S: Final = 5.0
# A 5xx on the create POST leaves its outcome unknown, so the client does not repeat it; this module
# reads the user list and repeats the create itself, at most this many times in one call.
MAX_SERVER_ERRORS: Final = 3


def lookup_user(lookup: UserLookup, xc: XCRequester, *, deadline: Deadline) -> LookupResult:
    """Whether the account exists, and its roles and groups; changes nothing."""
    user = users.find(xc, lookup.email, deadline=deadline)
    if user is None:
        log.info("user lookup: absent")
        return LookupResult(email=lookup.email, exists=False)
    log.info("user lookup: exists")
    return LookupResult(
        email=lookup.email,
        exists=True,
        namespace_roles=tuple(sorted(users.roles_of(user))),
        group_names=sorted_unique(users.groups_of(user)),
    )


def create_user(
    request: UserRequest,
    xc: XCRequester,
    *,
    idm_type: str,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> UserResult:
    """Create the user with the requested roles and groups; on "already exists", add what is missing.

    `created` is true only when this call's create was accepted. After a 5xx on the create the user
    list decides: absent means try again; present means the call cannot tell whether its create
    landed, and it reports the user as existing (so an undo never deletes an account it may not own).
    Raises UserNotVisibleError (retryable) when a duplicate user cannot be found, and lets other
    XC errors propagate.
    """
    server_errors = 0
    while True:
        try:
            users.create(xc, _create_body(request, idm_type), deadline=deadline)
        except XCHTTPError as exc:
            if users.is_duplicate(exc):
                user = _find_after_duplicate(xc, request.email, deadline, sleep=sleep)
                return _merge(request, user, xc, idm_type=idm_type, deadline=deadline)
            if not isinstance(exc, XCServerError):
                raise
            server_errors += 1
            log.warning(
                "user create failed; reading the user list before trying again",
                extra={"status": exc.status, "attempt": server_errors},
            )
            found = users.find(xc, request.email, deadline=deadline)
            if found is not None:
                return _merge(request, found, xc, idm_type=idm_type, deadline=deadline)
            delay = min(0.5 * 2 ** (server_errors - 1), 2.0)
            if server_errors >= MAX_SERVER_ERRORS or delay >= deadline.remaining():
                raise
            sleep(delay)
            continue
        log.info(
            "user created", extra={"roles": len(request.namespace_roles), "groups": len(request.group_names)}
        )
        return UserResult(
            email=request.email,
            created=True,
            updated=False,
            added_roles=request.namespace_roles,
            added_groups=request.group_names,
            namespace_roles=request.namespace_roles,
            group_names=request.group_names,
        )


def _create_body(request: UserRequest, idm_type: str) -> dict[str, Any]:
    return {
        "name": request.email,
        "email": request.email,
        "first_name": request.first_name,
        "last_name": request.last_name,
        "namespace": "system",
        "idm_type": idm_type,
        "type": "USER",
        "namespace_roles": [role.to_body() for role in request.namespace_roles],
        "group_names": list(request.group_names),
    }


def _find_after_duplicate(
    xc: XCRequester,
    email: str,
    deadline: Deadline,
    *,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    try:
        return wait_until(
            lambda: users.find(xc, email, deadline=deadline),
            deadline=deadline.earliest(Deadline.after(FIND_GRACE_S, deadline.clock)),
            pending=f"user {email} in the list",
            sleep=sleep,
        )
    except XCTimeoutError as exc:
        raise UserNotVisibleError(email) from exc


def _merge(
    request: UserRequest, user: dict[str, Any], xc: XCRequester, *, idm_type: str, deadline: Deadline
) -> UserResult:
    """Add the requested roles and groups the user lacks; PUT only when there are some.

    PUT replaces the whole sets, so it carries the union. It sends the requested first and last name
    (as the original did) and keeps the user's own `idm_type` and `type`.
    """
    have_roles, have_groups = users.roles_of(user), users.groups_of(user)
    added_roles = tuple(sorted(set(request.namespace_roles) - have_roles))
    added_groups = sorted_unique(set(request.group_names) - have_groups)
    all_roles = tuple(sorted(have_roles | set(request.namespace_roles)))
    all_groups = sorted_unique(have_groups | set(request.group_names))
    if not added_roles and not added_groups:
        log.info("user existed, unchanged")
        return UserResult(
            email=request.email,
            created=False,
            updated=False,
            added_roles=(),
            added_groups=(),
            namespace_roles=all_roles,
            group_names=all_groups,
        )
    old_names = (str(user.get("first_name") or ""), str(user.get("last_name") or ""))
    users.update(
        xc,
        {
            "name": user.get("name") or request.email,
            "email": user.get("email") or request.email,
            "first_name": request.first_name,
            "last_name": request.last_name,
            "namespace": "system",
            "idm_type": user.get("idm_type") or idm_type,
            "type": user.get("type") or "USER",
            "namespace_roles": [role.to_body() for role in all_roles],
            "group_names": list(all_groups),
        },
        deadline=deadline,
    )
    renamed = old_names if old_names != (request.first_name, request.last_name) else None
    log.info(
        "user existed, roles and groups added",
        extra={"added_roles": len(added_roles), "added_groups": len(added_groups)},
    )
    return UserResult(
        email=request.email,
        created=False,
        updated=True,
        added_roles=added_roles,
        added_groups=added_groups,
        namespace_roles=all_roles,
        group_names=all_groups,
        renamed_from=renamed,
    )
