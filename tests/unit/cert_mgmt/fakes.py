"""Fakes for cert_mgmt core tests: an S3 bucket and an XC tenant's `shared/certificates`."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from cryptography import x509

from shared.deadline import Deadline
from shared.xc.errors import from_status
from tests.fixtures.pki import xc_info

PREFIX = "/api/config/namespaces/shared/certificates"


class FakeS3:
    def __init__(self, bucket: str = "tops-cert-bucket") -> None:
        self.bucket = bucket
        self.objects: dict[tuple[str, str], bytes] = {}
        self.error_code: str | None = None

    def put(self, key: str, data: bytes) -> None:
        self.objects[(self.bucket, key)] = data

    def get_object(self, *, Bucket: str, Key: str) -> Any:
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "x"}}, "GetObject")
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no such key"}},
                              "GetObject")
        data = self.objects[(Bucket, Key)]
        return {"Body": io.BytesIO(data), "ContentLength": len(data)}


def decode_url(url: str) -> bytes:
    assert url.startswith("string:///")
    return base64.b64decode(url[len("string:///"):], validate=True)


@dataclass
class FakeCertXC:
    """`shared/certificates` with `infos[]` computed from the uploaded chain; never returns the key."""

    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, bytes] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    conflict_with: dict[str, Any] | None = None  # body another writer creates just before our POST
    fail_status: int | None = None

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotent: bool | None = None, timeout: Any = None, deadline: Deadline | None = None) -> Any:
        self.calls.append((method, path))
        if self.fail_status:
            raise self._error(self.fail_status, method, path)
        name = path[len(PREFIX) + 1:] if path.startswith(PREFIX + "/") else None
        if method == "GET" and name:
            if name not in self.stored:
                raise self._error(404, method, path)
            return self.stored[name]
        if method == "GET" and path == PREFIX:
            return {"items": [{"name": n, "namespace": "shared"} for n in self.stored], "errors": []}
        if method == "POST" and path == PREFIX:
            if self.conflict_with is not None:
                self._store(self.conflict_with)
                self.conflict_with = None
            if json["metadata"]["name"] in self.stored:
                raise self._error(409, method, path)
            return self._store(json)
        if method == "PUT" and name:
            if name not in self.stored:
                raise self._error(404, method, path)
            return self._store(json)
        raise self._error(404, method, path)

    def writes(self) -> list[str]:
        return [method for method, _ in self.calls if method in ("POST", "PUT")]

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        chain = decode_url(body["spec"]["certificate_url"])
        self.keys[name] = decode_url(body["spec"]["private_key"]["clear_secret_info"]["url"])
        infos = [xc_info(cert) for cert in x509.load_pem_x509_certificates(chain)]
        self.stored[name] = {
            "metadata": dict(body["metadata"]),
            "spec": {"certificate_url": body["spec"]["certificate_url"],
                     "private_key": {"clear_secret_info": {"url": "string:///<redacted>"}}, "infos": infos},
            "system_metadata": {"uid": "u-1"},
        }
        return self.stored[name]

    @staticmethod
    def _error(status: int, method: str, path: str) -> Exception:
        return from_status(status)(status=status, method=method, url=f"https://t.example{path}",
                                   body='{"code": 5, "message": "no"}')
