"""Where a published certificate pair lives in the cert bucket: `<name>/fullchain.pem` (the chain, leaf
first) and `<name>/privkey.pem` (its unencrypted key).

This is the one contract between acme_client, which writes the pair, and cert_mgmt, which uploads it to
XC on every write. Standard library only.
"""

from __future__ import annotations

from typing import Final

CHAIN_FILE: Final = "fullchain.pem"
KEY_FILE: Final = "privkey.pem"
PAIR_FILES: Final = (CHAIN_FILE, KEY_FILE)


def chain_key(name: str) -> str:
    """The object key of certificate `name`'s chain."""
    return f"{name}/{CHAIN_FILE}"


def key_key(name: str) -> str:
    """The object key of certificate `name`'s private key."""
    return f"{name}/{KEY_FILE}"
