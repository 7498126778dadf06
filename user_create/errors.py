"""The errors user_create raises."""

from __future__ import annotations

from shared.errors import RetryableError


class UserNotVisibleError(RetryableError):
    """The create said the user exists, but the user list does not show it (yet)."""

    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(f"user {email} already exists but is not in the user list yet")
