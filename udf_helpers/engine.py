"""The one engine behind every lab helper.

A lab is a `LabDefinition`: its default domain base and certificate name (per environment) and a
function that, given a `LabContext` (petname, namespace, resolved names), lists the XC config objects
to create, in order. The engine:

- renders each object's `{metadata, spec}` body and finds, by walking the spec for `{namespace, name,
  kind}` references, which earlier objects of the same lab it refers to;
- `apply`: for each object in order, first waits until every lab object it refers to is visible
  (GET, 404 = not yet, bounded by the Lambda deadline), then reads it: missing -> create; present and
  matching what we would send -> unchanged; present and different -> replace. A create answered
  "already exists" (a retried run whose object is not visible yet, or a concurrent run) is read back
  once visible and compared like any other;
- `remove`: deletes the objects in reverse order; a 404 means already removed.

Only the fields we send are compared: the server adds read-only fields and defaults (`system_metadata`,
`tenant` in references, omitted one-ofs, ...). No tenant id is ever written into a reference: a
reference without `tenant` resolves in the calling tenant.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from shared import names
from shared.deadline import Deadline
from shared.errors import InputError
from shared.xc import objects
from shared.xc.client import XCRequester
from shared.xc.errors import XCConflictError, XCNotFoundError
from shared.xc.poll import VISIBILITY_INTERVAL, wait_until
from udf_helpers.config import HelperConfig
from udf_helpers.models import Action, LabBody, LabRequest, ObjectBody, Outcome

log = logging.getLogger(__name__)

ALREADY_EXISTS_CODE: Final = 6  # gRPC ALREADY_EXISTS; a 409 with code 10 (aborted) is a real conflict
# A value that protobuf JSON may leave out of a GET answer when it is the default.
_DEFAULT_SCALARS: Final[tuple[Any, ...]] = (None, False, 0, "")
# Map-typed fields: an empty map is the default and may be left out; an empty message (`{}`) elsewhere
# is a one-of choice and must be present.
_MAP_FIELDS: Final = frozenset({"labels", "annotations", "endpoint_subsets"})


# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True, slots=True)
class EnvName:
    """A name that differs between the prod and dev deployments."""

    prod: str
    dev: str

    @classmethod
    def same(cls, value: str) -> EnvName:
        """A name shared by both environments."""
        return cls(prod=value, dev=value)

    def pick(self, dev: bool) -> str:
        return self.dev if dev else self.prod


def ref(namespace: str, name: str, kind: str) -> dict[str, str]:
    """An object reference as the labs send it: no `tenant` (the calling tenant is implied)."""
    return {"namespace": namespace, "name": name, "kind": kind}


@dataclass(frozen=True, slots=True)
class LabContext:
    """What a definition may use to build its objects."""

    lab: str
    petname: str
    namespace: str
    domain: str
    cert_name: str

    def name(self, suffix: str) -> str:
        """An object name of this deployment: `<petname>-<suffix>`."""
        return f"{self.petname}-{suffix}"

    def host(self, *labels: str) -> str:
        """`<petname>[.<labels>].<domain>`."""
        return ".".join((self.petname, *labels, self.domain))

    def local_ref(self, kind: str, name: str) -> dict[str, str]:
        """A reference to an object in this deployment's namespace."""
        return ref(self.namespace, name, kind)

    def certificate_ref(self) -> dict[str, str]:
        """The lab's certificate, which lives in `shared` and is managed outside the helpers."""
        return ref("shared", self.cert_name, "certificate")


@dataclass(frozen=True, slots=True)
class LabObject:
    """One config object of a lab: its plural (`origin_pools`, ...), name and spec."""

    plural: str
    name: str
    spec: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LabDefinition:
    """A lab: its name, default domain base and certificate, and the objects it creates, in order."""

    name: str
    domain: EnvName
    certificate: EnvName
    objects: Callable[[LabContext], Sequence[LabObject]]

    def context(self, petname: str, config: HelperConfig) -> LabContext:
        return LabContext(
            lab=self.name,
            petname=petname,
            namespace=petname,
            domain=config.domain or self.domain.pick(config.dev),
            cert_name=config.cert_name or self.certificate.pick(config.dev),
        )


