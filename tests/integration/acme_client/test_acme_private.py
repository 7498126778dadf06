"""Each function of the adapter over the `acme` library's private API, called for real against Pebble."""

from __future__ import annotations

import josepy as jose
import pytest
from acme import errors, messages
from acme.client import ClientNetwork
from cryptography.hazmat.primitives.asymmetric import ec

from acme_client import acme_private
from acme_client.issue import AcmeNetwork, AcmeSession, NewOrderWithReplaces, connect
from devstack.pebble import Pebble

pytestmark = pytest.mark.integration


@pytest.fixture
def session(pebble: Pebble) -> AcmeSession:
    session = connect(pebble.directory_url, verify=pebble.ca_bundle_path, timeout=10)
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    session.register(key, jose.ES256, email=None)
    return session


def _order(session: AcmeSession) -> NewOrderWithReplaces:
    return NewOrderWithReplaces(
        identifiers=[messages.Identifier(typ=messages.IDENTIFIER_FQDN, value="adapter.lab-mcn.f5demos.com")]
    )


def test_acme_private_post_post_as_get_and_authorization_parser_against_pebble(session):
    # WHEN ordering through the adapter's signed POST
    response = acme_private.post(session.client, session.client.directory["newOrder"], _order(session))
    # THEN Pebble created the order, and its authorization reads back through POST-as-GET and the parser
    assert response.status_code == 201
    order = messages.Order.from_json(response.json())
    url = order.authorizations[0]
    authzr = acme_private.authorization_from_response(
        session.client, acme_private.post_as_get(session.client, url), url
    )
    assert authzr.uri == url
    assert authzr.body.identifier.value == "adapter.lab-mcn.f5demos.com"
    assert authzr.body.status == messages.STATUS_PENDING


def test_acme_private_post_once_and_add_nonce_against_pebble(session):
    net: AcmeNetwork = session.net
    # GIVEN a nonce fetched by hand and stored through the adapter
    head = net.head(session.client.directory["newNonce"])
    acme_private.add_nonce(net, head)
    # WHEN posting once with it THEN Pebble accepts it (an order, as above)
    response = acme_private.post_once(net, session.client.directory["newOrder"], _order(session))
    assert response.status_code == 201
    # AND an answer without a nonce is refused by the library's own check, through the adapter
    response.headers.pop(ClientNetwork.REPLAY_NONCE_HEADER, None)
    with pytest.raises(errors.MissingNonce):
        acme_private.add_nonce(net, response)
