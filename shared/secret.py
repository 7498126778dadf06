"""Secrets: a wrapper that keeps them out of reprs and f-strings, and the one masker.

`mask_text` and `mask` are the single mechanism that removes secrets from text: log records
(`shared.log`), exception messages (`shared.errors.TopsError` masks its message when it is built),
and anything persisted or returned (a state table's `failure_reason`, an error body). They remove
PEM private keys, `APIToken`/`Bearer` header values, and every value registered by `Secret`, also
in its escaped forms (a repr or a JSON string) and line by line when it spans lines.

This module imports only the standard library, so that errors can mask without pulling in the
logging stack.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Final

MASK: Final = "***"
_MIN_SECRET_LEN: Final = 6

_SENSITIVE_KEY = re.compile(
    r"^(authorization|password|passwd|token|.*[-_]token|token[-_]value|.*secret.*|.*private[-_]?key.*|"
    r"privkey|hmac[-_]?key|key[-_]pem|account[-_]key)$",
    re.IGNORECASE,
)
# The key body may be raw or JSON-escaped ("\\n"), and may be cut short (a truncated error body).
_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|\\[nr])*(?:-----END \1PRIVATE KEY-----)?"
)
# The value ends at white space, a quote, a comma, a brace or a backslash (an escaped quote in JSON).
_AUTH_HEADER = re.compile(r"(APIToken|Bearer)\s+[^\s\"',}\\]+", re.IGNORECASE)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def _forms(value: str) -> set[str]:
    """The ways a secret can show up in text: as is, escaped as a repr or JSON string would show
    it, and (for a value with line breaks) each of its lines but PEM armour lines."""
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1]}
    forms.update(line.strip() for line in value.splitlines() if not line.startswith("-----"))
    return {form for form in forms if len(form) >= _MIN_SECRET_LEN}


def register_secret(value: str) -> None:
    """Mask this exact value (and its escaped forms) wherever it appears from now on."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.update(_forms(value))


def mask_text(text: str) -> str:
    """Remove PEM private keys, auth header values and registered secrets from a string."""
    text = _PEM_PRIVATE.sub(lambda m: f"-----BEGIN {m.group(1)}PRIVATE KEY-----{MASK}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask(value: Any) -> Any:
    """Return a copy of `value` with sensitive keys masked at any depth and strings cleaned."""
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(k, str) and _SENSITIVE_KEY.match(k) and v not in (None, "") else mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


class Secret:
    """Holds a secret string. `str()` and `repr()` give `***`; call `reveal()` at the point of use.

    Creating a Secret also registers its value with the masker, so that it is removed even if it
    reaches a message some other way.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
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
