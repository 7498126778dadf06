"""`renew_certificate`: one scheduled run, from reading the bucket to publishing (or not).

1. Read the published pair, its metadata and the run state from the cert bucket, and remove TXT values
   that a killed earlier run left behind (journaled in the state before they were written).
2. Decide (decide.py): hard reasons, then ARI at the CA that issued the certificate, then the lifetime
   rule. A run that is not due costs the S3 reads and at most two GETs (directory, renewalInfo; none
   while the last ARI answer is current) and loads no ACME library, so the function can run every few
   hours.
3. If a new certificate is needed: refuse staging over production, respect the backoff, wait the start
   jitter, check the CNAME delegation and the hosted zone, then try the CAs in order (fallback.py):
   load or create that CA's account, order, answer DNS-01, finalize, validate, publish. Every run
   starts again from the first CA, unless that CA asked to wait (its Retry-After is kept per CA).
4. A failure is recorded. It counts and starts the backoff only when an order was created at a CA (the
   orders, and the authorizations they fail, are what the CA's limits count); a configuration error
   found before that, or CAs that are down or asked to wait, are reported but leave the next run free.
   While the published certificate is still valid the run reports `failed` without raising (a Lambda
   retry would only spend more orders); otherwise it raises.
The days-to-expiry metric is emitted on every run, whatever happens.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, NoReturn, Protocol

from acme_client import certs, fallback
from acme_client.config import AcmeConfig, CaConfig, DirectoryKind, directory_kind
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
    record_costless_failure,
    record_failure,
    record_success,
)
from acme_client.errors import BackoffError, RateLimitedError, StoreError
from acme_client.models import AriState, PendingTxt, RenewRequest, RunResult, RunState
from acme_client.publish import metadata_for, publish, refuse_staging_over_production, validate
from acme_client.store import CertStore, S3Client
from shared.deadline import Deadline
from shared.errors import TopsError
from shared.handler import MetricsSink
from shared.secret import Secret

if TYPE_CHECKING:  # the ACME and DNS stacks load only when a run talks to the CA
    from acme_client.account import Account
    from acme_client.ari import CaReader
    from acme_client.dns01 import Route53Client
    from acme_client.issue import AcmeSession, ChallengeDns, Issued

log = logging.getLogger(__name__)

PUBLISH_RESERVE_S: Final = 5.0  # kept after issuance for validation and the S3 writes
FALLBACK_MIN_S: Final = 60.0  # the next CA is tried only with this much time left (DNS-01 again)
PENDING_MARGIN_S: Final = 60.0  # after the writer's deadline, its journaled TXT values are fair game
METRIC_DAYS: Final = "DaysToExpiry"
METRIC_FAILURE: Final = "RenewalFailure"
METRIC_ISSUED: Final = "CertificateIssued"
METRIC_DEFERRED: Final = "RenewalDeferred"
METRIC_FALLBACK: Final = "CertificateIssuedByFallback"


class CertMetrics(MetricsSink, Protocol):
    """The shared metric call, and the dimension this core adds itself (Powertools' `Metrics` fits)."""

    def add_dimension(self, name: str, value: str) -> None: ...


ConnectCa = Callable[[str, Deadline], "AcmeSession"]
"""Opens a session with the CA at a directory URL (the default reads the directory, or reuses it)."""


def connect_ca(
    ca: CaConfig,
    config: AcmeConfig,
    deadline: Deadline,
    *,
    sleep: Callable[[float], None],
    directory: Mapping[str, Any] | None,
) -> AcmeSession:
    """The default ConnectCa: the ACME library, with the directory this run may already have read."""
    from acme_client.issue import connect

    return connect(
        ca.directory_url,
        verify=config.ca_bundle or True,
        timeout=config.http_timeout,
        deadline=deadline,
        sleep=sleep,
        directory=directory,
    )


def ca_reader_for(config: AcmeConfig) -> CaReader:
    """The default CaReader: plain GETs, no ACME library."""
    from acme_client.ari import HttpCaReader

    return HttpCaReader(verify=config.ca_bundle or True, timeout=config.http_timeout)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def renew_certificate(
    request: RenewRequest,
    config: AcmeConfig,
    *,
    s3: S3Client,
    route53: Route53Client,
    metrics: CertMetrics,
    deadline: Deadline,
    ca_connector: ConnectCa | None = None,
    ca_reader: CaReader | None = None,
    dns: ChallengeDns | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] | None = None,
) -> RunResult:
    """Issue, renew or keep the certificate of `config.cert_name`. Raises when the run failed and no
    valid certificate is published; returns `failed` when one still is. `clock` (UTC wall time), `rng`
    and `sleep` default to the real ones, looked up at call time."""
    run = _Run(
        request,
        config,
        s3=s3,
        route53=route53,
        metrics=metrics,
        deadline=deadline,
        connector=ca_connector,
        reader=ca_reader,
        dns=dns,
        clock=clock or _utcnow,
        rng=rng or random.Random(),
        sleep=sleep or time.sleep,
    )
    return run.execute()


