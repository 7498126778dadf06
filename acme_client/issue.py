"""The ACME order flow on certbot's `acme` library (RFC 8555), with what the library leaves to us:

- `AcmeNetwork` retries `badNonce` a bounded number of times, reusing the fresh nonce that the error
  response carries, and remembers the status and Retry-After of the last failed response, so a 429
  becomes a `RateLimitedError` with a time instead of a loop (docs/acme.md §9). Every use of the library's
  private API goes through `acme_client.acme_private`.
- `NewOrderWithReplaces` adds RFC 9773's `replaces` to newOrder; it is sent only when the directory
  has `renewalInfo`, and an order the CA refuses because of it is retried once without it.
- Authorizations and finalization are polled here with short intervals bounded by the run's deadline
  (the library sleeps a fixed second per round); valid authorizations are skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final, Protocol

import josepy as jose
import requests
from acme import challenges, crypto_util, errors, messages
from acme.client import ClientNetwork, ClientV2

from acme_client import acme_private, certs
from acme_client.account import Account
from acme_client.decide import parse_retry_after
from acme_client.errors import (
    AcmeError,
    AcmeProblemError,
    CaUnavailableError,
    DeadlineError,
    RateLimitedError,
    ValidationFailedError,
)
from shared.deadline import Deadline
from shared.errors import ConfigError, TopsError
from shared.secret import Secret
from shared.timeparse import parse_timestamp

log = logging.getLogger(__name__)

USER_AGENT: Final = "f5xc-tops-acme-client/1.0"
BAD_NONCE_RETRIES: Final = 8
SERVER_BUSY_MAX_WAIT: Final = 5.0  # a 503 with a Retry-After up to this is waited for once
ANSWER_RESERVE_S: Final = 20.0  # time kept after the DNS check to answer, poll and finalize
_REPLACES_REFUSED: Final = frozenset({"alreadyReplaced", "unauthorized", "malformed", "conflict"})
_RETRY_AFTER_TEXT = re.compile(r"retry after (\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})", re.IGNORECASE)


def problem_code(error: messages.Error) -> str | None:
    """The ACME error name even for types the library does not list (`alreadyReplaced`)."""
    typ = str(error.typ or "")
    return typ.rsplit(":", 1)[-1] if typ.startswith(messages.ERROR_PREFIX) else error.code


@dataclass(frozen=True, slots=True)
class FailedResponse:
    status: int
    retry_after: str | None
    url: str


class AcmeNetwork(ClientNetwork):
    """`ClientNetwork` with bounded badNonce retries and memory of the last failed response."""

    def __init__(
        self,
        key: jose.JWK | None = None,
        *,
        alg: jose.JWASignature = jose.ES256,
        verify: bool | str = True,
        timeout: int = 10,
        bad_nonce_retries: int = BAD_NONCE_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        deadline: Deadline | None = None,
    ) -> None:
        super().__init__(key=key, alg=alg, verify_ssl=True, user_agent=USER_AGENT, timeout=timeout)
        # requests takes a CA bundle path where the library's annotation says bool (Pebble's TLS CA).
        self.verify_ssl = verify  # type: ignore[assignment]
        self.bad_nonce_retries = bad_nonce_retries
        self.last_failure: FailedResponse | None = None
        self._sleep = sleep
        self.deadline = deadline
        self.session.hooks["response"].append(self._seen)

    def _seen(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Every answer passes here (a requests hook): remember a failure, keep an error's fresh nonce."""
        self.last_failure = None
        if response.ok:
            return
        self.last_failure = FailedResponse(
            response.status_code, response.headers.get("Retry-After"), str(response.url)
        )
        if self.REPLAY_NONCE_HEADER in response.headers:
            try:  # a badNonce answer carries a fresh nonce: keep it for the retry
                acme_private.add_nonce(self, response)
            except errors.NonceError:
                pass

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        busy_retried = False
        attempt = 0
        while True:
            try:
                return acme_private.post_once(self, *args, **kwargs)
            except messages.Error as error:
                if problem_code(error) == "badNonce" and attempt < self.bad_nonce_retries:
                    attempt += 1
                    log.debug("badNonce; retrying", extra={"attempt": attempt})
                    continue
                wait = self._busy_wait()
                if wait is None or busy_retried:
                    raise
            except errors.ClientError:
                wait = self._busy_wait()
                if wait is None or busy_retried:
                    raise
            busy_retried = True
            log.warning("ACME server busy; retrying once", extra={"wait_s": wait})
            self._sleep(wait)

    def _busy_wait(self) -> float | None:
        """Seconds to wait before one retry after a 503 whose Retry-After is short and fits the deadline."""
        failure = self.last_failure
        if failure is None or failure.status != 503:
            return None
        delta = parse_retry_after(failure.retry_after, dt.datetime.now(dt.UTC))
        wait = 1.0 if delta is None else max(0.0, delta.total_seconds())
        too_late = self.deadline is not None and self.deadline.remaining() <= wait + 5
        if wait > SERVER_BUSY_MAX_WAIT or too_late:
            return None
        return wait


