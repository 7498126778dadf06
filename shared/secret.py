"""A wrapper that keeps secrets out of reprs, f-strings and logs."""

from __future__ import annotations

from typing import Final

MASK: Final = "***"


class Secret:
    """Holds a secret string. `str()` and `repr()` give `***`; call `reveal()` at the point of use.

    Creating a Secret also registers its value with `shared.log`, so that the log masker removes it
    even if it reaches a message some other way.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        from shared.log import register_secret  # local import: log imports this module

        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)
