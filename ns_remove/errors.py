"""The errors ns_remove raises."""

from __future__ import annotations

from shared.errors import TopsError
from shared.xc.lists import DeletedObject, Failure, describe_failures


class CascadeDeleteError(TopsError):
    """cascade_delete answered 200 but some objects report an `error_message`: they may still exist.

    Retryable: cascade_delete is safe to repeat, and a later run deletes what is left (or fails
    the same way, loudly). `deleted` and `failed` keep both halves of the answer.
    """

    retryable = True

    def __init__(
        self, namespace: str, deleted: tuple[DeletedObject, ...], failed: tuple[Failure, ...]
    ) -> None:
        self.namespace = namespace
        self.deleted = deleted
        self.failed = failed
        more = f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""
        super().__init__(
            f"cascade delete of namespace {namespace} left {len(failed)} object(s) behind: "
            f"{describe_failures(failed)}{more}"
        )
