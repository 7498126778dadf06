"""The errors token_refresh raises about the credential it renews."""

from __future__ import annotations

from shared.errors import TopsError


class CredentialError(TopsError):
    """Something is wrong with the credential itself; `credential` names it."""

    def __init__(self, credential: str, message: str) -> None:
        self.credential = credential
        super().__init__(message)


class CredentialNotFoundError(CredentialError):
    """The tenant has no credential with the name in SSM `token-name`."""


class CredentialStateError(CredentialError):
    """The tenant answered, but without a readable expiry for the credential."""


class CredentialExpiredError(CredentialError):
    """The credential has expired: it cannot renew itself, an operator must replace it."""


class CredentialInactiveError(CredentialError):
    """The credential is revoked or inactive: renewing it would not make it usable again."""


class TokenRejectedError(CredentialError):
    """The tenant refused the token (401/403) before anything could be renewed."""


class RenewRejectedError(CredentialError):
    """The renew call answered without `status: true`. Possibly transient: the schedule retries."""

    retryable = True


class ExpiryNotExtendedError(CredentialError):
    """The renew call claimed success but the expiry read back did not move forward."""

    retryable = True
