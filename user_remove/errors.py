"""The errors user_remove raises."""

from __future__ import annotations

from shared.errors import TopsError
from shared.xc.lists import DeletedObject, Failure, describe_failures


class UserDeleteError(TopsError):
    """cascade_delete answered 200 without deleting everything (`delete_ok` false, or an item with an
    `error_message`). Retryable: the delete is safe to repeat."""

    retryable = True

    def __init__(self, email: str, deleted: tuple[DeletedObject, ...], failed: tuple[Failure, ...]) -> None:
        self.email = email
        self.deleted = deleted
        self.failed = failed
        detail = describe_failures(failed)
        super().__init__(
            f"cascade delete of user {email} did not complete: {len(failed)} object(s) failed"
            + (f": {detail}" if detail else "")
        )
