"""The one place that touches private parts of certbot's `acme` library (pinned in requirements.txt).

`ClientV2.new_order` cannot carry RFC 9773's `replaces`, and the library's polling sleeps a fixed second
per round, so issue.py drives those steps itself with the library's own request plumbing: the signed
POST (`ClientV2._post`), POST-as-GET (`ClientV2._post_as_get`), the authorization parser
(`ClientV2._authzr_from_response`), one signed POST without the library's single badNonce retry
(`ClientNetwork._post_once`) and the nonce store (`ClientNetwork._add_nonce`).

If an upgrade of `acme` renames or reshapes any of them, importing this module fails at once with a
message naming what changed (`check()`), and tests/unit/acme_client/test_acme_private.py compares each
signature with the one below; tests/integration/acme_client/test_acme_private.py calls each against Pebble.
"""

from __future__ import annotations

import inspect
from typing import Any, Final

import josepy as jose
import requests
from acme import messages
from acme.client import ClientNetwork, ClientV2

# "Class.attribute" -> the parameters the adapter relies on (names, kinds and defaults; annotations are
# left out because their spelling changes between Python versions, not the way a call binds).
EXPECTED_SIGNATURES: Final = {
    "ClientV2._post": "(self, *args, **kwargs)",
    "ClientV2._post_as_get": "(self, *args, **kwargs)",
    "ClientV2._authzr_from_response": "(self, response, identifier=None, uri=None)",
    "ClientNetwork._post_once": "(self, url, obj, content_type='application/jose+json', **kwargs)",
    "ClientNetwork._add_nonce": "(self, response)",
}
_OWNERS: Final = {"ClientV2": ClientV2, "ClientNetwork": ClientNetwork}


class AcmeLibraryChangedError(ImportError):
    """The installed `acme` no longer offers a private method this adapter relies on."""


def parameters(method: Any) -> str:
    """`method`'s parameters as `(a, b=1, *args, **kwargs)`, without annotations."""
    signature = inspect.signature(method)
    bare = [
        parameter.replace(annotation=inspect.Parameter.empty) for parameter in signature.parameters.values()
    ]
    return str(signature.replace(parameters=bare, return_annotation=inspect.Signature.empty))


def signatures() -> dict[str, str | None]:
    """The installed library's parameters of each relied-on method (None when it is missing)."""
    found: dict[str, str | None] = {}
    for name in EXPECTED_SIGNATURES:
        owner, attribute = name.split(".")
        method = getattr(_OWNERS[owner], attribute, None)
        found[name] = parameters(method) if callable(method) else None
    return found


def check(*, signatures_too: bool = False) -> None:
    """Raise AcmeLibraryChangedError naming every missing (or, with `signatures_too`, reshaped) method."""
    problems = []
    for name, signature in signatures().items():
        if signature is None:
            problems.append(f"{name} is gone")
        elif signatures_too and signature != EXPECTED_SIGNATURES[name]:
            problems.append(f"{name} is now {signature}, expected {EXPECTED_SIGNATURES[name]}")
    if problems:
        raise AcmeLibraryChangedError(
            "acme_client.acme_private needs updating for this acme version: " + "; ".join(problems)
        )


check()  # presence only: cheap enough for every import, and loud before any order is placed


def post(client: ClientV2, url: str, obj: jose.JSONDeSerializable) -> requests.Response:
    """A signed POST of `obj` (badNonce handling and nonce refresh included)."""
    response: requests.Response = client._post(url, obj)
    return response


def post_as_get(client: ClientV2, url: str) -> requests.Response:
    """A signed POST-as-GET of `url` (RFC 8555 §6.3)."""
    response: requests.Response = client._post_as_get(url)
    return response


def authorization_from_response(
    client: ClientV2, response: requests.Response, uri: str
) -> messages.AuthorizationResource:
    """The authorization in a POST-as-GET answer, with its URL."""
    return client._authzr_from_response(response, uri=uri)


def post_once(net: ClientNetwork, url: str, obj: jose.JSONDeSerializable, **kwargs: Any) -> requests.Response:
    """One signed POST, without the library's own single badNonce retry (the caller retries)."""
    response: requests.Response = net._post_once(url, obj, **kwargs)
    return response


def add_nonce(net: ClientNetwork, response: requests.Response) -> None:
    """Keep the Replay-Nonce of `response` for the next POST (raises acme.errors.BadNonce/MissingNonce)."""
    net._add_nonce(response)
