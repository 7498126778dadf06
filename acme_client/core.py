"""`renew_certificate`: one scheduled run, from reading the bucket to publishing (or not).

1. Read the published pair, its metadata and the run state from the cert bucket.
2. Decide (decide.py): hard reasons, then ARI when the CA offers it, then the lifetime rule.
3. If a new certificate is needed: refuse staging over production, respect the backoff, load or
   create the account, check the CNAME delegation, order, answer DNS-01, finalize, validate, publish.
4. A failure is recorded (count, time, backoff) and counted in a metric. While the published
   certificate is still valid the run reports `failed` without raising (a Lambda retry would only
   spend more orders and authorization failures); otherwise the error is raised.
The days-to-expiry metric is emitted on every run, whatever happens.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, Protocol

from acme_client import certs
from acme_client.config import AcmeConfig, DirectoryKind, directory_kind
from acme_client.decide import (
    Decision,
    Inspection,
    StoredCert,
    Wanted,
    ari_advice,
    backing_off,
    decide,
    hard_reason,
    inspect_pair,
    record_failure,
    record_success,
)
from acme_client.errors import BackoffError, RateLimitedError, StoreError
from acme_client.models import AriState, Deadline, RenewRequest, RunResult, RunState
from acme_client.publish import metadata_for, publish, refuse_staging_over_production, validate
from acme_client.store import CertStore, S3Client
from shared.errors import TopsError
from shared.secret import Secret

if TYPE_CHECKING:  # the ACME and DNS stacks load only when a run talks to the CA
    from acme_client.account import Account
    from acme_client.dns01 import Route53Client
    from acme_client.issue import AcmeSession, ChallengeDns

log = logging.getLogger(__name__)

PUBLISH_RESERVE_S: Final = 5.0  # kept after issuance for validation and the S3 writes
METRIC_DAYS: Final = "DaysToExpiry"
METRIC_FAILURE: Final = "RenewalFailure"
METRIC_ISSUED: Final = "CertificateIssued"
METRIC_DEFERRED: Final = "RenewalDeferred"


class MetricsSink(Protocol):
    """The part of Powertools Metrics the core uses."""

    def add_metric(self, name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None: ...

    def add_dimension(self, name: str, value: str) -> None: ...


ConnectCa = Callable[[AcmeConfig, Deadline], "AcmeSession"]


def connect_ca(config: AcmeConfig, deadline: Deadline) -> AcmeSession:
    from acme_client.issue import connect

    return connect(config.directory_url, verify=config.ca_bundle or True, timeout=config.http_timeout,
                   deadline=deadline)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def renew_certificate(request: RenewRequest, config: AcmeConfig, *, s3: S3Client, route53: Route53Client,
                      metrics: MetricsSink, deadline: Deadline, ca_connector: ConnectCa | None = None,
                      dns: ChallengeDns | None = None, clock: Callable[[], dt.datetime] = _utcnow,
                      rng: random.Random | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> RunResult:
    """Issue, renew or keep the certificate of `config.cert_name`. Raises when the run failed and no
    valid certificate is published; returns `failed` when one still is."""
    run = _Run(request, config, s3=s3, route53=route53, metrics=metrics, deadline=deadline,
               connect_ca=ca_connector or connect_ca, dns=dns, clock=clock, rng=rng or random.Random(),
               sleep=sleep)
    return run.execute()


class _Run:
    def __init__(self, request: RenewRequest, config: AcmeConfig, *, s3: S3Client, route53: Route53Client,
                 metrics: MetricsSink, deadline: Deadline, connect_ca: ConnectCa, dns: ChallengeDns | None,
                 clock: Callable[[], dt.datetime], rng: random.Random,
                 sleep: Callable[[float], None]) -> None:
        self.request, self.config = request, config
        self.store = CertStore(s3, config.bucket, config.cert_name, config.state_prefix)
        self.route53, self.metrics, self.deadline = route53, metrics, deadline
        self.connect_ca, self.dns, self.clock, self.rng, self.sleep = connect_ca, dns, clock, rng, sleep
        self.session: AcmeSession | None = None
        self.published: StoredCert | None = None
        self.key_pem: bytes | None = None
        self.now = clock()

    def execute(self) -> RunResult:
        self.metrics.add_dimension("CertName", self.config.cert_name)
        days: float = 0.0
        try:
            result = self._execute()
            days = result.days_left if result.days_left is not None else 0.0
            return result
        except BaseException:
            if self.published is not None:
                days = self.published.days_left(self.clock())
            raise
        finally:
            self.metrics.add_metric(name=METRIC_DAYS, unit="None", value=days)
            log.info("days to expiry", extra={"cert_name": self.config.cert_name, "days_left": days})

    def _execute(self) -> RunResult:
        config = self.config
        fullchain = self.store.read(self.store.fullchain_key)
        self.key_pem = self.store.read(self.store.privkey_key)
        if self.key_pem:
            Secret(self.key_pem.decode(errors="replace"))  # mask it in every log line from now on
        inspection = inspect_pair(fullchain, self.key_pem)
        self.published = inspection.cert
        stored_kind = self._stored_kind(inspection.cert)
        state_doc = self.store.read_json(self.store.state_key) or {}
        state = RunState.from_json(state_doc).for_names(config.names)
        wanted = Wanted(config.names, config.key_type, config.directory_kind)

        ari = self._ari(inspection, wanted, state, stored_kind)
        decision = decide(inspection, wanted, self.now, force=self.request.force,
                          fraction=config.renew_fraction, schedule=dt.timedelta(hours=config.schedule_hours),
                          ari=ari, stored_directory_kind=stored_kind)
        if ari is not state.ari:
            state = replace(state, ari=ari)
            self._save_state(state)
        if not decision.needs_order:
            cert = inspection.cert
            assert cert is not None
            log.info("certificate still valid", extra={"reason": decision.reason, "serial": cert.serial})
            return self._result("valid", decision.reason, cert)
        log.info("new certificate needed", extra={"action": decision.action, "reason": decision.reason})

        refuse_staging_over_production(inspection.cert, stored_kind, config.directory_kind, self.now)
        if not self.request.force and backing_off(state, self.now):
            return self._deferred(inspection, state, decision)
        try:
            return self._issue(inspection, decision, state)
        except Exception as exc:
            return self._failed(exc, inspection, state)

    # --- steps ---

    def _stored_kind(self, cert: StoredCert | None) -> DirectoryKind | None:
        """The directory of the stored certificate, from metadata that describes this very certificate."""
        if cert is None:
            return None
        try:
            metadata = self.store.read_json(self.store.metadata_key)
        except StoreError:
            return None
        if not metadata or metadata.get("fingerprint_sha256") != certs.fingerprint(cert.leaf):
            return None
        directory = metadata.get("directory")
        return directory_kind(directory) if isinstance(directory, str) else None

    def _ari(self, inspection: Inspection, wanted: Wanted, state: RunState,
             stored_kind: DirectoryKind | None) -> AriState | None:
        """The ARI answer for the stored certificate, when it matters and the CA offers it."""
        cert = inspection.cert
        if self.request.force or cert is None or hard_reason(
                inspection, wanted, self.now, force=False, stored_directory_kind=stored_kind) is not None:
            return state.ari
        cert_id = certs.ari_cert_id(cert.leaf)
        if cert_id is None:
            return state.ari
        try:
            self.session = self.connect_ca(self.config, self.deadline)
        except Exception as exc:  # the lifetime rule still decides
            log.warning("ACME directory unreachable; using the lifetime rule",
                        extra={"error": f"{type(exc).__name__}: {exc}"})
            return state.ari
        url = self.session.renewal_info_url
        if url is None:
            return state.ari
        return ari_advice(self.session.fetch_renewal_info, url, cert_id, self.now, self.rng, state.ari)

    def _issue(self, inspection: Inspection, decision: Decision, state: RunState) -> RunResult:
        config = self.config
        session = self.session or self.connect_ca(config, self.deadline)
        self.session = session

        def register(jwk: Any, alg: Any) -> str:
            return session.register(jwk, alg, email=config.email, eab_kid=config.eab_kid,
                                    eab_hmac_key=config.eab_hmac_key)

        from acme import messages

        from acme_client.account import load_or_create_account, register_and_store
        from acme_client.dns01 import Dns01
        from acme_client.issue import problem_code

        account, _ = load_or_create_account(self.store, config.directory_url, config.account_key_type,
                                            register, now=self.now)
        session.use_account(account)
        dns = self.dns or Dns01(
            self.route53, record=config.challenge_record, zone_id=config.challenge_zone_id,
            ttl=config.txt_ttl, servers=config.dns_servers, mode=config.dns_check,
            timeout=config.dns_timeout, sleep=self.sleep, rng=self.rng)
        if isinstance(dns, Dns01):
            dns.check_delegation(config.delegation_source)
        replaces = decision.replaces if session.renewal_info_url else None
        try:
            issued = self._obtain(session, dns, replaces)
        except messages.Error as exc:
            if problem_code(exc) != "accountDoesNotExist":
                raise
            log.warning("the CA no longer knows the stored account; registering its key again")
            account = register_and_store(self.store, _with_uri(account, None), register)
            session.use_account(account)
            issued = self._obtain(session, dns, replaces)
        now = self.clock()
        validated = validate(issued.fullchain_pem, issued.key_pem, names=config.names, now=now,
                             kind=config.directory_kind)
        metadata = metadata_for(validated, cert_name=config.cert_name, directory_url=config.directory_url,
                                now=now, replaced=issued.replaced, order_url=issued.order_url)
        publish(self.store, validated, metadata, previous_key_pem=self.key_pem)
        self.published = StoredCert(validated.chain, None, None)
        self._save_state(record_success(state, now))
        self.metrics.add_metric(name=METRIC_ISSUED, unit="Count", value=1)
        action = "issued" if inspection.cert is None else "renewed"
        log.info(f"certificate {action}", extra={"serial": validated.serial, "reason": decision.reason,
                                                 "authorizations_reused": issued.reused_authorizations})
        return self._result(action, decision.reason, self.published)

    def _obtain(self, session: AcmeSession, dns: ChallengeDns, replaces: str | None) -> Any:
        from acme_client.issue import obtain_certificate

        return obtain_certificate(
            session, dns, names=self.config.names, key_type=self.config.key_type,
            deadline=self.deadline.earlier(PUBLISH_RESERVE_S), cleanup_deadline=self.deadline,
            replaces=replaces, profile=self.config.profile, jitter=self.config.start_jitter,
            rng=self.rng, sleep=self.sleep)

    def _failed(self, exc: Exception, inspection: Inspection, state: RunState) -> RunResult:
        from acme_client.issue import translate

        now = self.clock()
        error = translate(exc, self.session.net if self.session else None, now)
        retry_at = error.retry_after if isinstance(error, RateLimitedError) else None
        state = record_failure(state, now, f"{type(error).__name__}: {error}", retry_at)
        self._save_state(state)
        self.metrics.add_metric(name=METRIC_FAILURE, unit="Count", value=1)
        log.error("certificate renewal failed", exc_info=exc, extra={
            "error_type": type(error).__name__, "error": str(error), "failures": state.failures,
            "retry_not_before": state.retry_not_before.isoformat() if state.retry_not_before else None,
            "subproblems": list(getattr(error, "subproblems", ())),
        })
        cert = inspection.cert
        if cert is not None and cert.usable(now):
            return self._result("failed", f"renewal failed ({type(error).__name__}: {error}); the published "
                                          "certificate stays in place", cert)
        if error is exc:
            raise
        raise error from exc

    def _deferred(self, inspection: Inspection, state: RunState, decision: Decision) -> RunResult:
        assert state.retry_not_before is not None
        self.metrics.add_metric(name=METRIC_DEFERRED, unit="Count", value=1)
        cert = inspection.cert
        message = (f"{decision.reason}; backing off after {state.failures} failure(s) until "
                   f"{state.retry_not_before.isoformat()}")
        if cert is not None and cert.usable(self.now):
            log.warning("renewal deferred", extra={"reason": message, "last_error": state.last_error})
            return self._result("valid", message, cert)
        raise BackoffError(state.failures, state.retry_not_before, state.last_error)

    def _save_state(self, state: RunState) -> None:
        try:
            self.store.write_json(self.store.state_key, state.to_json())
        except TopsError as exc:  # losing the state costs a retry, never the run
            log.warning("run state not saved", extra={"error": str(exc)})

    def _result(self, action: Any, reason: str, cert: StoredCert) -> RunResult:
        now = self.clock()
        return RunResult(action=action, reason=reason, names=cert.names, not_after=cert.not_after,
                         serial=cert.serial, days_left=cert.days_left(now))


def _with_uri(account: Account, uri: str | None) -> Account:
    from acme_client.account import Account

    return Account(account.directory_url, account.key_pem, account.jwk, account.alg, uri, account.created_at)