class NewOrderWithReplaces(messages.NewOrder):
    """newOrder with RFC 9773's `replaces` (the predecessor's certID); omitted when None."""

    replaces: str | None = jose.field("replaces", omitempty=True)


class AcmeSession:
    """One CA directory with our network; the account is attached with `use_account`."""

    def __init__(self, client: ClientV2, net: AcmeNetwork, directory_url: str) -> None:
        self.client = client
        self.net = net
        self.directory_url = directory_url
        self._account_key: jose.JWK | None = None
        self.spent = False  # an order was created: the CA counted it (an account is created once, ever)

    @property
    def account_key(self) -> jose.JWK:
        if self._account_key is None:
            raise AcmeError("no ACME account attached")
        return self._account_key

    @property
    def renewal_info_url(self) -> str | None:
        try:
            url = self.client.directory["renewalInfo"]
        except KeyError:
            return None
        return url if isinstance(url, str) and url else None

    @property
    def profiles(self) -> Mapping[str, str]:
        meta = getattr(self.client.directory, "meta", None)
        return getattr(meta, "profiles", None) or {}

    def register(
        self,
        jwk: jose.JWK,
        alg: jose.JWASignature,
        *,
        email: str | None,
        eab_kid: str | None = None,
        eab_hmac_key: Secret | None = None,
    ) -> str:
        """newAccount for this key; an existing account for the key is found, not duplicated."""
        self.net.key, self.net.alg, self.net.account = jwk, alg, None
        binding = None
        if eab_kid and eab_hmac_key:
            binding = messages.ExternalAccountBinding.from_data(
                account_public_key=jwk.public_key(),
                kid=eab_kid,
                hmac_key=eab_hmac_key.reveal(),
                directory=self.client.directory,
            )
        elif self.client.external_account_required():
            raise ConfigError(
                ["the CA requires external account binding: set ACME_EAB_KID and ACME_EAB_HMAC_KEY"]
            )
        registration = messages.NewRegistration.from_data(
            email=email, terms_of_service_agreed=True, external_account_binding=binding
        )
        try:
            uri = self.client.new_account(registration).uri
        except errors.ConflictError as exc:  # the key already has an account: that one is ours
            uri = exc.location
        self._attach(jwk, alg, uri)
        return uri

    def use_account(self, account: Account) -> None:
        if account.uri is None:
            raise AcmeError("ACME account has no URL")
        self._attach(account.jwk, account.alg, account.uri)

    def _attach(self, jwk: jose.JWK, alg: jose.JWASignature, uri: str) -> None:
        self.net.key, self.net.alg = jwk, alg
        self.net.account = messages.RegistrationResource(uri=uri, body=messages.Registration())
        self._account_key = jwk

    def new_order(
        self, names: Sequence[str], csr_pem: bytes, *, replaces: str | None, profile: str | None
    ) -> messages.OrderResource:
        fields: dict[str, Any] = {
            "identifiers": [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=n) for n in names]
        }
        if profile:
            if profile in self.profiles:
                fields["profile"] = profile
            else:
                log.warning(
                    "the CA does not offer this profile; using its default", extra={"profile": profile}
                )
        if replaces and self.renewal_info_url:
            fields["replaces"] = replaces
        # ClientV2.new_order cannot carry `replaces`; the rest mirrors it.
        response = acme_private.post(
            self.client, self.client.directory["newOrder"], NewOrderWithReplaces(**fields)
        )
        self.spent = True
        body = messages.Order.from_json(response.json())
        authorizations = [
            acme_private.authorization_from_response(
                self.client, acme_private.post_as_get(self.client, url), url
            )
            for url in body.authorizations
        ]
        return messages.OrderResource(
            body=body, uri=response.headers.get("Location"), authorizations=authorizations, csr_pem=csr_pem
        )

    def authorization(self, authzr: messages.AuthorizationResource) -> messages.AuthorizationResource:
        updated, _ = self.client.poll(authzr)
        return updated

    def answer(self, challb: messages.ChallengeBody) -> None:
        self.client.answer_challenge(challb, challb.response(self.account_key))

    def finalize(
        self, orderr: messages.OrderResource, deadline: Deadline, sleep: Callable[[float], None] = time.sleep
    ) -> str:
        """Finalize (tolerating orderNotReady), poll the order and download the default chain."""
        try:
            orderr = self.client.begin_finalization(orderr)
        except messages.Error as exc:
            if problem_code(exc) != "orderNotReady":
                raise
        interval = 0.05
        while True:
            body = orderr.body
            if body.status == messages.STATUS_VALID and body.certificate:
                return str(acme_private.post_as_get(self.client, body.certificate).text)
            if body.status == messages.STATUS_INVALID:
                raise (
                    errors.IssuanceError(body.error)
                    if body.error
                    else AcmeProblemError(None, "order became invalid at finalization")
                )
            if body.status == messages.STATUS_READY:  # an earlier finalize met orderNotReady
                orderr = self.client.begin_finalization(orderr)
                if orderr.body.status == messages.STATUS_VALID:
                    continue
            if deadline.remaining() <= interval:
                raise DeadlineError("order finalization")
            sleep(interval)
            interval = min(interval * 2, 2.0)
            response = acme_private.post_as_get(self.client, orderr.uri)
            orderr = orderr.update(body=messages.Order.from_json(response.json()))
            hint = parse_retry_after(response.headers.get("Retry-After"), dt.datetime.now(dt.UTC))
            if hint is not None:
                interval = min(max(interval, hint.total_seconds()), max(0.05, deadline.remaining() - 1))


