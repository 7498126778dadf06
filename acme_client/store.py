"""The cert bucket: the published pair under `<CERT_NAME>/`, and acme_client's own objects under the
state prefix (default `_acme/`), which no `<CERT_NAME>/` notification sees.

Keys (the pair's two come from shared.certpair, the layout cert_mgmt reads too):
  <CERT_NAME>/privkey.pem               published key (written first; triggers cert_mgmt)
  <CERT_NAME>/fullchain.pem             published chain (written last; triggers cert_mgmt)
  <prefix>accounts/<host>-<hash>.json   the ACME account for one directory URL (key + URL)
  <prefix>certs/<CERT_NAME>.json        metadata of the published certificate
  <prefix>state/<CERT_NAME>.json        failures, backoff and the last ARI answer
Every write asks for SSE-S3 (AES256).

The conditional create needs `IfNoneMatch` in put_object, which botocore has from 1.35; the Lambda
runtimes ship 1.34 and later. On an SDK whose S3 model lacks the parameter, the same `If-None-Match: *`
header is added to that one request by a `before-sign` hook on the client, so S3 still refuses to
overwrite an existing object.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from acme_client.errors import StoreError
from shared import certpair

log = logging.getLogger(__name__)

SSE: Final = "AES256"
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound"})
_CONDITION_FAILED: Final = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
_HOOK_ID: Final = "acme_client.store.if-none-match"
_create_only = contextvars.ContextVar("acme_client_create_only", default=False)


class S3Client(Protocol):
    """The two S3 calls used (a boto3 client, typed or not, fits)."""

    @property
    def get_object(self) -> Callable[..., Any]: ...

    @property
    def put_object(self) -> Callable[..., Any]: ...


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def has_if_none_match(s3: Any) -> bool:
    """Whether this client's S3 model knows put_object's IfNoneMatch (botocore >= 1.35). A client without
    a botocore model (a test double) is taken at its word."""
    try:
        members = s3.meta.service_model.operation_model("PutObject").input_shape.members
    except AttributeError:
        return True
    return "IfNoneMatch" in members


def _add_if_none_match(request: Any, **_: Any) -> None:
    if _create_only.get():
        request.headers["If-None-Match"] = "*"


def _put_if_absent(s3: Any, **params: Any) -> None:
    """put_object that S3 refuses (412) when the key exists, on any botocore version."""
    if has_if_none_match(s3):
        s3.put_object(IfNoneMatch="*", **params)
        return
    # registered once per client (same unique_id); the context variable limits it to this call
    s3.meta.events.register("before-sign.s3.PutObject", _add_if_none_match, unique_id=_HOOK_ID)
    token = _create_only.set(True)
    try:
        s3.put_object(**params)
    finally:
        _create_only.reset(token)


class CertStore:
    def __init__(self, s3: S3Client, bucket: str, cert_name: str, prefix: str = "_acme/") -> None:
        self._s3 = s3
        self.bucket = bucket
        self.cert_name = cert_name
        self.prefix = prefix

    @property
    def privkey_key(self) -> str:
        return certpair.key_key(self.cert_name)

    @property
    def fullchain_key(self) -> str:
        return certpair.chain_key(self.cert_name)

    @property
    def metadata_key(self) -> str:
        return f"{self.prefix}certs/{self.cert_name}.json"

    @property
    def state_key(self) -> str:
        return f"{self.prefix}state/{self.cert_name}.json"

    def account_key(self, directory_url: str) -> str:
        """One account object per directory URL (staging and production need separate accounts)."""
        host = urlsplit(directory_url).hostname or "directory"
        digest = hashlib.sha256(directory_url.encode()).hexdigest()[:16]
        return f"{self.prefix}accounts/{host}-{digest}.json"

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist. Any other error (403 included) raises."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise StoreError(f"cannot read s3://{self.bucket}/{key}: {_code(exc)}") from exc
        body: bytes = response["Body"].read()
        return body

    def read_json(self, key: str) -> dict[str, Any] | None:
        raw = self.read(key)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except ValueError:
            log.warning("ignoring unreadable JSON object", extra={"key": key})
            return None
        return doc if isinstance(doc, dict) else None

    def write(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self._s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption=SSE
            )
        except ClientError as exc:
            raise StoreError(f"cannot write s3://{self.bucket}/{key}: {_code(exc)}") from exc

    def write_json(self, key: str, doc: Any) -> None:
        self.write(key, json.dumps(doc, indent=2, sort_keys=True).encode(), "application/json")

    def create(self, key: str, body: bytes, content_type: str) -> bool:
        """Write only if absent (If-None-Match: *). False when another writer got there first."""
        try:
            _put_if_absent(
                self._s3,
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ServerSideEncryption=SSE,
            )
        except ClientError as exc:
            if _code(exc) in _CONDITION_FAILED:
                return False
            raise StoreError(f"cannot create s3://{self.bucket}/{key}: {_code(exc)}") from exc
        return True
