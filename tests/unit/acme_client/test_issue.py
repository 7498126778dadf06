"""The ACME protocol layer: badNonce retries, Retry-After, `replaces`, and the order flow (fake CA)."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from typing import Any, cast

import josepy as jose
import pytest
import requests
import responses
from acme import challenges, errors, messages
from cryptography.hazmat.primitives.asymmetric import ec

from acme_client.errors import AcmeProblemError, DeadlineError, RateLimitedError, ValidationFailedError
from acme_client.issue import (
    AcmeNetwork,
    AcmeSession,
    Issued,
    NewOrderWithReplaces,
    _order,
    obtain_certificate,
    translate,
)
from shared.deadline import Deadline
from shared.errors import RetryableError

CA = "https://ca.test"
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def key() -> jose.JWK:
    return jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


def _nonce(n: int) -> str:
    return jose.b64encode(f"nonce-{n}".encode()).decode()


def _problem(
    code: str, detail: str = "", status: int = 400, nonce: int | None = None, retry_after: str | None = None
) -> dict[str, Any]:
    headers = {"Content-Type": "application/problem+json"}
    if nonce is not None:
        headers["Replay-Nonce"] = _nonce(nonce)
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return {
        "status": status,
        "headers": headers,
        "body": json.dumps({"type": f"urn:ietf:params:acme:error:{code}", "detail": detail}),
    }


def _ok(nonce: int) -> dict[str, Any]:
    return {
        "status": 200,
        "headers": {"Content-Type": "application/json", "Replay-Nonce": _nonce(nonce)},
        "body": json.dumps({"status": "ok"}),
    }


@responses.activate
def test_network_bad_nonce_retried_with_the_nonce_from_the_error(key):
    # GIVEN a CA that rejects three nonces, each rejection carrying a fresh nonce
    responses.add(responses.HEAD, f"{CA}/nonce", headers={"Replay-Nonce": _nonce(0)})
    for n in range(1, 4):
        responses.add(responses.POST, f"{CA}/thing", **_problem("badNonce", nonce=n))
    responses.add(responses.POST, f"{CA}/thing", **_ok(9))
    net = AcmeNetwork(key, alg=jose.ES256)
    # WHEN posting
    response = net.post(f"{CA}/thing", None, new_nonce_url=f"{CA}/nonce")
    # THEN it succeeds after four POSTs and asked newNonce only once
    assert response.status_code == 200
    methods = [call.request.method for call in responses.calls]
    assert methods == ["HEAD", "POST", "POST", "POST", "POST"]


@responses.activate
def test_network_bad_nonce_retries_are_bounded(key):
    responses.add(responses.HEAD, f"{CA}/nonce", headers={"Replay-Nonce": _nonce(0)})
    for n in range(1, 20):
        responses.add(responses.POST, f"{CA}/thing", **_problem("badNonce", nonce=n))
    net = AcmeNetwork(key, alg=jose.ES256, bad_nonce_retries=3)
    with pytest.raises(messages.Error) as caught:
        net.post(f"{CA}/thing", None, new_nonce_url=f"{CA}/nonce")
    assert caught.value.code == "badNonce"
    assert sum(1 for call in responses.calls if call.request.method == "POST") == 4


@responses.activate
def test_network_rate_limited_becomes_error_with_retry_time_and_no_retry(key):
    # GIVEN a 429 rateLimited with Retry-After
    responses.add(responses.HEAD, f"{CA}/nonce", headers={"Replay-Nonce": _nonce(0)})
    responses.add(
        responses.POST,
        f"{CA}/order",
        **_problem("rateLimited", "too many certificates", 429, nonce=1, retry_after="3600"),
    )
    net = AcmeNetwork(key, alg=jose.ES256)
    # WHEN posting THEN the library error maps to RateLimitedError with the time, after one POST only
    with pytest.raises(messages.Error) as caught:
        net.post(f"{CA}/order", None, new_nonce_url=f"{CA}/nonce")
    error = translate(caught.value, net, NOW)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == NOW + dt.timedelta(hours=1)
    assert not error.retryable
    assert sum(1 for call in responses.calls if call.request.method == "POST") == 1


def test_translate_rate_limited_time_from_detail_text():
    problem = messages.Error.with_code(
        "rateLimited",
        detail="too many certificates (5) already issued for this exact set of identifiers "
        "in the last 168h0m0s, retry after 2026-06-03 10:00:00 UTC",
    )
    error = translate(problem, None, NOW)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == dt.datetime(2026, 6, 3, 10, tzinfo=dt.UTC)


@responses.activate
def test_network_server_busy_with_short_retry_after_is_retried_once(key):
    sleeps: list[float] = []
    responses.add(responses.HEAD, f"{CA}/nonce", headers={"Replay-Nonce": _nonce(0)})
    responses.add(
        responses.POST, f"{CA}/thing", **_problem("serverInternal", "busy", 503, nonce=1, retry_after="2")
    )
    responses.add(responses.POST, f"{CA}/thing", **_ok(2))
    net = AcmeNetwork(key, alg=jose.ES256, sleep=sleeps.append)
    assert net.post(f"{CA}/thing", None, new_nonce_url=f"{CA}/nonce").status_code == 200
    assert sleeps == [2.0]


@responses.activate
def test_network_server_busy_with_long_retry_after_is_not_waited_for(key):
    responses.add(responses.HEAD, f"{CA}/nonce", headers={"Replay-Nonce": _nonce(0)})
    responses.add(
        responses.POST, f"{CA}/thing", **_problem("serverInternal", "busy", 503, nonce=1, retry_after="600")
    )
    net = AcmeNetwork(key, alg=jose.ES256, sleep=lambda s: pytest.fail("must not sleep"))
    with pytest.raises(messages.Error) as caught:
        net.post(f"{CA}/thing", None, new_nonce_url=f"{CA}/nonce")
    error = translate(caught.value, net, NOW)
    assert isinstance(error, AcmeProblemError) and error.retryable


def test_translate_problem_keeps_code_and_subproblems():
    problem = messages.Error.from_json(
        {
            "type": "urn:ietf:params:acme:error:compound",
            "detail": "two problems",
            "subproblems": [
                {
                    "type": "urn:ietf:params:acme:error:caa",
                    "detail": "CAA forbids",
                    "identifier": {"type": "dns", "value": "lab.example.com"},
                },
                {
                    "type": "urn:ietf:params:acme:error:dns",
                    "detail": "SERVFAIL",
                    "identifier": {"type": "dns", "value": "*.lab.example.com"},
                },
            ],
        }
    )
    error = translate(problem, None, NOW)
    assert isinstance(error, AcmeProblemError)
    assert error.code == "compound"
    assert error.subproblems == ("lab.example.com: caa: CAA forbids", "*.lab.example.com: dns: SERVFAIL")


def test_translate_transport_failure_is_retryable():
    assert isinstance(translate(requests.ConnectionError("refused"), None, NOW), RetryableError)
    assert isinstance(translate(errors.TimeoutError(), None, NOW), DeadlineError)


def test_new_order_with_replaces_serializes_the_field_only_when_set():
    identifiers = [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value="lab.example.com")]
    with_replaces = NewOrderWithReplaces(
        identifiers=identifiers, replaces="aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    )
    assert with_replaces.to_partial_json()["replaces"] == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    assert "replaces" not in NewOrderWithReplaces(identifiers=identifiers).to_partial_json()
    assert json.loads(with_replaces.json_dumps())["identifiers"] == [
        {"type": "dns", "value": "lab.example.com"}
    ]


class _Response:
    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body
        self.headers = {"Location": f"{CA}/order/1"}

    def json(self) -> dict[str, Any]:
        return self._body


class _RecordingClient:
    def __init__(self, directory: dict[str, Any]) -> None:
        self.directory = messages.Directory.from_json(dict(directory))
        self.posted: list[Any] = []

    def _post(self, url: str, obj: Any) -> _Response:
        self.posted.append(obj)
        return _Response({"status": "pending", "authorizations": [], "finalize": f"{CA}/finalize/1"})


@pytest.mark.parametrize(
    ("directory", "sent"),
    [
        ({"newOrder": f"{CA}/new-order", "renewalInfo": f"{CA}/renewal-info"}, True),
        ({"newOrder": f"{CA}/new-order"}, False),
    ],
)
def test_session_new_order_sends_replaces_only_when_the_directory_has_renewal_info(directory, sent):
    client = _RecordingClient(directory)
    session = AcmeSession(cast(Any, client), AcmeNetwork(), f"{CA}/dir")
    session.new_order(["*.lab.example.com"], b"csr", replaces="abc.def", profile=None)
    body = client.posted[0].to_partial_json()
    assert ("replaces" in body) is sent
    assert body["identifiers"][0]["value"] == "*.lab.example.com"


class _RefusingSession:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls: list[str | None] = []

    def new_order(self, names, csr_pem, *, replaces, profile):
        self.calls.append(replaces)
        if replaces:
            raise self.error
        return "order"


@pytest.mark.parametrize(
    "error",
    [
        messages.Error(typ="urn:ietf:params:acme:error:alreadyReplaced", detail="already replaced"),
        messages.Error.with_code("unauthorized", detail="requester account did not request the certificate"),
        errors.ConflictError("UNKNOWN-LOCATION"),
    ],
)
def test_order_refused_because_of_replaces_is_retried_once_without(error):
    session = _RefusingSession(error)
    order, sent = _order(cast(Any, session), ["lab.example.com"], b"csr", "abc.def", None)
    assert order == "order"
    assert sent is None
    assert session.calls == ["abc.def", None]


def test_order_other_refusal_is_not_retried():
    session = _RefusingSession(messages.Error.with_code("rejectedIdentifier", detail="no"))
    with pytest.raises(messages.Error):
        _order(cast(Any, session), ["lab.example.com"], b"csr", "abc.def", None)
    assert session.calls == ["abc.def"]


# --- obtain_certificate against a fake CA ---


def _authz(n: int, value: str, status: str, *, wildcard: bool = False, error: dict | None = None):
    challenge: dict[str, Any] = {
        "type": "dns-01",
        "url": f"{CA}/chall/{n}",
        "token": f"token-{n}-" + "a" * 30,
        "status": "invalid" if error else "pending",
    }
    if error:
        challenge["error"] = error
    body: dict[str, Any] = {
        "identifier": {"type": "dns", "value": value},
        "status": status,
        "challenges": [challenge],
    }
    if wildcard:
        body["wildcard"] = True
    return messages.AuthorizationResource(body=messages.Authorization.from_json(body), uri=f"{CA}/authz/{n}")


class FakeCa:
    def __init__(self, key: jose.JWK, authzs: list[Any], fail: bool = False) -> None:
        self.account_key = key
        self.authzs = authzs
        self.fail = fail
        self.answered: list[str] = []
        self.finalized = False

    def new_order(self, names, csr_pem, *, replaces, profile):
        return messages.OrderResource(
            body=messages.Order(status=messages.STATUS_PENDING),
            uri=f"{CA}/order/1",
            authorizations=self.authzs,
            csr_pem=csr_pem,
        )

    def authorization(self, authzr):
        if self.fail:
            return _authz(
                2,
                authzr.body.identifier.value,
                "invalid",
                error={"type": "urn:ietf:params:acme:error:unauthorized", "detail": "Incorrect TXT record"},
            )
        return _authz(2, authzr.body.identifier.value, "valid")

    def answer(self, challb):
        self.answered.append(challb.uri)

    def finalize(self, orderr, deadline, sleep=None):
        self.finalized = True
        return "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"


class FakeDns:
    def __init__(self) -> None:
        self.values: list[list[str]] = []
        self.cleaned = 0

    @contextmanager
    def published(self, values, deadline, cleanup_deadline):
        self.values.append(list(values))
        try:
            yield
        finally:
            self.cleaned += 1


def _obtain(ca: FakeCa, dns: FakeDns, names: list[str]) -> Issued:
    """obtain_certificate for an ec256 key, with roomy deadlines and no real sleeping."""
    return obtain_certificate(
        ca,
        dns,
        names=names,
        key_type="ec256",
        deadline=Deadline.after(100),
        cleanup_deadline=Deadline.after(110),
        sleep=lambda s: None,
    )


def test_obtain_certificate_skips_valid_authorization_and_answers_the_pending_one(key):
    # GIVEN a reused (valid) wildcard authorization and a pending apex one
    authzs = [_authz(1, "lab.example.com", "valid", wildcard=True), _authz(2, "lab.example.com", "pending")]
    ca, dns = FakeCa(key, authzs), FakeDns()
    # WHEN obtaining
    issued = _obtain(ca, dns, ["*.lab.example.com", "lab.example.com"])
    # THEN only the pending challenge got a TXT value and an answer; the order was finalized
    expected = challenges.DNS01(token=jose.b64decode("token-2-" + "a" * 30)).validation(key)
    assert dns.values == [[expected]]
    assert ca.answered == [f"{CA}/chall/2"]
    assert ca.finalized
    assert issued.reused_authorizations == 1
    assert "PRIVATE KEY" in issued.key_pem.reveal()
    assert "PRIVATE" not in repr(issued)


def test_obtain_certificate_all_valid_publishes_no_txt(key):
    # GIVEN a valid wildcard authorization
    ca, dns = FakeCa(key, [_authz(1, "lab.example.com", "valid", wildcard=True)]), FakeDns()
    # WHEN obtaining
    _obtain(ca, dns, ["*.lab.example.com"])
    # THEN no TXT value was published and the order was finalized
    assert dns.values == []
    assert ca.finalized


def test_obtain_certificate_failed_validation_raises_and_cleans_up(key):
    # GIVEN a pending authorization that the CA fails
    ca, dns = FakeCa(key, [_authz(1, "lab.example.com", "pending", wildcard=True)], fail=True), FakeDns()
    # WHEN obtaining THEN the CA's reason is raised, the TXT record cleaned up, nothing finalized
    with pytest.raises(ValidationFailedError) as caught:
        _obtain(ca, dns, ["*.lab.example.com"])
    assert "Incorrect TXT record" in str(caught.value)
    assert dns.cleaned == 1
    assert not ca.finalized


def test_obtain_certificate_invalid_authorization_in_new_order_raises_before_any_dns(key):
    # GIVEN an order whose authorization is already invalid
    ca, dns = FakeCa(key, [_authz(1, "lab.example.com", "invalid")]), FakeDns()
    # WHEN obtaining THEN it fails before any TXT value is published
    with pytest.raises(ValidationFailedError):
        _obtain(ca, dns, ["lab.example.com"])
    assert dns.values == []


@pytest.mark.parametrize(("offered", "sent"), [({"tlsserver": "45 days"}, True), ({}, False)])
def test_session_new_order_sends_a_profile_only_when_the_ca_offers_it(offered, sent):
    client = _RecordingClient({"newOrder": f"{CA}/new-order", "meta": {"profiles": offered}})
    session = AcmeSession(cast(Any, client), AcmeNetwork(), f"{CA}/dir")
    session.new_order(["*.lab.example.com"], b"csr", replaces=None, profile="tlsserver")
    assert (client.posted[0].to_partial_json().get("profile") == "tlsserver") is sent


class _FinalizingClient:
    """Order states served in turn to POST-as-GET; finalize answers from its own script."""

    def __init__(self, finalize: list[Any], polls: list[tuple[str, dict[str, str]]]) -> None:
        self.finalize_script = list(finalize)
        self.polls = list(polls)
        self.finalized = 0
        self.downloads: list[str] = []

    def begin_finalization(self, orderr):
        self.finalized += 1
        step = self.finalize_script.pop(0)
        if isinstance(step, Exception):
            raise step
        return orderr.update(body=messages.Order(status=messages.Status.from_json(step)))

    def _post_as_get(self, url, *args):
        if url.endswith("/cert"):
            self.downloads.append(url)
            return SimpleResponse({}, text="CHAIN")
        status, headers = self.polls.pop(0)
        body = {"status": status, "finalize": f"{CA}/finalize"}
        if status == "valid":
            body["certificate"] = f"{CA}/cert"
        return SimpleResponse(body, headers=headers)


class SimpleResponse:
    def __init__(self, body: dict[str, Any], headers: dict[str, str] | None = None, text: str = "") -> None:
        self._body, self.headers, self.text = body, headers or {}, text

    def json(self) -> dict[str, Any]:
        return self._body


def _order_resource() -> messages.OrderResource:
    return messages.OrderResource(
        body=messages.Order(status=messages.STATUS_PENDING),
        uri=f"{CA}/order/1",
        authorizations=[],
        csr_pem=b"csr",
    )


def test_finalize_polls_processing_until_valid_and_downloads_the_chain():
    sleeps: list[float] = []
    client = _FinalizingClient(["processing"], [("processing", {}), ("valid", {})])
    session = AcmeSession(cast(Any, client), AcmeNetwork(), f"{CA}/dir")
    assert session.finalize(_order_resource(), Deadline.after(60), sleep=sleeps.append) == "CHAIN"
    assert sleeps == [0.05, 0.1]


def test_finalize_order_not_ready_waits_for_ready_and_finalizes_again():
    not_ready = messages.Error.with_code("orderNotReady", detail="not ready")
    client = _FinalizingClient([not_ready, "valid"], [("ready", {}), ("valid", {})])
    session = AcmeSession(cast(Any, client), AcmeNetwork(), f"{CA}/dir")
    assert session.finalize(_order_resource(), Deadline.after(60), sleep=lambda s: None) == "CHAIN"
    assert client.finalized == 2


def test_finalize_honours_retry_after_within_the_deadline():
    sleeps: list[float] = []
    client = _FinalizingClient(["processing"], [("processing", {"Retry-After": "3"}), ("valid", {})])
    session = AcmeSession(cast(Any, client), AcmeNetwork(), f"{CA}/dir")
    session.finalize(_order_resource(), Deadline.after(60), sleep=sleeps.append)
    assert sleeps[1] == pytest.approx(3, abs=0.01)


def test_finalize_past_deadline_raises():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = _FinalizingClient(["processing"], [("processing", {})] * 100)
    session = AcmeSession(cast(Any, client), AcmeNetwork(), f"{CA}/dir")
    with pytest.raises(DeadlineError):
        session.finalize(_order_resource(), Deadline.after(5, clock=lambda: now[0]), sleep=sleep)