def connect(
    directory_url: str,
    *,
    verify: bool | str,
    timeout: float,
    deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
    directory: Mapping[str, Any] | None = None,
) -> AcmeSession:
    """GET the directory (unless this run already read it: `directory`), the only call made before the
    account is known."""
    net = AcmeNetwork(verify=verify, timeout=max(1, int(timeout)), deadline=deadline, sleep=sleep)
    parsed = (
        messages.Directory.from_json(dict(directory))
        if directory is not None
        else ClientV2.get_directory(directory_url, net)
    )
    return AcmeSession(ClientV2(parsed, net), net, directory_url)


# --- the order flow ---


class CaSession(Protocol):
    """What `obtain_certificate` needs from the CA (AcmeSession, or a fake in unit tests)."""

    @property
    def account_key(self) -> jose.JWK: ...

    def new_order(
        self, names: Sequence[str], csr_pem: bytes, *, replaces: str | None, profile: str | None
    ) -> messages.OrderResource: ...

    def authorization(self, authzr: messages.AuthorizationResource) -> messages.AuthorizationResource: ...

    def answer(self, challb: messages.ChallengeBody) -> None: ...

    def finalize(
        self, orderr: messages.OrderResource, deadline: Deadline, sleep: Callable[[float], None] = time.sleep
    ) -> str: ...


class ChallengeDns(Protocol):
    def published(
        self, values: Sequence[str], deadline: Deadline, cleanup_deadline: Deadline
    ) -> AbstractContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class Issued:
    fullchain_pem: bytes
    key_pem: Secret
    order_url: str | None
    replaced: str | None
    reused_authorizations: int

    def __repr__(self) -> str:
        return f"Issued(order_url={self.order_url!r})"


