"""The adapter over the `acme` library's private API: it must fail loudly when the pinned version moves.

tests/integration/acme_client/test_acme_private.py calls each adapter function against Pebble.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from pathlib import Path
from typing import Any

import pytest
from acme.client import ClientNetwork, ClientV2

from acme_client import acme_private

REQUIREMENTS = Path(__file__).resolve().parents[3] / "acme_client" / "requirements.txt"


def test_acme_private_installed_acme_is_the_pinned_version():
    pinned = re.search(r"^acme==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pinned is not None
    assert importlib.metadata.version("acme") == pinned.group(1), (
        "acme was upgraded: check acme_client/acme_private.py against the new version, then update the pin"
    )


def test_acme_private_every_relied_on_method_has_the_expected_parameters():
    # a mismatch here means the adapter's calls may bind differently: read the new code first
    assert acme_private.signatures() == acme_private.EXPECTED_SIGNATURES
    acme_private.check(signatures_too=True)


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (ClientV2, "_post"),
        (ClientV2, "_post_as_get"),
        (ClientV2, "_authzr_from_response"),
        (ClientNetwork, "_post_once"),
        (ClientNetwork, "_add_nonce"),
    ],
)
def test_acme_private_import_fails_loudly_when_a_method_is_gone(monkeypatch, owner, name):
    # GIVEN an acme version without one of the methods
    monkeypatch.delattr(owner, name)
    # WHEN the adapter is imported THEN the error (an ImportError) names what is missing
    with pytest.raises(ImportError, match=f"{owner.__name__}.{name} is gone"):
        importlib.reload(acme_private)
    monkeypatch.undo()
    importlib.reload(acme_private)  # leave a clean module behind


def test_acme_private_reshaped_method_is_reported_with_both_signatures(monkeypatch):
    def reshaped(self: Any, response: Any, *, uri: Any = None) -> Any:
        raise AssertionError

    monkeypatch.setattr(ClientV2, "_authzr_from_response", reshaped)
    with pytest.raises(acme_private.AcmeLibraryChangedError) as caught:
        acme_private.check(signatures_too=True)
    assert "(self, response, *, uri=None)" in str(caught.value)
    assert acme_private.EXPECTED_SIGNATURES["ClientV2._authzr_from_response"] in str(caught.value)


def test_acme_private_is_the_only_module_touching_private_acme_api():
    # every `._post`, `._post_as_get`, `._authzr_from_response`, `._post_once`, `._add_nonce` call of
    # acme_client lives in the adapter
    package = Path(acme_private.__file__).parent
    pattern = re.compile(r"\._(post|post_as_get|authzr_from_response|post_once|add_nonce|send_request)\b")
    offenders = [
        path.name
        for path in package.glob("*.py")
        if path.name != "acme_private.py" and pattern.search(path.read_text())
    ]
    assert offenders == []