class _Run:
    def __init__(
        self,
        request: RenewRequest,
        config: AcmeConfig,
        *,
        s3: S3Client,
        route53: Route53Client,
        metrics: CertMetrics,
        deadline: Deadline,
        connector: ConnectCa | None,
        reader: CaReader | None,
        dns: ChallengeDns | None,
        clock: Callable[[], dt.datetime],
        rng: random.Random,
        sleep: Callable[[float], None],
    ) -> None:
        self.request, self.config = request, config
        self.store = CertStore(s3, config.bucket, config.cert_name, config.state_prefix)
        self.route53, self.metrics, self.deadline = route53, metrics, deadline
        self.connector, self.reader, self.dns = connector, reader, dns
        self.clock, self.rng, self.sleep = clock, rng, sleep
        self.state = RunState(names=config.names)
        self.directories: dict[str, Mapping[str, Any]] = {}  # read during this run, by URL
        self.session: AcmeSession | None = None
        self.sessions: list[AcmeSession] = []
        self.ca_failures: list[str] = []
        self.published: StoredCert | None = None
        self.stored_directory: str | None = None
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
        self.stored_directory = self._stored_directory(inspection.cert)
        stored_kind = directory_kind(self.stored_directory) if self.stored_directory else None
        state_doc = self.store.read_json(self.store.state_key) or {}
        self.state = RunState.from_json(state_doc).for_names(config.names)
        self._purge_leftovers()
        wanted = Wanted(config.names, config.key_type, config.directory_kind)

        ari = self._ari(inspection, wanted, stored_kind)
        decision = decide(
            inspection,
            wanted,
            self.now,
            force=self.request.force,
            fraction=config.renew_fraction,
            schedule=dt.timedelta(hours=config.schedule_hours),
            ari=ari,
            stored_directory_kind=stored_kind,
        )
        if ari is not self.state.ari:
            self.state = replace(self.state, ari=ari)
            self._save_state()
        if not decision.needs_order:
            cert = inspection.cert
            assert cert is not None
            log.info("certificate still valid", extra={"reason": decision.reason, "serial": cert.serial})
            return self._result("valid", decision.reason, cert, self.stored_directory)
        log.info("new certificate needed", extra={"action": decision.action, "reason": decision.reason})

        refuse_staging_over_production(inspection.cert, stored_kind, config.directory_kind, self.now)
        if not self.request.force and backing_off(self.state, self.now):
            return self._deferred(inspection, decision)
        self._start_delay()
        try:
            return self._issue(inspection, decision)
        except Exception as exc:
            return self._failed(exc, inspection)

    # --- what is stored ---

    def _stored_directory(self, cert: StoredCert | None) -> str | None:
        """The directory that issued the stored certificate, from metadata describing this very one."""
        if cert is None:
            return None
        try:
            metadata = self.store.read_json(self.store.metadata_key)
        except StoreError:
            return None
        if not metadata or metadata.get("fingerprint_sha256") != certs.fingerprint(cert.leaf):
            return None
        directory = metadata.get("directory")
        return directory if isinstance(directory, str) and directory else None

    def _issuer_url(self) -> str | None:
        """The configured CA that issued the stored certificate (the first CA when unknown, as for a
        certificate from before the metadata existed); None when that CA is no longer configured."""
        urls = [ca.directory_url for ca in self.config.cas]
        if self.stored_directory is None:
            return urls[0]
        return self.stored_directory if self.stored_directory in urls else None

    # --- TXT values of killed runs ---

    def adding(self, record: str, zone_id: str, values: Sequence[str]) -> None:
        """TxtJournal: written to S3 before Route53 sees the values (a killed run cannot clean up)."""
        lifetime = dt.timedelta(seconds=self.deadline.remaining() + PENDING_MARGIN_S)
        entry = PendingTxt(record, zone_id, tuple(values), self.clock() + lifetime)
        self.state = replace(self.state, dns_pending=(*self.state.dns_pending, entry))
        self._save_state()

    def removed(self, record: str, zone_id: str, values: Sequence[str]) -> None:
        """TxtJournal: the values are gone; the state is saved with the run's outcome."""
        done = (record, zone_id, frozenset(values))
        self.state = replace(
            self.state,
            dns_pending=tuple(
                entry
                for entry in self.state.dns_pending
                if (entry.record, entry.zone_id, frozenset(entry.values)) != done
            ),
        )

    def _purge_leftovers(self) -> None:
        """Remove the journaled values of runs that cannot be running any more. Costs nothing (no
        Route53 call) when there are none, which is the normal case."""
        due = [entry for entry in self.state.dns_pending if entry.expires <= self.now]
        if not due:
            return
        from acme_client.dns01 import TxtRecords

        kept = [entry for entry in self.state.dns_pending if entry.expires > self.now]
        for entry in due:
            records = TxtRecords(
                self.route53, entry.zone_id, entry.record, self.config.txt_ttl, sleep=self.sleep, rng=self.rng
            )
            try:
                records.remove(entry.values, self.deadline)
            except Exception as exc:  # tried again by the next run
                log.warning(
                    "could not remove TXT values left by an earlier run",
                    extra={"record": entry.record, "error": f"{type(exc).__name__}: {exc}"},
                )
                kept.append(entry)
            else:
                log.warning(
                    "removed TXT values left by an earlier run that did not finish",
                    extra={"record": entry.record, "values": len(entry.values)},
                )
        self.state = replace(self.state, dns_pending=tuple(kept))
        self._save_state()

    # --- ARI ---

    def _ari(
        self, inspection: Inspection, wanted: Wanted, stored_kind: DirectoryKind | None
    ) -> AriState | None:
        """The ARI answer for the stored certificate, asked of the CA that issued it, when it matters."""
        cached = self.state.ari
        cert = inspection.cert
        if (
            self.request.force
            or cert is None
            or hard_reason(inspection, wanted, self.now, force=False, stored_directory_kind=stored_kind)
            is not None
        ):
            return cached
        cert_id = certs.ari_cert_id(cert.leaf)
        if cert_id is None:
            return cached
        if cached is not None and cached.cert_id == cert_id and self.now < cached.next_check:
            return cached  # the CA said when to ask again: no request at all
        renewal_info = self._renewal_info_url()
        if renewal_info is None:
            return cached
        return ari_advice(self._reader().renewal_info, renewal_info, cert_id, self.now, self.rng, cached)

    def _renewal_info_url(self) -> str | None:
        """The `renewalInfo` URL of the CA that issued the stored certificate; None (logged) when that CA
        is no longer configured, unreachable, or has no ARI: the lifetime rule decides then."""
        url = self._issuer_url()
        if url is None:
            log.info(
                "the CA that issued the certificate is no longer configured; using the lifetime rule",
                extra={"directory": self.stored_directory},
            )
            return None
        try:
            directory = self._reader().directory(url)
        except Exception as exc:  # the lifetime rule still decides
            log.warning(
                "ACME directory unreachable; using the lifetime rule",
                extra={"directory": url, "error": f"{type(exc).__name__}: {exc}"},
            )
            return None
        self.directories[url] = directory
        renewal_info = directory.get("renewalInfo")
        return renewal_info if isinstance(renewal_info, str) and renewal_info else None

    def _reader(self) -> CaReader:
        if self.reader is None:
            self.reader = ca_reader_for(self.config)
        return self.reader

    # --- issuing ---

    def _start_delay(self) -> None:
        """ACME_START_JITTER: the tenants' functions start together; spread their orders and Route53
        changes before anything is sent for the order (a run that is not due never waits)."""
        jitter = self.config.start_jitter
        if jitter <= 0:
            return
        delay = min(self.rng.uniform(0, jitter), self.deadline.remaining() / 10)
        log.info("start delay before ordering", extra={"delay_s": round(delay, 3)})
        self.sleep(delay)

    def _dns(self) -> ChallengeDns:
        from acme_client.dns01 import Dns01

        config = self.config
        if self.dns is None:
            self.dns = Dns01(
                self.route53,
                record=config.challenge_record,
                zone_id=config.challenge_zone_id,
                ttl=config.txt_ttl,
                servers=config.dns_servers,
                mode=config.dns_check,
                timeout=config.dns_timeout,
                sleep=self.sleep,
                rng=self.rng,
                journal=self,
            )
        elif isinstance(self.dns, Dns01) and self.dns.journal is None:
            self.dns.journal = self
        return self.dns

    def _issue(self, inspection: Inspection, decision: Decision) -> RunResult:
        from acme_client.dns01 import Dns01

        dns = self._dns()
        if isinstance(dns, Dns01):
            dns.preflight(self.config.delegation_source)  # configuration errors cost nothing at a CA
        cas = self.config.cas
        todo = fallback.candidates(cas, self.state.ca_not_before, self.now)
        if not todo:
            until = fallback.every_ca_waiting_until(cas, self.state.ca_not_before, self.now)
            raise RateLimitedError("every configured CA asked to wait", until)
        for index, (position, ca) in enumerate(todo):
            last = index == len(todo) - 1
            try:
                return self._issue_at(position, ca, dns, inspection, decision)
            except Exception as exc:
                error = self._translate(exc)
                if isinstance(error, RateLimitedError):
                    until = fallback.rate_limit_until(error, self.clock())
                    self.state = replace(
                        self.state, ca_not_before={**self.state.ca_not_before, ca.directory_url: until}
                    )
                reason = fallback.fallback_reason(error)
                self.ca_failures.append(f"{ca.directory_url}: {type(error).__name__}: {error}")
                if reason is None or last:
                    _reraise(exc, error)
                if self.deadline.remaining() < FALLBACK_MIN_S:
                    log.error(
                        "the CA failed and no time is left to try the next one",
                        extra={"directory": ca.directory_url, "reason": reason},
                    )
                    _reraise(exc, error)
                log.warning(
                    "the CA failed; trying the next one",
                    extra={
                        "directory": ca.directory_url,
                        "reason": reason,
                        "error": f"{type(error).__name__}: {error}",
                        "next": todo[index + 1][1].directory_url,
                    },
                )
        raise AssertionError("unreachable: the last CA re-raises")

    def _connect(self, ca: CaConfig) -> AcmeSession:
        if self.connector is not None:
            return self.connector(ca.directory_url, self.deadline)
        return connect_ca(
            ca, self.config, self.deadline, sleep=self.sleep, directory=self.directories.get(ca.directory_url)
        )

    def _issue_at(
        self, position: int, ca: CaConfig, dns: ChallengeDns, inspection: Inspection, decision: Decision
    ) -> RunResult:
        config = self.config
        self.session = None  # a failure to connect must not be read with the previous CA's response
        session = self._connect(ca)
        self.session = session
        self.sessions.append(session)

        def register(jwk: Any, alg: Any) -> str:
            return session.register(
                jwk, alg, email=config.email, eab_kid=ca.eab_kid, eab_hmac_key=ca.eab_hmac_key
            )

        from acme import messages

        from acme_client.account import load_or_create_account, register_and_store
        from acme_client.issue import problem_code

        account, _ = load_or_create_account(
            self.store, ca.directory_url, config.account_key_type, register, now=self.now
        )
        session.use_account(account)
        # `replaces` names a certificate of this very CA (and account), and only where ARI is offered
        replaces = (
            decision.replaces if session.renewal_info_url and ca.directory_url == self._issuer_url() else None
        )
        try:
            issued = self._obtain(session, dns, replaces)
        except messages.Error as exc:
            if problem_code(exc) != "accountDoesNotExist":
                raise
            log.warning("the CA no longer knows the stored account; registering its key again")
            account = register_and_store(self.store, _with_uri(account, None), register)
            session.use_account(account)
            issued = self._obtain(session, dns, replaces)
        return self._publish(position, ca, issued, inspection, decision)

    def _obtain(self, session: AcmeSession, dns: ChallengeDns, replaces: str | None) -> Issued:
        from acme_client.issue import obtain_certificate

        return obtain_certificate(
            session,
            dns,
            names=self.config.names,
            key_type=self.config.key_type,
            deadline=self.deadline.earlier(PUBLISH_RESERVE_S),
            cleanup_deadline=self.deadline,
            replaces=replaces,
            profile=self.config.profile,
            sleep=self.sleep,
        )

    def _publish(
        self, position: int, ca: CaConfig, issued: Issued, inspection: Inspection, decision: Decision
    ) -> RunResult:
        config = self.config
        now = self.clock()
        validated = validate(issued.fullchain_pem, issued.key_pem, names=config.names, now=now, kind=ca.kind)
        metadata = metadata_for(
            validated,
            cert_name=config.cert_name,
            directory_url=ca.directory_url,
            now=now,
            replaced=issued.replaced,
            order_url=issued.order_url,
            ca_position=position,
        )
        publish(self.store, validated, metadata, previous_key_pem=self.key_pem)
        self.published = StoredCert(validated.chain, None, None)
        self.state = record_success(self.state, now)
        self._save_state()
        self.metrics.add_metric(name=METRIC_ISSUED, unit="Count", value=1)
        if position > 0:
            self.metrics.add_metric(name=METRIC_FALLBACK, unit="Count", value=1)
        action = "issued" if inspection.cert is None else "renewed"
        log.info(
            f"certificate {action}",
            extra={
                "serial": validated.serial,
                "reason": decision.reason,
                "directory": ca.directory_url,
                "ca_position": position,
                "authorizations_reused": issued.reused_authorizations,
            },
        )
        return self._result(action, decision.reason, self.published, ca.directory_url)

    # --- failures ---

    def _translate(self, exc: BaseException) -> TopsError:
        from acme_client.issue import translate

        return translate(exc, self.session.net if self.session is not None else None, self.clock())

    def _failed(self, exc: Exception, inspection: Inspection) -> RunResult:
        now = self.clock()
        error = exc if isinstance(exc, TopsError) else self._translate(exc)
        described = f"{type(error).__name__}: {error}"
        if len(self.ca_failures) > 1:
            described = "every CA failed: " + "; ".join(self.ca_failures)
        spent = any(session.spent for session in self.sessions)
        retry_at = fallback.every_ca_waiting_until(self.config.cas, self.state.ca_not_before, now)
        if spent:
            self.state = record_failure(self.state, now, described, retry_at)
        else:  # e.g. a wrong delegation or EAB setting: fixing it must not wait for a backoff
            self.state = record_costless_failure(self.state, now, described, retry_at)
        self._save_state()
        self.metrics.add_metric(name=METRIC_FAILURE, unit="Count", value=1)
        log.error(
            "certificate renewal failed",
            exc_info=exc,
            extra={
                "error_type": type(error).__name__,
                "error": described,
                "failures": self.state.failures,
                "spent_at_ca": spent,
                "retry_not_before": _iso(self.state.retry_not_before),
                "subproblems": list(getattr(error, "subproblems", ())),
            },
        )
        cert = inspection.cert
        if cert is not None and cert.usable(now):
            return self._result(
                "failed",
                f"renewal failed ({described}); the published certificate stays in place",
                cert,
                self.stored_directory,
            )
        _reraise(exc, error)

    def _deferred(self, inspection: Inspection, decision: Decision) -> RunResult:
        state = self.state
        assert state.retry_not_before is not None
        self.metrics.add_metric(name=METRIC_DEFERRED, unit="Count", value=1)
        cert = inspection.cert
        message = (
            f"{decision.reason}; backing off after {state.failures} failure(s) until "
            f"{state.retry_not_before.isoformat()}"
        )
        if cert is not None and cert.usable(self.now):
            log.warning("renewal deferred", extra={"reason": message, "last_error": state.last_error})
            return self._result("valid", message, cert, self.stored_directory)
        raise BackoffError(state.failures, state.retry_not_before, state.last_error)

    def _save_state(self) -> None:
        try:
            self.store.write_json(self.store.state_key, self.state.to_json())
        except TopsError as exc:  # losing the state costs a retry, never the run
            log.warning("run state not saved", extra={"error": str(exc)})

    def _result(self, action: Any, reason: str, cert: StoredCert, ca: str | None) -> RunResult:
        now = self.clock()
        return RunResult(
            action=action,
            reason=reason,
            names=cert.names,
            not_after=cert.not_after,
            serial=cert.serial,
            days_left=cert.days_left(now),
            ca=ca,
        )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _reraise(exc: BaseException, error: TopsError) -> NoReturn:
    """Raise our translation of `exc`, chained to it (or `exc` itself when it is already ours)."""
    if error is exc:
        raise exc
    raise error from exc


def _with_uri(account: Account, uri: str | None) -> Account:
    from acme_client.account import Account

    return Account(account.directory_url, account.key_pem, account.jwk, account.alg, uri, account.created_at)
