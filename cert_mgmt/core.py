"""Publish a validated certificate pair to XC: create, replace, or leave alone when the tenant has it."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from cert_mgmt.errors import CertificateObjectMissingError, CertificateSourceError, InvalidCertificateError
from cert_mgmt.models import Action, CertRequest, CertTarget, EventResult, PushResult
from cert_mgmt.pem import CertificatePair, LeafInfo, validate_pair
from shared.certpair import CHAIN_FILE, KEY_FILE
from shared.deadline import Deadline
from shared.errors import RetryableError
from shared.secret import Secret
from shared.xc import objects
from shared.xc.client import XCRequester
from shared.xc.credentials import parse_time
from shared.xc.errors import XCConflictError, XCNotFoundError

log = logging.getLogger(__name__)

NAMESPACE: Final = "shared"
PLURAL: Final = "certificates"
SECRET_URL_PREFIX: Final = "string:///"
URL_MAX_BYTES: Final = 131072  # XC's cap on certificate_url and the key's url (docs/xc-api.md §7.4)
OBJECT_MAX_BYTES: Final = 64 * 1024  # far above any real chain or key; keeps a stray upload out of memory
_MISSING_CODES: Final = frozenset({"NoSuchKey", "404", "NotFound"})
_PERMANENT_CODES: Final = frozenset({"AccessDenied", "403", "NoSuchBucket", "InvalidBucketName"})


class S3Reader(Protocol):
    """What core needs from a boto3 S3 client."""

    def get_object(self, *, Bucket: str, Key: str) -> Any: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def push_certificates(
    request: CertRequest,
    *,
    s3: S3Reader,
    xc: XCRequester,
    deadline: Deadline | None = None,
    now: Callable[[], datetime] = utcnow,
) -> EventResult:
    """Publish every certificate the event names, in order; the first failure is raised."""
    results = tuple(
        push_certificate(target, s3=s3, xc=xc, deadline=deadline, now=now) for target in request.targets
    )
    return EventResult(results=results, skipped=request.skipped)


def push_certificate(
    target: CertTarget,
    *,
    s3: S3Reader,
    xc: XCRequester,
    deadline: Deadline | None = None,
    now: Callable[[], datetime] = utcnow,
) -> PushResult:
    """Load and validate the pair, then make XC certificate `shared/<name>` hold it.

    No XC call is made before the pair is valid. Absent -> create (a 409 means a concurrent
    create: read again and compare); present with the same leaf facts -> unchanged; else replace.
    Raises CertificateObjectMissingError and KeyMismatchError (retryable), InvalidCertificateError
    and its subclasses, CertificateSourceError, or the XC client's errors.
    """
    chain_pem = read_object(s3, target.bucket, target.chain_key)
    key_pem = read_object(s3, target.bucket, target.key_key)
    pair = validate_pair(target.name, chain_pem, key_pem, now=now())
    log.debug(
        "certificate pair is valid",
        extra={
            "certificate": target.name,
            "chain_length": pair.chain_length,
            "issuer": pair.leaf.issuer,
            "not_after": pair.leaf.not_after.isoformat(),
        },
    )
    body = certificate_body(pair)
    action = _publish(xc, pair, body, deadline=deadline)
    result = PushResult(
        certificate=target.name, action=action, not_after=pair.leaf.not_after, names=pair.leaf.names
    )
    log.info(
        f"certificate {action}",
        extra={
            "certificate": target.name,
            "action": action,
            "changed": result.changed,
            "not_after": pair.leaf.not_after.isoformat(),
            "names": list(pair.leaf.names),
        },
    )
    return result


def read_object(s3: S3Reader, bucket: str, key: str) -> bytes:
    """The bytes of one pair file. A missing object is retryable: its upload may be in flight."""
    where = f"s3://{bucket}/{key}"
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
        length = answer.get("ContentLength")
        if isinstance(length, int) and length > OBJECT_MAX_BYTES:
            raise InvalidCertificateError(key, f"is {length} bytes, more than a certificate file can be")
        data: bytes = answer["Body"].read(OBJECT_MAX_BYTES + 1)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in _MISSING_CODES:
            raise CertificateObjectMissingError(
                f"{where} does not exist (yet); the other half of the pair may still be uploading"
            ) from exc
        hint = (
            " (the role needs s3:GetObject, and s3:ListBucket to see a missing object as 404)"
            if code in ("AccessDenied", "403")
            else ""
        )
        raise CertificateSourceError(
            f"cannot read {where}: {code or 'error'}{hint}", retryable=code not in _PERMANENT_CODES
        ) from exc
    except BotoCoreError as exc:
        raise CertificateSourceError(f"cannot read {where}: {type(exc).__name__}", retryable=True) from exc
    if len(data) > OBJECT_MAX_BYTES:
        raise InvalidCertificateError(key, f"is more than {OBJECT_MAX_BYTES} bytes")
    return data


def certificate_body(pair: CertificatePair) -> dict[str, Any]:
    """The create/replace body of docs/xc-api.md §7.4: PEM bytes as `string:///` + padded standard base64.

    The key's URL is registered as a secret, so the log masker removes it wherever it might appear.
    """
    chain_url = _secret_url(CHAIN_FILE, pair.chain_pem)
    key_url = Secret(_secret_url(KEY_FILE, pair.key_pem.reveal().encode("ascii")))
    return {
        "metadata": {"name": pair.name, "namespace": NAMESPACE, "disable": False},
        "spec": {
            "certificate_url": chain_url,
            "private_key": {"clear_secret_info": {"url": key_url.reveal()}},
        },
    }


def same_certificate(leaf: LeafInfo, infos: Any) -> bool:
    """Whether any of XC's `spec.infos[]` entries describes this leaf.

    XC shows no serial or fingerprint, so the leaf is recognised by expiry (to the second), names,
    common name, issuer and key algorithm. Fields XC leaves out are not held against a match, except
    the expiry, without which nothing is known.
    """
    if not isinstance(infos, list):
        return False
    return any(_info_matches(leaf, info) for info in infos if isinstance(info, Mapping))


def _info_matches(leaf: LeafInfo, info: Mapping[str, Any]) -> bool:
    expiry = parse_time(info.get("expiry"))
    if expiry is None or int(expiry.timestamp()) != int(leaf.not_after.timestamp()):
        return False
    common_name = info.get("common_name")
    if common_name and str(common_name).lower() != leaf.common_name.lower():
        return False
    # protobuf JSON leaves an empty list out, so a missing list means no names.
    sans = info.get("subject_alternative_names") or []
    if not isinstance(sans, list) or {str(n).lower() for n in sans} != {n.lower() for n in leaf.names}:
        return False
    issuer = info.get("issuer")
    if issuer and not _issuer_matches(str(issuer), leaf):
        return False
    algorithm = info.get("public_key_algorithm")
    return not algorithm or _algorithm_matches(str(algorithm), leaf.key_algorithm)


def _issuer_matches(shown: str, leaf: LeafInfo) -> bool:
    """XC's issuer text format is not documented: accept RFC 4514, OpenSSL's `/C=../CN=..`, or a bare CN."""
    if shown == leaf.issuer:
        return True
    values = set()
    for part in shown.replace("/", ",").split(","):
        _, _, value = part.partition("=")
        values.add((value or part).strip().lower())
    return bool(leaf.issuer_common_name) and leaf.issuer_common_name.lower() in values


def _algorithm_matches(shown: str, algorithm: str) -> bool:
    family = {"ECDSA": "EC", "RSA": "RSA"}.get(algorithm, algorithm.upper())
    return shown.upper().replace("-", "_").startswith(family)


def _publish(
    xc: XCRequester, pair: CertificatePair, body: dict[str, Any], *, deadline: Deadline | None
) -> Action:
    current = _get(xc, pair.name, deadline=deadline)
    if current is None:
        try:
            objects.create(xc, NAMESPACE, PLURAL, body, idempotent=True, deadline=deadline)
            return "created"
        except XCConflictError:
            log.info("certificate was created concurrently; comparing", extra={"certificate": pair.name})
            current = _get(xc, pair.name, deadline=deadline)
            if current is None:
                raise RetryableError(
                    f"certificate {NAMESPACE}/{pair.name} already exists (409) but cannot be read yet"
                ) from None
    if same_certificate(pair.leaf, _infos(current)):
        return "unchanged"
    try:
        objects.replace(xc, NAMESPACE, PLURAL, pair.name, body, deadline=deadline)
    except XCNotFoundError:
        # Deleted between the read and the replace: what is wanted is still "the tenant holds this pair".
        objects.create(xc, NAMESPACE, PLURAL, body, idempotent=True, deadline=deadline)
        return "created"
    return "replaced"


def _get(xc: XCRequester, name: str, *, deadline: Deadline | None) -> dict[str, Any] | None:
    try:
        found = objects.get(xc, NAMESPACE, PLURAL, name, deadline=deadline)
    except XCNotFoundError:
        return None
    return found if isinstance(found, dict) else {}


def _infos(current: Mapping[str, Any]) -> Any:
    spec = current.get("spec")
    return spec.get("infos") if isinstance(spec, Mapping) else None


def _secret_url(file: str, data: bytes) -> str:
    url = SECRET_URL_PREFIX + base64.b64encode(data).decode("ascii")
    if len(url) > URL_MAX_BYTES:
        raise InvalidCertificateError(file, f"encodes to {len(url)} bytes, more than XC's {URL_MAX_BYTES}")
    return url
