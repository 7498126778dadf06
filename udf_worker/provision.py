"""INSERT: provision a deployment, step by step, recording each step on the state item.

Order (docs/deployment.md §6 step 5): deployment IN_PROGRESS; the lab row; the tenant URL; the namespace
(when `user_ns`), which adds `ves-io-admin-role` on it to the user's roles; the user; the lab's
`pre_lambda`; COMPLETED. Unlike the original:

- a failed step stops the later ones (no user without their namespace) and the deployment ends
  FAILED with `failed_step` and `failure_reason`, never COMPLETED;
- a retryable failure is recorded the same way and then raised, so the stream delivers the record
  again; the replay reads the item first and skips every step already SUCCESS;
- every write is conditioned on the item existing: if the lab ended meanwhile, provisioning stops;
  what a step set out to change was recorded before its call, so the REMOVE record's old image is
  enough for teardown to undo it;
- ownership is proven, never inferred from "already exists": the namespace must carry this
  deployment's owner label (ns_create checks it), and whether the learner's account pre-existed is
  decided by a lookup and recorded before user_create runs (see `_user`).

Writes: one conditional UpdateItem before each callee that changes the tenant (ns_create, user_create,
the lab helper), which records the step IN_PROGRESS with everything learnt since the last write (the
IN_PROGRESS status, the tenant URL and base path, the previous step's SUCCESS and what it added, the
account decision), and one at the end (COMPLETED) or at a failure. So nothing is started for a
deployment that has ended, and whatever a callee may have done is on the item before it runs; a
SUCCESS that a crash keeps from being written only makes a replay repeat that (idempotent) step. The
account lookup changes nothing and gets no write of its own: four writes for the example lab, where a
write per value took eleven (bench/RESULTS.md).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import StrEnum
from typing import Any, NoReturn

from shared.errors import InputError, RetryableError, StepError, TopsError
from shared.secret import mask_text
from udf_worker import redrive
from udf_worker.clients import Worker
from udf_worker.errors import DeploymentGone
from udf_worker.models import (
    ADMIN_ROLE,
    COMPLETED,
    CREATE_NAMESPACE,
    CREATE_USER,
    DEPLOYMENT_STATUS,
    FAILED,
    FAILED_STEP,
    FAILURE_REASON,
    FAILURE_RETRYABLE,
    FIRST_NAME,
    IN_PROGRESS,
    NA,
    PRE_LAMBDA,
    REASON_MAX,
    SSM_BASE_PATH,
    SUCCESS,
    TENANT_URL,
    USER_ADDED_GROUPS,
    USER_ADDED_ROLES,
    USER_PREEXISTING,
    DeploymentState,
    Identity,
    LabConfig,
    Role,
    UserChange,
    UserFound,
)

log = logging.getLogger(__name__)


class ProvisionOutcome(StrEnum):
    COMPLETED = "completed"  # every step done (now, or by an earlier delivery)
    FAILED = "failed"  # a permanent failure, recorded on the item
    GONE = "gone"  # the item no longer exists: the lab ended, nothing more to do


class _Stopped(Exception):
    """A permanent failure has been recorded; provisioning ends here."""


def provision(dep_id: str, worker: Worker, *, attempt: int = 0) -> ProvisionOutcome:
    """Provision `dep_id` from its current state item. `attempt` counts the retries through markers
    (0 for the INSERT itself); a retry does nothing for a deployment that failed permanently.

    Raises StepError (retryable) after recording a retryable failure and scheduling the next retry;
    DynamoDB errors propagate.
    """
    item = worker.state.get(dep_id)
    if item is None:
        log.info("deployment already gone; nothing to provision", extra={"dep_id": dep_id})
        return ProvisionOutcome.GONE
    state = DeploymentState.from_item(item)
    if state.deployment_status == COMPLETED:
        log.info("deployment already provisioned", extra={"dep_id": dep_id})
        return ProvisionOutcome.COMPLETED
    if attempt and state.deployment_status == FAILED and state.failure_retryable is False:
        log.info(
            "deployment failed permanently since the retry was scheduled; not retried",
            extra={"dep_id": dep_id},
        )
        return ProvisionOutcome.FAILED
    try:
        _Provisioning(worker, state, attempt).run()
    except DeploymentGone:
        log.info("deployment ended while provisioning; stopped", extra={"dep_id": dep_id})
        return ProvisionOutcome.GONE
    except _Stopped:
        return ProvisionOutcome.FAILED
    log.info("deployment provisioned", extra={"dep_id": dep_id})
    return ProvisionOutcome.COMPLETED


class _Provisioning:
    def __init__(self, worker: Worker, state: DeploymentState, attempt: int) -> None:
        self.worker = worker
        self.state = state
        self.dep_id = state.dep_id
        self.attempt = attempt
        # What the next write records besides its own values (see the module docstring).
        self._pending: dict[str, Any] = {}
        self._pending_absent: dict[str, Any] = {}
        self._pending_add: dict[str, set[str]] = {}
        self._pending_remove: list[str] = []

    def run(self) -> None:
        self._later({DEPLOYMENT_STATUS: IN_PROGRESS}, remove=(FAILED_STEP, FAILURE_REASON, FAILURE_RETRYABLE))
        try:
            who = self.state.identity()
        except InputError as exc:
            self._fail("validate", None, exc)
        lab = self._lab(who)
        base = lab.ssm_base_path
        self._tenant(base)
        roles = list(lab.namespace_roles)
        if lab.user_ns:
            self._namespace(who, lab)
            roles.append(Role(who.petname, ADMIN_ROLE))
        elif self.state.create_namespace != NA:
            self._later({CREATE_NAMESPACE: NA})
        self._user(who, lab, roles)
        if lab.pre_lambda:
            self._pre_lambda(who, lab, lab.pre_lambda)
        elif self.state.pre_lambda != NA:
            self._later({PRE_LAMBDA: NA})
        self._set({DEPLOYMENT_STATUS: COMPLETED})

    # ------------------------------------------------------------------ steps

    def _lab(self, who: Identity) -> LabConfig:
        try:
            lab = self.worker.labs.get(who.lab_id)
        except InputError as exc:
            self._fail("lab_config", None, exc)
        if lab is None:
            self._fail("lab_config", None, InputError("lab_id", f"no lab configuration for {who.lab_id!r}"))
        return lab

    def _tenant(self, base: str) -> str:
        try:
            url = self.worker.tenants.tenant_url(base)
        except TopsError as exc:
            self._fail("tenant", None, exc)
        self._later({TENANT_URL: url, SSM_BASE_PATH: base})
        return url

    def _namespace(self, who: Identity, lab: LabConfig) -> None:
        """ns_create with this deployment as the owner: an existing namespace without its label (another
        deployment's, a person's) fails the step permanently, and no role on it is ever granted."""
        if self.state.create_namespace == SUCCESS:
            return
        description = f"UDF lab {who.lab_id} deployment {who.dep_id}"
        if lab.description:
            description = f"{lab.description}: {description}"
        self._invoke(
            CREATE_NAMESPACE,
            self.worker.functions.ns_create,
            {
                "ssm_base_path": lab.ssm_base_path,
                "namespace_name": who.petname,
                "description": description[:1024],
                "owner": who.dep_id,
            },
        )
        self._later({CREATE_NAMESPACE: SUCCESS})

    def _user(self, who: Identity, lab: LabConfig, roles: list[Role]) -> None:
        """Decide and record who owns the account, and what this deployment will add to it, before
        user_create changes anything; then create or merge.

        If the item is deleted meanwhile, provisioning stops: the REMOVE record's old image carries the
        decision and the intent, from which teardown undoes whatever the call did.
        """
        if self.state.create_user == SUCCESS:
            return
        function = self.worker.functions.user_create
        wanted_roles, wanted_groups = frozenset(roles), frozenset(lab.group_names)
        if self.state.user_preexisting is None:
            found = UserFound.from_body(
                self._invoke(
                    CREATE_USER,
                    function,
                    {
                        "ssm_base_path": lab.ssm_base_path,
                        "email": who.email,
                        "lookup": True,
                    },
                    record=False,
                )
            )
            # if_not_exists: a teardown of another deployment may already have handed this one the
            # account it created (user_preexisting false); that must not be overwritten.
            self._later(
                {},
                set_if_absent={USER_PREEXISTING: found.exists},
                add={
                    USER_ADDED_ROLES: {r.token for r in wanted_roles - found.roles},
                    USER_ADDED_GROUPS: set(wanted_groups - found.groups),
                },
            )
        body = self._invoke(
            CREATE_USER,
            function,
            {
                "ssm_base_path": lab.ssm_base_path,
                "first_name": FIRST_NAME,
                "last_name": who.last_name,
                "email": who.email,
                "group_names": sorted(wanted_groups),
                "namespace_roles": [r.to_payload() for r in sorted(wanted_roles)],
            },
        )
        change = UserChange.from_body(body)
        self._later(
            {CREATE_USER: SUCCESS},
            add={
                USER_ADDED_ROLES: {r.token for r in change.added_roles},
                USER_ADDED_GROUPS: set(change.added_groups),
            },
        )

    def _pre_lambda(self, who: Identity, lab: LabConfig, function: str) -> None:
        if self.state.pre_lambda == SUCCESS:
            return
        self._invoke(
            PRE_LAMBDA,
            function,
            {
                "ssm_base_path": lab.ssm_base_path,
                "petname": who.petname,
                "email": who.email,
            },
        )
        self._later({PRE_LAMBDA: SUCCESS})

    # ------------------------------------------------------------------ plumbing

    def _invoke(self, step: str, function: str, payload: dict[str, Any], *, record: bool = True) -> Any:
        """Call the step's callee (Worker.call: within the deadline, transient failures tried again);
        record IN_PROGRESS before (with what is pending; not for a call that changes nothing,
        `record=False`), and FAILED (then stop or raise) when it fails."""
        try:
            self.worker.check_time(step)
        except RetryableError as exc:
            self._fail(step, None, exc)
        if record:
            self._set({step: IN_PROGRESS})
        try:
            return self.worker.call(function, payload)
        except TopsError as exc:
            self._fail(step, step, exc)

    def _later(
        self,
        values: dict[str, Any],
        *,
        set_if_absent: dict[str, Any] | None = None,
        add: dict[str, set[str]] | None = None,
        remove: tuple[str, ...] = (),
    ) -> None:
        """Record these with the next write."""
        self._pending.update(values)
        self._pending_absent.update(set_if_absent or {})
        for name, items in (add or {}).items():
            self._pending_add.setdefault(name, set()).update(items)
        self._pending_remove += [name for name in remove if name not in self._pending_remove]
        if TENANT_URL in values:
            self.state = replace(self.state, tenant_url=values[TENANT_URL])

    def _set(
        self,
        values: dict[str, Any],
        *,
        set_if_absent: dict[str, Any] | None = None,
        add: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> None:
        """One conditional UpdateItem with these values and everything pending."""
        merged = {**self._pending, **values}
        absent = {**self._pending_absent, **(set_if_absent or {})}
        adds = {name: set(items) for name, items in self._pending_add.items()}
        for name, items in (add or {}).items():
            adds.setdefault(name, set()).update(items)
        removes = tuple(name for name in (*self._pending_remove, *remove) if name not in merged)
        self.worker.state.update(self.dep_id, set_=merged, set_if_absent=absent, add=adds, remove=removes)
        self._pending.clear()
        self._pending_absent.clear()
        self._pending_add.clear()
        self._pending_remove.clear()
        if TENANT_URL in merged:
            self.state = replace(self.state, tenant_url=merged[TENANT_URL])

    def _fail(self, step: str, attribute: str | None, exc: TopsError) -> NoReturn:
        """Record the failure on the item, then stop (permanent) or schedule a retry and raise
        (retryable)."""
        reason = mask_text(str(exc))[:REASON_MAX]
        values: dict[str, Any] = {
            DEPLOYMENT_STATUS: FAILED,
            FAILED_STEP: step,
            FAILURE_REASON: reason,
            FAILURE_RETRYABLE: exc.retryable,
        }
        if attribute is not None:
            values[attribute] = FAILED
        self._set(values)
        if exc.retryable:
            redrive.schedule(self.worker, redrive.Retry(self.dep_id, "provision", self.attempt + 1))
        extra = {
            "dep_id": self.dep_id,
            "step": step,
            "error": type(exc).__name__,
            "reason": reason,
            "field": getattr(exc, "field", None),
        }
        if exc.retryable:
            log.warning("step failed, retryable", extra=extra)
            raise StepError(step, str(exc), retryable=True) from exc
        log.error("step failed", extra=extra)
        raise _Stopped(step) from exc