@dataclass(frozen=True, slots=True)
class PlannedObject:
    """A rendered object: the body to send and the lab objects (by index) it refers to."""

    plural: str
    name: str
    body: dict[str, Any]
    depends_on: tuple[int, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"{self.plural}/{self.name}"


def render(definition: LabDefinition, lab: LabContext) -> list[PlannedObject]:
    """Build every object's body and its dependencies on earlier objects of the lab.

    Raises InputError("petname") when a derived object name is not a valid XC name (too long), and
    ValueError for a definition that repeats an object or refers to a later one (a programming error).
    """
    planned: list[PlannedObject] = []
    index: dict[tuple[str, str], int] = {}
    items = list(definition.objects(lab))
    later = {(item.plural, item.name) for item in items}
    for item in items:
        try:
            names.dns_label("name", item.name)
        except InputError as exc:
            raise InputError("petname", f"gives the invalid object name {item.name!r}: {exc}") from exc
        key = (item.plural, item.name)
        if key in index:
            raise ValueError(f"lab {definition.name}: {item.plural}/{item.name} is defined twice")
        later.discard(key)
        depends: list[int] = []
        for target in _local_refs(item.spec, lab.namespace):
            if any(_is_target(candidate, target) for candidate in later):
                raise ValueError(
                    f"lab {definition.name}: {item.plural}/{item.name} refers to {target[1]}, "
                    "which is created after it"
                )
            depends.extend(i for candidate, i in index.items() if _is_target(candidate, target))
        body = {
            "metadata": {"name": item.name, "namespace": lab.namespace, "disable": False},
            "spec": _plain(item.spec),
        }
        index[key] = len(planned)
        planned.append(PlannedObject(item.plural, item.name, body, tuple(sorted(set(depends)))))
    return planned


def _local_refs(value: Any, namespace: str) -> Iterator[tuple[str | None, str]]:
    """(plural or None, name) of every reference into `namespace` found in a spec."""
    if isinstance(value, Mapping):
        target_ns, target_name = value.get("namespace"), value.get("name")
        if isinstance(target_ns, str) and isinstance(target_name, str):
            if target_ns == namespace:
                kind = value.get("kind")
                yield (f"{kind}s" if isinstance(kind, str) and kind else None), target_name
            return
        for child in value.values():
            yield from _local_refs(child, namespace)
    elif isinstance(value, list | tuple):
        for child in value:
            yield from _local_refs(child, namespace)


def _is_target(candidate: tuple[str, str], target: tuple[str | None, str]) -> bool:
    """Whether a lab object (plural, name) is what a reference (plural or None, name) points at."""
    return candidate[1] == target[1] and target[0] in (None, candidate[0])


def _plain(value: Any) -> Any:
    """A deep copy made of dicts and lists only, so a definition's constants are never shared."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- comparison


def drift(sent: Any, found: Any, path: str = "") -> list[str]:
    """Paths where `found` (a GET answer) differs from `sent`; empty when it matches.

    Only what we send is compared. A key the server left out matches a sent default (false, 0, "",
    null, an empty list, or an empty map in a map-typed field); an empty message `{}` is a one-of
    choice and must be present. An integer matches its decimal string (protobuf JSON int64).
    """
    if isinstance(sent, Mapping):
        return _mapping_drift(sent, found, path)
    if isinstance(sent, list):
        if not isinstance(found, list) or len(found) != len(sent):
            return [path]
        return [
            p
            for i, (want, got) in enumerate(zip(sent, found, strict=True))
            for p in drift(want, got, f"{path}[{i}]")
        ]
    if isinstance(sent, bool) or isinstance(found, bool):
        return [] if sent is found else [path]
    if isinstance(sent, int) and isinstance(found, str) and found.lstrip("-").isdigit():
        return [] if sent == int(found) else [path]
    return [] if sent == found else [path]


def _mapping_drift(sent: Mapping[str, Any], found: Any, path: str) -> list[str]:
    if not isinstance(found, Mapping):
        return [path or "."]
    out: list[str] = []
    for key, want in sent.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in found or found[key] is None:
            if not _may_be_omitted(key, want):
                out.append(where)
            continue
        out.extend(drift(want, found[key], where))
    return out


def _may_be_omitted(key: str, value: Any) -> bool:
    if isinstance(value, list):
        return not value
    if isinstance(value, Mapping):
        return not value and key in _MAP_FIELDS
    return any(value is d or (type(value) is type(d) and value == d) for d in _DEFAULT_SCALARS)


def differences(body: Mapping[str, Any], found: Mapping[str, Any]) -> list[str]:
    """Drifted paths of an object: the metadata we send (name and namespace aside) and the spec."""
    meta = {k: v for k, v in body["metadata"].items() if k not in ("name", "namespace")}
    return drift(meta, found.get("metadata") or {}, "metadata") + drift(
        body["spec"], found.get("spec"), "spec"
    )


# --------------------------------------------------------------------------- apply and remove


@dataclass(frozen=True, slots=True)
class ObjectResult:
    plural: str
    name: str
    result: Outcome

    def to_body(self) -> ObjectBody:
        return {"type": self.plural, "name": self.name, "result": self.result}


@dataclass(frozen=True, slots=True)
class Engine:
    """Applies or removes a rendered lab against one tenant, within `deadline`."""

    xc: XCRequester
    namespace: str
    deadline: Deadline
    sleep: Callable[[float], None] = time.sleep

    def apply(self, plan: Sequence[PlannedObject]) -> list[ObjectResult]:
        """Create or converge each object in order; retryable errors propagate (XCTimeoutError too)."""
        visible: set[int] = set()
        results: list[ObjectResult] = []
        for position, obj in enumerate(plan):
            for dep in obj.depends_on:
                if dep not in visible:
                    self._wait_visible(plan[dep])
                    visible.add(dep)
            outcome, is_visible = self._ensure(obj)
            if is_visible:
                visible.add(position)
            results.append(self._result(obj, outcome))
        return results

    def remove(self, plan: Sequence[PlannedObject]) -> list[ObjectResult]:
        """Delete each object in reverse order; a missing one counts as removed ("absent")."""
        results: list[ObjectResult] = []
        for obj in reversed(plan):
            outcome: Outcome
            try:
                objects.delete(self.xc, self.namespace, obj.plural, obj.name, deadline=self.deadline)
                outcome = "removed"
            except XCNotFoundError:
                outcome = "absent"
            results.append(self._result(obj, outcome))
        return results

    def _result(self, obj: PlannedObject, outcome: Outcome) -> ObjectResult:
        """Log what happened to one object and return it as a result."""
        log.info(
            "lab object " + outcome,
            extra={"type": obj.plural, "object": obj.name, "namespace": self.namespace, "result": outcome},
        )
        return ObjectResult(obj.plural, obj.name, outcome)

    def _ensure(self, obj: PlannedObject) -> tuple[Outcome, bool]:
        """Make one object match its body. Returns the outcome and whether a GET has seen it."""
        found = self._read(obj)
        if found is None:
            try:
                self._create(obj)
                return "created", False
            except XCConflictError as exc:
                if exc.code not in (None, ALREADY_EXISTS_CODE):
                    raise
                # Created by an earlier attempt (not yet visible) or by a concurrent run.
                found = self._wait_visible(obj)
        drifted = differences(obj.body, found)
        if not drifted:
            return "unchanged", True
        log.info("lab object drifted", extra={"type": obj.plural, "object": obj.name, "paths": drifted[:20]})
        objects.replace(self.xc, self.namespace, obj.plural, obj.name, obj.body, deadline=self.deadline)
        return "replaced", True

    def _create(self, obj: PlannedObject) -> None:
        # A create is safe to repeat here: a duplicate answers 409, which _ensure reads as "exists".
        # So the client may also retry it on 503/504, not only on 429.
        objects.create(self.xc, self.namespace, obj.plural, obj.body, idempotent=True, deadline=self.deadline)

    def _read(self, obj: PlannedObject) -> dict[str, Any] | None:
        try:
            found = objects.get(self.xc, self.namespace, obj.plural, obj.name, deadline=self.deadline)
        except XCNotFoundError:
            return None
        return found if isinstance(found, dict) else {}

    def _wait_visible(self, obj: PlannedObject) -> dict[str, Any]:
        pending = f"{obj.label} in namespace {self.namespace} to be visible"
        return wait_until(
            lambda: self._read(obj),
            deadline=self.deadline,
            pending=pending,
            interval=VISIBILITY_INTERVAL,
            sleep=self.sleep,
        )


def run_lab(
    definition: LabDefinition,
    request: LabRequest,
    config: HelperConfig,
    xc: XCRequester,
    *,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> LabBody:
    """Create (or remove) the lab's objects in the petname namespace; the body of the 200 result."""
    lab = definition.context(request.petname, config)
    plan = render(definition, lab)
    engine = Engine(xc, lab.namespace, deadline, sleep=sleep)
    action: Action = request.action
    results = engine.remove(plan) if action == "remove" else engine.apply(plan)
    return {"lab": definition.name, "action": action, "objects": [r.to_body() for r in results]}
