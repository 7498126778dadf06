"""The worker's values: state attribute names and statuses, the lab configuration row, the state item
as the worker reads it, what user_create changed, and one stream change.

State item attributes the worker writes (docs/deployment.md §4.1; + marks the ones it adds):

- `deployment_status` S: STARTING (dispatch) -> IN_PROGRESS -> COMPLETED or FAILED.
- `tenant_url` S: the tenant's URL from SSM `<ssm_base_path>/tenant-url`.
- `create_namespace`, `create_user`, `pre_lambda` S: IN_PROGRESS, SUCCESS, FAILED or NA.
- + `ssm_base_path` S: the lab's base path, so teardown does not depend on the lab row.
- + `failed_step` S: validate, lab_config, tenant, create_namespace, create_user or pre_lambda.
- + `failure_reason` S: why that step failed (the callee's message, masked), at most 1000 characters.
- + `failure_retryable` BOOL: whether that failure was transient; a retry is then scheduled
  (udf_worker.redrive), up to `RETRY_ATTEMPTS` times.
- + `user_preexisting` BOOL: whether the learner's account existed before this deployment's
  user_create. Decided by a lookup and written (never overwritten) before the create call, so a
  replay after a create whose answer was lost still knows the account is the pipeline's. False:
  the pipeline created the account (or took it over from the deployment that did) and deletes it
  at teardown; true: it is never deleted. Items without it (written by the previous worker) never
  lead to an account deletion.
- + `user_added_roles` SS: the `namespace/role` pairs this deployment set out to add to the user,
  recorded before the call (teardown revokes them even when the answer was lost).
- + `user_added_groups` SS: the groups this deployment set out to add, recorded the same way.

The namespace a deployment creates carries its `dep_id` in the label `tops-dep-id` in XC itself;
ns_create and ns_remove check that label, so no attribute records namespace ownership.

The worker never writes `ttl`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shared import names
from shared.config import ssm_base_path
from shared.errors import InputError

# Attribute names.
DEP_ID: Final = "dep_id"
LAB_ID: Final = "lab_id"
EMAIL: Final = "email"
PETNAME: Final = "petname"
DEPLOYMENT_STATUS: Final = "deployment_status"
TENANT_URL: Final = "tenant_url"
SSM_BASE_PATH: Final = "ssm_base_path"
CREATE_NAMESPACE: Final = "create_namespace"
CREATE_USER: Final = "create_user"
PRE_LAMBDA: Final = "pre_lambda"
FAILED_STEP: Final = "failed_step"
FAILURE_REASON: Final = "failure_reason"
FAILURE_RETRYABLE: Final = "failure_retryable"
USER_PREEXISTING: Final = "user_preexisting"
USER_ADDED_ROLES: Final = "user_added_roles"
USER_ADDED_GROUPS: Final = "user_added_groups"

# Statuses.
STARTING: Final = "STARTING"
IN_PROGRESS: Final = "IN_PROGRESS"
COMPLETED: Final = "COMPLETED"
FAILED: Final = "FAILED"
SUCCESS: Final = "SUCCESS"
NA: Final = "NA"
# A step in any of these states may have changed the tenant (a call was made).
ATTEMPTED: Final = frozenset({IN_PROGRESS, SUCCESS, FAILED})

ADMIN_ROLE: Final = "ves-io-admin-role"
FIRST_NAME: Final = "Lab User"
REASON_MAX: Final = 1000


@dataclass(frozen=True, slots=True, order=True)
class Role:
    """A role in a namespace; stored in string sets as `namespace/role` (neither part can hold '/')."""

    namespace: str
    role: str

    @property
    def token(self) -> str:
        return f"{self.namespace}/{self.role}"

    @classmethod
    def from_token(cls, token: str) -> Role | None:
        namespace, sep, role = token.partition("/")
        return cls(namespace, role) if sep and namespace and role else None

    def to_payload(self) -> dict[str, str]:
        return {"namespace": self.namespace, "role": self.role}


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _string_set(value: Any) -> frozenset[str]:
    if isinstance(value, set | frozenset | list | tuple):
        return frozenset(v for v in value if isinstance(v, str) and v)
    return frozenset()


def _roles(tokens: Iterable[str]) -> frozenset[Role]:
    return frozenset(r for r in (Role.from_token(t) for t in tokens) if r is not None)


@dataclass(frozen=True, slots=True)
class LabConfig:
    """A row of the lab configuration table (docs/deployment.md §4.2), validated."""

    lab_id: str
    ssm_base_path: str
    group_names: tuple[str, ...]
    namespace_roles: tuple[Role, ...]
    user_ns: bool
    description: str = ""
    pre_lambda: str | None = None
    post_lambda: str | None = None


def parse_lab_config(item: Mapping[str, Any]) -> LabConfig:
    """Validate a deserialized row. Raises InputError naming the attribute at fault.

    `ssm_base_path`, `group_names`, `namespace_roles` and `user_ns` are required; an empty or NULL
    list means none. `pre_lambda` and `post_lambda` are an ARN, NULL or absent.
    """
    for required in ("ssm_base_path", "group_names", "namespace_roles", "user_ns"):
        if required not in item:
            raise InputError(required, "is missing from the lab configuration row")
    user_ns = item["user_ns"]
    if not isinstance(user_ns, bool):
        raise InputError("user_ns", f"must be a boolean, got {user_ns!r:.80}")
    groups = names.string_list("group_names", list(item["group_names"] or []))
    raw_roles = item["namespace_roles"] or []
    if not isinstance(raw_roles, list):
        raise InputError("namespace_roles", "must be a list of {namespace, role} maps")
    roles: list[Role] = []
    for i, entry in enumerate(raw_roles):
        if not isinstance(entry, Mapping):
            raise InputError(
                f"namespace_roles[{i}]", f"must be a map with namespace and role, got {entry!r:.80}"
            )
        namespace = names.text(f"namespace_roles[{i}].namespace", entry.get("namespace"), max_len=64)
        role = names.text(f"namespace_roles[{i}].role", entry.get("role"), max_len=128)
        if "/" in namespace or "/" in role:
            raise InputError(f"namespace_roles[{i}]", "must not contain '/'")
        roles.append(Role(namespace, role))
    hooks: dict[str, str | None] = {}
    for hook in ("pre_lambda", "post_lambda"):
        value = item.get(hook)
        if value is not None and not isinstance(value, str):
            raise InputError(hook, f"must be a function ARN or NULL, got {value!r:.80}")
        hooks[hook] = _optional_text(value)
    description = item.get("description")
    return LabConfig(
        lab_id=names.text("lab_id", item.get("lab_id"), max_len=128),
        ssm_base_path=ssm_base_path("ssm_base_path", item["ssm_base_path"]),
        group_names=groups,
        namespace_roles=tuple(roles),
        user_ns=user_ns,
        description=description if isinstance(description, str) else "",
        pre_lambda=hooks["pre_lambda"],
        post_lambda=hooks["post_lambda"],
    )


@dataclass(frozen=True, slots=True)
class Identity:
    """The deployment fields the tenant workers receive, validated before any call."""

    dep_id: str
    lab_id: str
    email: str
    petname: str

    @property
    def last_name(self) -> str:
        """The dep_id up to its first '-' (docs/deployment.md §6 step 5)."""
        return self.dep_id.split("-", 1)[0] or self.dep_id


@dataclass(frozen=True, slots=True)
class DeploymentState:
    """A state item (or a stream image of one) as the worker reads it; every field may be absent."""

    dep_id: str
    lab_id: str | None = None
    email: str | None = None
    petname: str | None = None
    deployment_status: str | None = None
    tenant_url: str | None = None
    ssm_base_path: str | None = None
    create_namespace: str | None = None
    create_user: str | None = None
    pre_lambda: str | None = None
    failure_retryable: bool | None = None
    user_preexisting: bool | None = None
    user_added_roles: frozenset[Role] = field(default_factory=frozenset)
    user_added_groups: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> DeploymentState:
        """Read a deserialized item leniently: unknown or mistyped attributes count as absent."""
        preexisting = item.get(USER_PREEXISTING)
        retryable = item.get(FAILURE_RETRYABLE)
        return cls(
            dep_id=str(item.get(DEP_ID, "")),
            lab_id=_optional_text(item.get(LAB_ID)),
            email=_optional_text(item.get(EMAIL)),
            petname=_optional_text(item.get(PETNAME)),
            deployment_status=_optional_text(item.get(DEPLOYMENT_STATUS)),
            tenant_url=_optional_text(item.get(TENANT_URL)),
            ssm_base_path=_optional_text(item.get(SSM_BASE_PATH)),
            create_namespace=_optional_text(item.get(CREATE_NAMESPACE)),
            create_user=_optional_text(item.get(CREATE_USER)),
            pre_lambda=_optional_text(item.get(PRE_LAMBDA)),
            failure_retryable=retryable if isinstance(retryable, bool) else None,
            user_preexisting=preexisting if isinstance(preexisting, bool) else None,
            user_added_roles=_roles(_string_set(item.get(USER_ADDED_ROLES))),
            user_added_groups=_string_set(item.get(USER_ADDED_GROUPS)),
        )

    @property
    def legacy(self) -> bool:
        """Written by the previous worker, which never stored `ssm_base_path` (this one stores it
        before its first call): nothing it did is recorded well enough to delete an account."""
        return self.ssm_base_path is None

    def identity(self) -> Identity:
        """The validated identity. Raises InputError naming the bad attribute; a reserved petname
        (`system`, `shared`, `default`, `ves-*`) is refused."""
        return Identity(
            dep_id=names.deployment_id(DEP_ID, self.dep_id),
            lab_id=names.text(LAB_ID, self.lab_id, max_len=128),
            email=names.email(EMAIL, self.email),
            petname=names.lab_namespace(PETNAME, self.petname),
        )


def _body_roles(entries: Any) -> frozenset[Role]:
    roles: set[Role] = set()
    for entry in entries or []:
        if isinstance(entry, Mapping):
            namespace, role = entry.get("namespace"), entry.get("role")
            if isinstance(namespace, str) and isinstance(role, str) and namespace and role:
                roles.add(Role(namespace, role))
    return frozenset(roles)


def _body_groups(entries: Any) -> frozenset[str]:
    return frozenset(g for g in entries or [] if isinstance(g, str) and g)


@dataclass(frozen=True, slots=True)
class UserFound:
    """user_create's lookup answer: whether the account exists, and what it holds."""

    exists: bool
    roles: frozenset[Role] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_body(cls, body: Any) -> UserFound:
        """Read the lookup body. Without a boolean `exists` the account is taken as existing, the
        safe side: an existing account is never deleted."""
        data = body if isinstance(body, Mapping) else {}
        return cls(
            exists=data.get("exists") is not False,
            roles=_body_roles(data.get("namespace_roles")),
            groups=_body_groups(data.get("group_names")),
        )


@dataclass(frozen=True, slots=True)
class UserChange:
    """What one user_create call added (`added_roles`, `added_groups`)."""

    added_roles: frozenset[Role] = field(default_factory=frozenset)
    added_groups: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_body(cls, body: Any) -> UserChange:
        data = body if isinstance(body, Mapping) else {}
        return cls(
            added_roles=_body_roles(data.get("added_roles")),
            added_groups=_body_groups(data.get("added_groups")),
        )


@dataclass(frozen=True, slots=True)
class StreamChange:
    """One stream record, reduced to what the worker needs."""

    event_name: str
    dep_id: str
    old_image: Mapping[str, Any] | None = None
    sequence_number: str | None = None
