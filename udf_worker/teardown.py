"""REMOVE: tear a deployment down from the stream's old image.

Order: the lab's `post_lambda` (when set), the user, then the namespace. Every step runs even if an
earlier one failed (with the deployed 0 retries, this leaves the least behind); then the failures
are raised together, so the stream's retry and on-failure destination apply. Each callee treats a
missing object as removed, so a replay is harmless.

Nothing is deleted on a guess:
- The namespace goes to ns_remove with this deployment as `owner`: ns_remove reads it first and
  cascade-deletes it only while it carries this deployment's owner label (a namespace of another
  deployment or of a person, or one made by the previous worker, is kept and logged). It is asked
  whenever its create was attempted (IN_PROGRESS, SUCCESS or FAILED): a call that failed or was cut
  off may still have created it.
- The user: provisioning records, before user_create runs, whether the account pre-existed
  (`user_preexisting`) and what it sets out to add (`user_added_roles`, `user_added_groups`).
  The account is deleted only when the pipeline created it (`user_preexisting` false) and no other
  deployment of the same email in the same tenant is in the table; otherwise only what this
  deployment set out to add is revoked, minus what the other deployments' labs still need. Before
  that, those other deployments are handed what they need of it (added to their `user_added_*`)
  and, when this pipeline created the account, its ownership (`user_preexisting` false), so the last
  of them to end still cleans the account up.
- An item written by the previous worker (no `ssm_base_path`) never leads to an account deletion:
  the lab's roles and groups are revoked and a warning names the account for manual clean-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import InputError, RetryableError, TopsError
from udf_worker.clients import Worker, lenient_lab
from udf_worker.errors import DeploymentGone, TeardownError
from udf_worker.models import (
    ADMIN_ROLE,
    ATTEMPTED,
    DEP_ID,
    EMAIL,
    LAB_ID,
    PETNAME,
    SSM_BASE_PATH,
    SUCCESS,
    TENANT_URL,
    USER_ADDED_GROUPS,
    USER_ADDED_ROLES,
    USER_PREEXISTING,
    DeploymentState,
    LabConfig,
    Role,
)

log = logging.getLogger(__name__)

# Attributes read from the other deployments when deciding about a shared user.
_PEER_ATTRIBUTES: Final = (
    DEP_ID,
    LAB_ID,
    EMAIL,
    PETNAME,
    TENANT_URL,
    SSM_BASE_PATH,
    USER_ADDED_ROLES,
    USER_ADDED_GROUPS,
)
_HANDOVER_ATTEMPTS: Final = 3


class UserOutcome(StrEnum):
    UNTOUCHED = "untouched"  # this deployment never changed the user
    DELETED = "deleted"  # the account this pipeline created was deleted
    REVOKED = "revoked"  # only this deployment's additions were removed
    KEPT = "kept"  # other deployments need everything this one added


@dataclass(frozen=True, slots=True)
class TeardownResult:
    dep_id: str
    post_lambda: bool = False
    user: UserOutcome = UserOutcome.UNTOUCHED
    namespace: str = "untouched"  # or ns_remove's state: removed, absent, kept


@dataclass(frozen=True, slots=True)
class _Needs:
    """Roles and groups on the user: what a deployment added, or what a peer's lab needs."""

    roles: frozenset[Role] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)


