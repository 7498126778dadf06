"""The errors cert_mgmt raises about the certificate pair it publishes."""

from __future__ import annotations

from shared.errors import RetryableError, TopsError


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
