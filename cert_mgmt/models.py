"""cert_mgmt event parsing, result and error types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict
from urllib.parse import unquote_plus

from shared import certpair
from shared.errors import InputError

# XC object names are DNS-1035 labels; the key is `<name>/<file>` with nothing in between.

Action = Literal["created", "replaced", "unchanged"]


@dataclass(frozen=True, slots=True)
class CertTarget:
    """One certificate to publish: the pair `<name>/fullchain.pem` and `<name>/privkey.pem` in `bucket`."""

    bucket: str
    name: str

    @property
    def chain_key(self) -> str:
        return certpair.chain_key(self.name)

    @property
    def key_key(self) -> str:
        return certpair.key_key(self.name)


@dataclass(frozen=True, slots=True)
class CertRequest:
    """The distinct certificates an event touches, and the object keys it ignored."""

    targets: tuple[CertTarget, ...]
    skipped: tuple[str, ...] = ()


def parse_event(event: Any, *, bucket: str, cert_name: str) -> CertRequest:
    """The certificate an S3 notification names: this function's own `cert_name` in `bucket`, only.

    Keys arrive URL-encoded (`+` for a space). Records for anything but an object creation, and
    objects under `<cert_name>/` other than the two pair files, are skipped; S3's `s3:TestEvent`
    means nothing to do. Raises InputError naming the field when the event has no S3 record, when
    a record names another bucket or an object outside `<cert_name>/` (each cert_mgmt function
    publishes its own certificate and nothing else), or when a record is malformed.
    """
    if not isinstance(event, dict):
        raise InputError("event", f"must be a JSON object, got {type(event).__name__}")
    if event.get("Event") == "s3:TestEvent":
        return CertRequest(targets=(), skipped=("s3:TestEvent",))
    records = event.get("Records")
    if not isinstance(records, list) or not any(isinstance(r, dict) and "s3" in r for r in records):
        raise InputError(
            "Records",
            f"holds no S3 record: this function publishes certificate {cert_name} "
            f"on S3 ObjectCreated events for {cert_name}/ in {bucket}",
        )
    target = CertTarget(bucket=bucket, name=cert_name)
    wanted = False
    skipped: list[str] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "s3" not in record:
            continue
        where = f"Records[{index}]"
        s3 = record["s3"]
        if not isinstance(s3, dict):
            raise InputError(f"{where}.s3", "must be an object")
        obj = s3.get("object")
        raw_key = obj.get("key") if isinstance(obj, dict) else None
        if not isinstance(raw_key, str) or not raw_key:
            raise InputError(f"{where}.s3.object.key", f"must be a non-empty string, got {raw_key!r:.80}")
        bucket_field = s3.get("bucket")
        record_bucket = bucket_field.get("name") if isinstance(bucket_field, dict) else None
        if record_bucket != bucket:
            raise InputError(
                f"{where}.s3.bucket.name",
                f"must be {bucket!r} (this function's bucket), got {record_bucket!r:.80}",
            )
        key = unquote_plus(raw_key)
        if not key.startswith(f"{cert_name}/"):
            raise InputError(
                f"{where}.s3.object.key",
                f"{key[:120]!r} is not under {cert_name}/: this "
                f"function publishes certificate {cert_name} only",
            )
        event_name = record.get("eventName")
        created = not isinstance(event_name, str) or event_name.startswith("ObjectCreated:")
        if not created or key.removeprefix(f"{cert_name}/") not in certpair.PAIR_FILES:
            skipped.append(key)
            continue
        wanted = True
    return CertRequest(targets=(target,) if wanted else (), skipped=tuple(skipped))


class PushBody(TypedDict):
    certificate: str
    action: Action
    changed: bool
    not_after: str
    names: list[str]


@dataclass(frozen=True, slots=True)
class PushResult:
    certificate: str
    action: Action
    not_after: datetime
    names: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"

    def body(self) -> PushBody:
        return {
            "certificate": self.certificate,
            "action": self.action,
            "changed": self.changed,
            "not_after": self.not_after.isoformat(),
            "names": list(self.names),
        }


class EventBody(TypedDict):
    certificates: list[PushBody]
    skipped: list[str]
    certificate: NotRequired[str]
    action: NotRequired[Action]
    changed: NotRequired[bool]
    not_after: NotRequired[str]
    names: NotRequired[list[str]]


@dataclass(frozen=True, slots=True)
class EventResult:
    results: tuple[PushResult, ...]
    skipped: tuple[str, ...] = ()

    def body(self) -> EventBody:
        """Every certificate handled and every key skipped; with one certificate (the usual S3
        notification), its fields also at the top level."""
        body: EventBody = {"certificates": [r.body() for r in self.results], "skipped": list(self.skipped)}
        if len(self.results) == 1:
            only = self.results[0].body()
            body["certificate"] = only["certificate"]
            body["action"] = only["action"]
            body["changed"] = only["changed"]
            body["not_after"] = only["not_after"]
            body["names"] = only["names"]
        return body