def teardown(state: DeploymentState, worker: Worker) -> TeardownResult:
    """Undo what the deployment in `state` (an old image) did. Raises TeardownError.

    A record that lacks what a step needs (the base path, the email of a user it changed, the petname
    of a namespace it created) is a permanent failure of that step, logged as an error naming the
    `dep_id`: nothing is guessed and nothing is dropped silently.
    """
    lab = lenient_lab(worker.labs, state.lab_id)
    base = state.ssm_base_path or (lab.ssm_base_path if lab else None)
    failures: list[tuple[str, BaseException]] = []

    def fail(step: str, exc: BaseException) -> None:
        log.error(
            "teardown step failed",
            extra={"dep_id": state.dep_id, "step": step, "error": type(exc).__name__, "reason": str(exc)},
        )
        failures.append((step, exc))

    def attempt(step: str, needs: dict[str, str | None], action: Callable[[], Any], default: Any) -> Any:
        missing = [name for name, value in {"ssm_base_path": base, **needs}.items() if not value]
        if missing:
            fail(
                step,
                InputError(
                    missing[0],
                    f"missing from the REMOVE record of {state.dep_id} (lab row "
                    f"{state.lab_id!r}); cannot undo {step}",
                ),
            )
            return default
        try:
            return action()
        except (TopsError, ClientError, BotoCoreError) as exc:
            fail(step, exc)
            return default

    post, user, namespace = False, UserOutcome.UNTOUCHED, "untouched"
    if lab is not None and lab.post_lambda:
        post = attempt("post_lambda", {}, lambda: _post_lambda(state, lab, str(base), worker), False)
    if state.create_user in ATTEMPTED:
        user = attempt(
            "user",
            {"email": state.email},
            lambda: undo_user(state, str(base), lab, worker),
            UserOutcome.UNTOUCHED,
        )
    if state.create_namespace in ATTEMPTED:
        namespace = attempt(
            "namespace", {"petname": state.petname}, lambda: _namespace(state, str(base), worker), "untouched"
        )
    if failures:
        raise TeardownError(state.dep_id, failures)
    result = TeardownResult(state.dep_id, post_lambda=post, user=user, namespace=namespace)
    log.info(
        "deployment torn down",
        extra={"dep_id": state.dep_id, "post_lambda": post, "user": str(user), "namespace": namespace},
    )
    return result


def _post_lambda(state: DeploymentState, lab: LabConfig | None, base: str, worker: Worker) -> bool:
    if lab is None or not lab.post_lambda or not state.petname or not state.tenant_url:
        return False  # the deployment never got as far as its tenant
    payload: dict[str, Any] = {"ssm_base_path": base, "petname": state.petname, "action": "remove"}
    if state.email:
        payload["email"] = state.email
    worker.call(lab.post_lambda, payload)
    return True


def _namespace(state: DeploymentState, base: str, worker: Worker) -> str:
    payload = {"ssm_base_path": base, "namespace_name": state.petname, "owner": state.dep_id}
    body = worker.call(worker.functions.ns_remove, payload)
    outcome = str(body.get("state")) if isinstance(body, dict) else "removed"
    if outcome == "kept":
        log.warning(
            "namespace kept: it does not carry this deployment's owner label; remove it by hand "
            "if it is a leftover",
            extra={"dep_id": state.dep_id, "namespace": state.petname, "reason": body.get("reason")},
        )
    return outcome


def undo_user(state: DeploymentState, base: str, lab: LabConfig | None, worker: Worker) -> UserOutcome:
    """Delete the user or revoke what this deployment added, as the module docstring says."""
    if state.legacy:
        if lab is None:
            log.warning(
                "user left as it is: the previous worker's record and no lab row say what it got; "
                "check the account by hand",
                extra={"dep_id": state.dep_id, "email": state.email},
            )
            return UserOutcome.UNTOUCHED
        roles = set(lab.namespace_roles)
        if lab.user_ns and state.petname and state.create_namespace == SUCCESS:
            roles.add(Role(state.petname, ADMIN_ROLE))
        log.warning(
            "user provisioned by the previous worker: its account is never deleted here, only the "
            "lab's roles and groups are revoked; delete the account by hand if the pipeline made it",
            extra={"dep_id": state.dep_id, "email": state.email},
        )
        return _undo(
            state, base, worker, owned=False, ours=_Needs(frozenset(roles), frozenset(lab.group_names))
        )
    if state.user_preexisting is None:
        # The decision is recorded before user_create changes anything: without it, nothing changed.
        return UserOutcome.UNTOUCHED
    return _undo(
        state,
        base,
        worker,
        owned=state.user_preexisting is False,
        ours=_Needs(state.user_added_roles, state.user_added_groups),
    )