def _identifier(authzr: messages.AuthorizationResource) -> str:
    body = authzr.body
    value = body.identifier.value
    return f"*.{value}" if getattr(body, "wildcard", False) else str(value)


def _order(
    session: CaSession, names: Sequence[str], csr_pem: bytes, replaces: str | None, profile: str | None
) -> tuple[messages.OrderResource, str | None]:
    try:
        return session.new_order(names, csr_pem, replaces=replaces, profile=profile), replaces
    except (messages.Error, errors.ConflictError) as exc:
        code = problem_code(exc) if isinstance(exc, messages.Error) else "conflict"
        if replaces is None or code not in _REPLACES_REFUSED:
            raise
        # e.g. the predecessor came from a lost account, or was already replaced (docs/acme.md §3).
        log.warning(
            "CA refused the order with replaces; ordering once without it",
            extra={"code": code, "detail": getattr(exc, "detail", None)},
        )
        return session.new_order(names, csr_pem, replaces=None, profile=profile), None


def _wait_for_authorizations(
    session: CaSession,
    pending: Sequence[messages.AuthorizationResource],
    deadline: Deadline,
    sleep: Callable[[float], None],
) -> None:
    waiting = list(pending)
    interval = 0.05
    while waiting:
        still: list[messages.AuthorizationResource] = []
        failed: dict[str, str] = {}
        codes: set[str] = set()
        for authzr in waiting:
            updated = session.authorization(authzr)
            status = updated.body.status
            if status == messages.STATUS_VALID:
                log.info("authorization valid", extra={"identifier": _identifier(updated)})
            elif status in (messages.STATUS_PENDING, messages.STATUS_PROCESSING):
                still.append(updated)
            else:
                failed[_identifier(updated)] = _authz_problem(updated)
                codes |= _authz_codes(updated)
        if failed:
            for name, problem in failed.items():
                log.error("authorization failed", extra={"identifier": name, "problem": problem})
            raise ValidationFailedError(failed, frozenset(codes))
        waiting = still
        if waiting:
            if deadline.remaining() <= interval:
                raise DeadlineError("authorization polling")
            sleep(interval)
            interval = min(interval * 2, 2.0)


def _authz_codes(authzr: messages.AuthorizationResource) -> set[str]:
    """The ACME error names in an invalid authorization (its challenges' errors and their subproblems)."""
    codes: set[str] = set()
    for challb in authzr.body.challenges:
        error = challb.error
        if error is None:
            continue
        for problem in (error, *(error.subproblems or ())):
            code = problem_code(problem)
            if code:
                codes.add(code)
    return codes


def _authz_problem(authzr: messages.AuthorizationResource) -> str:
    for challb in authzr.body.challenges:
        if challb.error is not None:
            error = challb.error
            parts = [f"{problem_code(error) or error.typ}: {error.detail or error.title or ''}".strip()]
            parts += [
                f"{sub.identifier.value if sub.identifier else '?'}: {sub.detail}"
                for sub in error.subproblems or ()
            ]
            return "; ".join(parts)
    return f"status {authzr.body.status.name}"


