"""cert_mgmt event parsing, result and error types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, NotRequired, TypedDict
from urllib.parse import unquote_plus

from shared.errors import InputError, RetryableError, TopsError

CHAIN_FILE: Final = "fullchain.pem"
KEY_FILE: Final = "privkey.pem"
PAIR_FILES: Final = (CHAIN_FILE, KEY_FILE)
# XC object names are DNS-1035 labels; the key is `<name>/<file>` with nothing in between.
_PAIR_KEY = re.compile(r"^(?P<name>[a-z]([-a-z0-9]{0,61}[a-z0-9])?)/(?P<file>fullchain\.pem|privkey\.pem)$")

Action = Literal["created", "replaced", "unchanged"]


@dataclass(frozen=True, slots=True)
class CertTarget:
    """One certificate to publish: the pair `<name>/fullchain.pem` and `<name>/privkey.pem` in `bucket`."""

    bucket: str
    name: str

    @property
    def chain_key(self) -> str:
        return f"{self.name}/{CHAIN_FILE}"

    @property
    def key_key(self) -> str:
        return f"{self.name}/{KEY_FILE}"


@dataclass(frozen=True, slots=True)
class CertRequest:
    """The distinct certificates an event touches, and the object keys it ignored."""

    targets: tuple[CertTarget, ...]
    skipped: tuple[str, ...] = ()


def cert_name_of(key: str) -> str | None:
    """The certificate name of a decoded object key of a pair file, or None for any other object."""
    match = _PAIR_KEY.match(key)
    return match.group("name") if match else None


def parse_event(event: Any, *, default_bucket: str, default_name: str) -> CertRequest:
    """The certificates named by an S3 notification's records, each once, in order of appearance.

    Keys arrive URL-encoded (`+` for a space). Records for other objects, or for anything but an
    object creation, are skipped. An event without any S3 record (a manual or test invoke) means
    `default_name` in `default_bucket`; S3's `s3:TestEvent` means nothing. InputError names the field
    of a malformed record.
    """
    if event is None:
        event = {}
    if not isinstance(event, dict):
        raise InputError("event", f"must be a JSON object, got {type(event).__name__}")
    if event.get("Event") == "s3:TestEvent":
        return CertRequest(targets=(), skipped=("s3:TestEvent",))
    records = event.get("Records")
    if records is None:
        records = []
    if not isinstance(records, list):
        raise InputError("Records", f"must be a list, got {type(records).__name__}")
    s3_records = [(i, r) for i, r in enumerate(records) if isinstance(r, dict) and "s3" in r]
    if not s3_records:
        return CertRequest(targets=(CertTarget(bucket=default_bucket, name=default_name),))
    targets: list[CertTarget] = []
    skipped: list[str] = []
    for index, record in s3_records:
        where = f"Records[{index}]"
        s3 = record["s3"]
        if not isinstance(s3, dict):
            raise InputError(f"{where}.s3", "must be an object")
        obj = s3.get("object")
        raw_key = obj.get("key") if isinstance(obj, dict) else None
        if not isinstance(raw_key, str) or not raw_key:
            raise InputError(f"{where}.s3.object.key", f"must be a non-empty string, got {raw_key!r:.80}")
        bucket_field = s3.get("bucket")
        bucket = bucket_field.get("name") if isinstance(bucket_field, dict) else None
        if bucket is not None and (not isinstance(bucket, str) or not bucket):
            raise InputError(f"{where}.s3.bucket.name", f"must be a non-empty string, got {bucket!r:.80}")
        key = unquote_plus(raw_key)
        event_name = record.get("eventName")
        if isinstance(event_name, str) and not event_name.startswith("ObjectCreated:"):
            skipped.append(key)
            continue
        name = cert_name_of(key)
        if name is None:
            skipped.append(key)
            continue
        target = CertTarget(bucket=bucket or default_bucket, name=name)
        if target not in targets:
            targets.append(target)
    return CertRequest(targets=tuple(targets), skipped=tuple(skipped))


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
        return {"certificate": self.certificate, "action": self.action, "changed": self.changed,
                "not_after": self.not_after.isoformat(), "names": list(self.names)}


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


class CertificateSourceError(TopsError):
    """A pair file could not be read from S3 (access denied, no bucket, S3 failing)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        self.retryable = retryable
        super().__init__(message)


class CertificateObjectMissingError(RetryableError):
    """A pair file does not exist (yet): the other half of a renewal may still be on its way."""


class InvalidCertificateError(TopsError):
    """A pair file does not hold what it must; `file` names it. Never carries key material."""

    def __init__(self, file: str, message: str) -> None:
        self.file = file
        super().__init__(f"{file}: {message}")


class ChainOrderError(InvalidCertificateError):
    """fullchain.pem is not leaf first, each certificate signed by the next."""


class CertificateExpiredError(InvalidCertificateError):
    """The leaf certificate's notAfter has passed."""


class KeyMismatchError(RetryableError):
    """privkey.pem does not belong to the leaf of fullchain.pem: a renewal is half written."""