def _undo(state: DeploymentState, base: str, worker: Worker, *, owned: bool, ours: _Needs) -> UserOutcome:
    """Delete the account (`owned`, no peers) or revoke `ours` minus what the peers need."""
    tenant_url = state.tenant_url or worker.tenants.tenant_url(base)
    for _ in range(_HANDOVER_ATTEMPTS):
        peers = _peers(state, base, tenant_url, worker)
        if owned and not peers:
            worker.call(worker.functions.user_remove, {"ssm_base_path": base, "email": state.email})
            log.info("user deleted", extra={"dep_id": state.dep_id})
            return UserOutcome.DELETED
        needs = {peer.dep_id: _needs(peer, state, ours, worker) for peer in peers}
        if not _hand_over(state, peers, needs, ours, owned, worker):
            continue
        needed_roles = frozenset().union(*(n.roles for n in needs.values()))
        needed_groups = frozenset().union(*(n.groups for n in needs.values()))
        revoke_roles = sorted(ours.roles - needed_roles)
        revoke_groups = sorted(ours.groups - needed_groups)
        if not revoke_roles and not revoke_groups:
            log.info(
                "user kept: other deployments need all it was given",
                extra={"dep_id": state.dep_id, "peers": sorted(needs)},
            )
            return UserOutcome.KEPT
        payload: dict[str, Any] = {"ssm_base_path": base, "email": state.email}
        if revoke_roles:
            payload["namespace_roles"] = [r.to_payload() for r in revoke_roles]
        if revoke_groups:
            payload["group_names"] = revoke_groups
        worker.call(worker.functions.user_remove, payload)
        log.info(
            "user changes revoked",
            extra={
                "dep_id": state.dep_id,
                "peers": sorted(needs),
                "roles": [r.token for r in revoke_roles],
                "groups": revoke_groups,
            },
        )
        return UserOutcome.REVOKED
    raise RetryableError(f"deployments sharing the user of {state.dep_id} kept ending during its teardown")


def _peers(state: DeploymentState, base: str, tenant_url: str, worker: Worker) -> list[DeploymentState]:
    """Every other deployment in the table for the same email and tenant (all Scan pages).

    An item without `tenant_url` (its INSERT has not got that far, or failed early) is matched by its
    lab's base path, resolved to a tenant URL when it differs from ours.
    """
    email = (state.email or "").lower()
    want = tenant_url.rstrip("/")
    found = []
    for item in worker.state.scan(_PEER_ATTRIBUTES):
        peer = DeploymentState.from_item(item)
        if peer.dep_id == state.dep_id or (peer.email or "").lower() != email:
            continue
        if _peer_tenant(peer, base, worker) == want:
            found.append(peer)
    return found


def _peer_tenant(peer: DeploymentState, base: str, worker: Worker) -> str | None:
    if peer.tenant_url:
        return peer.tenant_url.rstrip("/")
    lab = lenient_lab(worker.labs, peer.lab_id)
    peer_base = peer.ssm_base_path or (lab.ssm_base_path if lab else None)
    if peer_base is None:
        return None
    try:
        return worker.tenants.tenant_url(peer_base).rstrip("/")
    except TopsError as exc:
        log.warning(
            "cannot resolve another deployment's tenant", extra={"dep_id": peer.dep_id, "reason": str(exc)}
        )
        return None


def _needs(peer: DeploymentState, state: DeploymentState, ours: _Needs, worker: Worker) -> _Needs:
    """What a peer deployment's lab gives the user (and what it recorded adding)."""
    lab = lenient_lab(worker.labs, peer.lab_id)
    if lab is None:
        # Unknown lab: keep everything that could be shared; only our own namespace's role is ours alone.
        keep = {r for r in ours.roles if r.namespace != state.petname}
        return _Needs(frozenset(keep), ours.groups)
    roles = set(lab.namespace_roles) | set(peer.user_added_roles)
    if lab.user_ns and peer.petname:
        roles.add(Role(peer.petname, ADMIN_ROLE))
    return _Needs(frozenset(roles), frozenset(lab.group_names) | peer.user_added_groups)


def _hand_over(
    state: DeploymentState,
    peers: Iterable[DeploymentState],
    needs: dict[str, _Needs],
    ours: _Needs,
    owned: bool,
    worker: Worker,
) -> bool:
    """Give each peer what it needs of our additions (and ownership when we own the account).

    False when a peer vanished meanwhile: the caller looks at the table again.
    """
    for peer in peers:
        need = needs[peer.dep_id]
        roles = {r.token for r in ours.roles & need.roles}
        groups = set(ours.groups & need.groups)
        if not owned and not roles and not groups:
            continue
        try:
            worker.state.update(
                peer.dep_id,
                set_={USER_PREEXISTING: False} if owned else None,
                add={USER_ADDED_ROLES: roles, USER_ADDED_GROUPS: groups},
            )
        except DeploymentGone:
            log.info(
                "another deployment of the user ended meanwhile; looking again",
                extra={"dep_id": state.dep_id, "peer": peer.dep_id},
            )
            return False
        log.info(
            "user handed over",
            extra={
                "dep_id": state.dep_id,
                "peer": peer.dep_id,
                "owner": owned,
                "roles": sorted(roles),
                "groups": sorted(groups),
            },
        )
    return True