def obtain_certificate(
    session: CaSession,
    dns: ChallengeDns,
    *,
    names: Sequence[str],
    key_type: str,
    deadline: Deadline,
    cleanup_deadline: Deadline,
    replaces: str | None = None,
    profile: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Issued:
    """Order a certificate for `names` with a fresh key and prove control through DNS-01.

    The TXT values exist only around the answers (removed in every case); a challenge is answered only
    once its value is visible. Raises the library's errors or ours; the caller translates them.
    """
    key = certs.generate_key(key_type)
    key_pem = Secret(certs.key_to_pem(key).decode())
    csr_pem = crypto_util.make_csr(key_pem.reveal().encode(), list(names))
    orderr, sent_replaces = _order(session, names, csr_pem, replaces, profile)
    log.info("order created", extra={"order": orderr.uri, "names": list(names), "replaces": sent_replaces})
    pending: list[tuple[messages.AuthorizationResource, messages.ChallengeBody]] = []
    reused = 0
    for authzr in orderr.authorizations:
        status = authzr.body.status
        if status == messages.STATUS_VALID:
            reused += 1
            log.info(
                "authorization already valid; nothing to answer", extra={"identifier": _identifier(authzr)}
            )
            continue
        if status != messages.STATUS_PENDING:
            raise ValidationFailedError({_identifier(authzr): f"authorization is {status.name}"})
        challb = next((c for c in authzr.body.challenges if isinstance(c.chall, challenges.DNS01)), None)
        if challb is None:
            raise AcmeProblemError(None, f"no dns-01 challenge offered for {_identifier(authzr)}")
        pending.append((authzr, challb))
    if pending:
        values = [challb.chall.validation(session.account_key) for _, challb in pending]
        with dns.published(values, deadline.earlier(ANSWER_RESERVE_S), cleanup_deadline):
            for _, challb in pending:
                session.answer(challb)
            _wait_for_authorizations(session, [authzr for authzr, _ in pending], deadline, sleep)
    fullchain = session.finalize(orderr, deadline, sleep)
    return Issued(fullchain.encode(), key_pem, orderr.uri, sent_replaces, reused)


# --- errors ---


def _retry_after_time(header: str | None, detail: str, now: dt.datetime) -> dt.datetime | None:
    delta = parse_retry_after(header, now)
    if delta is not None:
        return now + delta
    match = _RETRY_AFTER_TEXT.search(detail)
    if match:
        return parse_timestamp(match.group(1).replace(" ", "T"), naive_is_utc=True)
    return None


def translate(exc: BaseException, net: AcmeNetwork | None, now: dt.datetime) -> TopsError:
    """Map the library's exceptions to ours, keeping code, detail, subproblems and Retry-After."""
    if isinstance(exc, TopsError):
        return exc
    failure = net.last_failure if net is not None else None
    status = failure.status if failure else None
    retry_header = failure.retry_after if failure else None
    if isinstance(exc, messages.Error):
        return _problem(exc, status, retry_header, now)
    if isinstance(exc, errors.IssuanceError):
        return translate(exc.error, net, now)
    if isinstance(exc, errors.ValidationError):
        codes: set[str] = set()
        for authzr in exc.failed_authzrs:
            codes |= _authz_codes(authzr)
        return ValidationFailedError(
            {_identifier(a): _authz_problem(a) for a in exc.failed_authzrs}, frozenset(codes)
        )
    return _client_failure(exc, status, retry_header, now)


def _problem(
    exc: messages.Error, status: int | None, retry_header: str | None, now: dt.datetime
) -> TopsError:
    """An RFC 8555 problem document the CA answered."""
    code = problem_code(exc)
    detail = exc.detail or exc.title or str(exc.typ)
    subs = [
        f"{s.identifier.value if s.identifier else '?'}: {problem_code(s)}: {s.detail}"
        for s in exc.subproblems or ()
    ]
    if code == "rateLimited" or status == 429:
        return RateLimitedError(detail, _retry_after_time(retry_header, detail, now))
    return AcmeProblemError(code, detail, subproblems=subs, status=status)


def _client_failure(
    exc: BaseException, status: int | None, retry_header: str | None, now: dt.datetime
) -> TopsError:
    """A failure the ACME library or the HTTP stack under it raised, without a problem document."""
    if isinstance(exc, errors.ConflictError):
        return AcmeProblemError("conflict", f"HTTP 409 for {exc.location}", status=409)
    if isinstance(exc, errors.TimeoutError):
        return DeadlineError("ACME polling")
    if isinstance(exc, errors.ClientError) and status in (429, 503) and retry_header:
        return RateLimitedError(f"HTTP {status}", _retry_after_time(retry_header, "", now))
    if isinstance(exc, errors.ClientError) and status is not None:
        return AcmeProblemError(None, f"HTTP {status} from the CA", status=status)
    if isinstance(exc, requests.RequestException):
        return CaUnavailableError(f"cannot reach the CA: {type(exc).__name__}")
    return AcmeError(f"{type(exc).__name__}: {exc}")
