"""`renew_certificate` end to end against moto in process and a fake CA that really checks the TXT."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from acme import messages
from cryptography import x509

from acme_client import certs
from acme_client.config import load_config
from acme_client.core import renew_certificate
from acme_client.decide import inspect_pair
from acme_client.dns01 import Dns01, unquote_txt
from acme_client.errors import (
    BackoffError,
    DelegationError,
    RateLimitedError,
    StagingRefusedError,
    ValidationFailedError,
)
from acme_client.issue import FailedResponse
from acme_client.models import PendingTxt, RenewRequest, RunState
from devstack.pki import TinyPKI, cert_pem, key_pem
from devstack.route53 import change_record_set
from shared.deadline import Deadline
from tests.fixtures.acme import strict_route53
from tests.fixtures.clock import FakeClock
from tests.fixtures.pki import PINNED_NOW as NOW

BUCKET = "tops-cert-bucket"
CERT = "lab-mcn-wildcard"
RECORD = "lab-mcn.challenge.f5demos.com"
NAMES = ["*.lab-mcn.f5demos.com", "lab-mcn.f5demos.com"]
CA = "https://ca.test"


class Metrics:
    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}
        self.dimensions: dict[str, str] = {}

    def add_metric(self, name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None:
        self.metrics[name] = value

    def add_dimension(self, name: str, value: str) -> None:
        self.dimensions[name] = value


class FakeCa:
    """Issues from a local PKI; an authorization is valid only if Route53 holds the right TXT value.

    It is also the run's CA reader (directory and renewalInfo GETs), which it counts in `reads`."""

    def __init__(
        self,
        pki: TinyPKI,
        route53: Any,
        zone_id: str,
        *,
        renewal_info: Any = None,
        tamper: bool = False,
        order_errors: list[Exception] | None = None,
        issued_at: dt.datetime = NOW,
        base: str = CA,
        validation_error: dict[str, str] | None = None,
    ) -> None:
        self.pki, self.route53, self.zone_id = pki, route53, zone_id
        self.base = base
        self.issued_at = issued_at
        self.ari_answer = renewal_info
        self.tamper = tamper
        self.validation_error = validation_error or {
            "type": "urn:ietf:params:acme:error:unauthorized",
            "detail": "Incorrect TXT record",
        }
        self.order_errors = list(order_errors or [])
        self.account_key: Any = None
        self.registered: list[str] = []
        self.eab: list[str | None] = []
        self.orders: list[dict[str, Any]] = []
        self.orders_created = 0
        self.answers: list[str] = []
        self.reads: list[str] = []
        self.net = SimpleNamespace(last_failure=None)
        self.serial = 100

    @property
    def directory_url(self) -> str:
        return f"{self.base}/dir"

    @property
    def spent(self) -> bool:
        return self.orders_created > 0

    @property
    def renewal_info_url(self) -> str | None:
        return f"{self.base}/renewal-info" if self.ari_answer is not None else None

    def directory(self, url: str) -> dict[str, Any]:
        self.reads.append(url)
        doc = {"newOrder": f"{self.base}/new-order", "newNonce": f"{self.base}/nonce"}
        if self.renewal_info_url:
            doc["renewalInfo"] = self.renewal_info_url
        return doc

    def renewal_info(self, url: str) -> tuple[Any, str | None]:
        self.reads.append(url)
        return self.ari_answer, "21600"

    def register(
        self, jwk: Any, alg: Any, *, email: Any, eab_kid: Any = None, eab_hmac_key: Any = None
    ) -> str:
        self.registered.append(jwk.thumbprint())
        self.eab.append(eab_kid)
        self.account_key = jwk
        return f"{self.base}/acct/{len(self.registered)}"

    def use_account(self, account: Any) -> None:
        self.account_key = account.jwk

    def new_order(self, names, csr_pem, *, replaces, profile):
        self.orders.append({"names": list(names), "replaces": replaces})
        if self.order_errors:
            raise self.order_errors.pop(0)
        self.orders_created += 1
        authzs = []
        for n, name in enumerate(names):
            body = {
                "identifier": {"type": "dns", "value": name.removeprefix("*.")},
                "status": "pending",
                "challenges": [
                    {
                        "type": "dns-01",
                        "url": f"{self.base}/chall/{n}",
                        "status": "pending",
                        "token": f"tok{n}" + "x" * 40,
                    }
                ],
            }
            if name.startswith("*."):
                body["wildcard"] = True
            authzs.append(
                messages.AuthorizationResource(
                    body=messages.Authorization.from_json(body), uri=f"{self.base}/authz/{n}"
                )
            )
        return messages.OrderResource(
            body=messages.Order(status=messages.STATUS_PENDING),
            uri=f"{self.base}/order/1",
            authorizations=authzs,
            csr_pem=csr_pem,
        )

    def _txt(self) -> set[str]:
        for rrset in self.route53.list_resource_record_sets(HostedZoneId=self.zone_id)["ResourceRecordSets"]:
            if rrset["Name"] == RECORD + "." and rrset["Type"] == "TXT":
                return {unquote_txt(rr["Value"]) for rr in rrset["ResourceRecords"]}
        return set()

    def authorization(self, authzr):
        challb = authzr.body.challenges[0]
        expected = challb.chall.validation(self.account_key)
        body = json.loads(authzr.body.json_dumps())
        if expected in self._txt() and not self.tamper:
            body["status"] = "valid"
        else:
            body["status"] = "invalid"
            body["challenges"][0]["error"] = dict(self.validation_error)
        return messages.AuthorizationResource(body=messages.Authorization.from_json(body), uri=authzr.uri)

    def answer(self, challb):
        self.answers.append(challb.uri)

    def finalize(self, orderr, deadline, sleep=None):
        self.serial += 1
        csr = x509.load_pem_x509_csr(orderr.csr_pem)
        cert = self.pki.sign_csr(
            csr, not_before=self.issued_at - dt.timedelta(hours=1), days=90, serial=self.serial
        )
        return (cert_pem(cert) + cert_pem(self.pki.intermediate.cert)).decode()


@pytest.fixture(scope="module")
def pki() -> TinyPKI:
    return TinyPKI(now=NOW)


@pytest.fixture
def aws(aws_mock: None) -> SimpleNamespace:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    route53 = strict_route53(boto3.client("route53", region_name="us-east-1"))
    zone_id = route53.create_hosted_zone(Name="challenge.f5demos.com", CallerReference="c")["HostedZone"][
        "Id"
    ]
    return SimpleNamespace(s3=s3, route53=route53, zone_id=zone_id.split("/")[-1])


def _config(aws: SimpleNamespace, **extra: str) -> Any:
    env = {
        "CERT_NAME": CERT,
        "DOMAIN": "lab-mcn.f5demos.com",
        "S3_BUCKET": BUCKET,
        "EMAIL": "ops@example.com",
        "CHALLENGE_RECORD": RECORD,
        "CHALLENGE_ZONE_ID": aws.zone_id,
        "ACME_DIRECTORY_URL": f"{CA}/dir",
        "ACME_INCLUDE_APEX": "true",
        "ACME_DNS_CHECK": "insync",
        "ACME_START_JITTER": "0",
    }
    env.update(extra)
    return load_config(env)


def _run(
    aws: SimpleNamespace,
    ca: FakeCa | list[FakeCa],
    *,
    force: bool = False,
    config: Any = None,
    metrics: Metrics | None = None,
    now: dt.datetime = NOW,
    sleep: Any = None,
    lookup_cname: Any = None,
    remaining: float = 170,
    connector_errors: dict[str, Exception] | None = None,
) -> Any:
    fakes = ca if isinstance(ca, list) else [ca]
    by_url = {fake.directory_url: fake for fake in fakes}
    if config is None:
        extra = {}
        if len(fakes) > 1:
            extra["ACME_FALLBACK_DIRECTORY_URLS"] = ",".join(f.directory_url for f in fakes[1:])
        config = _config(aws, ACME_DIRECTORY_URL=fakes[0].directory_url, **extra)
    dns = Dns01(
        aws.route53,
        record=config.challenge_record,
        zone_id=config.challenge_zone_id,
        ttl=10,
        servers=(),
        mode="insync",
        timeout=1,
        sleep=lambda s: None,
        lookup_cname=lookup_cname or (lambda name: RECORD),
    )

    def connect(url: str, deadline: Any) -> Any:
        if connector_errors and url in connector_errors:
            raise connector_errors[url]
        return by_url[url]

    reader = Reader(by_url)
    clock = FakeClock()  # the run's monotonic clock: its time left moves only when it sleeps
    return renew_certificate(
        RenewRequest(force=force),
        config,
        s3=aws.s3,
        route53=aws.route53,
        metrics=metrics or Metrics(),
        deadline=Deadline.after(remaining, clock),
        ca_connector=connect,
        ca_reader=reader,
        dns=dns,
        clock=lambda: now,
        sleep=sleep or clock.sleep,
    )


class Reader:
    """Routes the run's directory and renewalInfo GETs to the fake CA that owns the URL."""

    def __init__(self, by_url: dict[str, FakeCa]) -> None:
        self.by_url = by_url

    def _owner(self, url: str) -> FakeCa:
        return next(fake for fake in self.by_url.values() if url.startswith(fake.base + "/"))

    def directory(self, url: str) -> Any:
        return self._owner(url).directory(url)

    def renewal_info(self, url: str) -> Any:
        return self._owner(url).renewal_info(url)


def _get(aws: SimpleNamespace, key: str) -> bytes | None:
    try:
        return aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except aws.s3.exceptions.NoSuchKey:
        return None


def _seed(aws: SimpleNamespace, pki: TinyPKI, *, age_days: float = 5, days: float = 90) -> bytes:
    cert, key = pki.issue(NAMES, not_before=NOW - dt.timedelta(days=age_days), days=days, serial=7).pair
    aws.s3.put_object(Bucket=BUCKET, Key=f"{CERT}/privkey.pem", Body=key_pem(key))
    aws.s3.put_object(Bucket=BUCKET, Key=f"{CERT}/fullchain.pem", Body=pki.fullchain(cert))
    return pki.fullchain(cert)


def _state(aws: SimpleNamespace) -> RunState:
    return RunState.from_json(json.loads(_get(aws, f"_acme/state/{CERT}.json") or b"{}"))


def test_renew_certificate_first_run_issues_publishes_and_cleans_up(aws, pki):
    # GIVEN an empty bucket
    ca, metrics = FakeCa(pki, aws.route53, aws.zone_id), Metrics()
    # WHEN running
    result = _run(aws, ca, metrics=metrics)
    # THEN a matching pair for wildcard + apex is published, the account stored, no TXT left behind
    assert result.action == "issued"
    assert result.to_response()["statusCode"] == 200
    stored = inspect_pair(_get(aws, f"{CERT}/fullchain.pem"), _get(aws, f"{CERT}/privkey.pem"))
    assert stored.problem is None
    assert sorted(stored.cert.names) == sorted(NAMES)
    assert len(ca.registered) == 1
    assert len(ca.answers) == 2
    assert ca._txt() == set()
    metadata = json.loads(_get(aws, f"_acme/certs/{CERT}.json"))
    assert metadata["serial"] == stored.cert.serial
    assert metrics.metrics["CertificateIssued"] == 1
    assert metrics.metrics["DaysToExpiry"] == result.days_left
    assert metrics.dimensions == {"CertName": CERT}


def test_renew_certificate_valid_certificate_is_left_alone(aws, pki):
    # GIVEN a 5-day-old 90-day certificate
    chain = _seed(aws, pki)
    ca, metrics = FakeCa(pki, aws.route53, aws.zone_id), Metrics()
    # WHEN running THEN nothing is ordered or written, and days left are reported
    result = _run(aws, ca, metrics=metrics)
    assert result.action == "valid"
    assert ca.orders == []
    assert _get(aws, f"{CERT}/fullchain.pem") == chain
    assert metrics.metrics["DaysToExpiry"] == pytest.approx(85, abs=0.01)
    assert result.to_response()["body"]["days_left"] == pytest.approx(85, abs=0.01)


def test_renew_certificate_same_event_twice_issues_once(aws, pki):
    ca = FakeCa(pki, aws.route53, aws.zone_id)
    first = _run(aws, ca)
    chain = _get(aws, f"{CERT}/fullchain.pem")
    second = _run(aws, ca)
    assert (first.action, second.action) == ("issued", "valid")
    assert len(ca.orders) == 1
    assert _get(aws, f"{CERT}/fullchain.pem") == chain


def test_renew_certificate_failure_while_valid_reports_failed_keeps_pair_and_backs_off(aws, pki):
    # GIVEN a valid pair and a forced renewal whose DNS-01 validation fails
    chain = _seed(aws, pki)
    key = _get(aws, f"{CERT}/privkey.pem")
    ca, metrics = FakeCa(pki, aws.route53, aws.zone_id, tamper=True), Metrics()
    # WHEN running
    result = _run(aws, ca, force=True, metrics=metrics)
    # THEN the run says failed (not success, not a crash), the pair is untouched, the failure is recorded
    assert result.action == "failed"
    assert result.to_response()["statusCode"] == 500
    assert "ValidationFailedError" in result.reason
    assert _get(aws, f"{CERT}/fullchain.pem") == chain
    assert _get(aws, f"{CERT}/privkey.pem") == key
    state = _state(aws)
    assert state.failures == 1
    assert state.retry_not_before == NOW + dt.timedelta(minutes=1)
    assert metrics.metrics["RenewalFailure"] == 1
    assert metrics.metrics["DaysToExpiry"] == pytest.approx(85, abs=0.01)
    assert ca._txt() == set()


def test_renew_certificate_failure_without_certificate_raises_and_writes_nothing(aws, pki):
    ca = FakeCa(pki, aws.route53, aws.zone_id, tamper=True)
    with pytest.raises(ValidationFailedError):
        _run(aws, ca)
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not any(k.startswith(f"{CERT}/") for k in keys)
    assert _state(aws).failures == 1
    assert ca._txt() == set()


def test_renew_certificate_backing_off_with_usable_certificate_defers(aws, pki):
    # GIVEN a certificate due by lifetime and a failure recorded 30 s ago
    _seed(aws, pki, age_days=70)
    failed = RunState(
        names=tuple(NAMES),
        failures=1,
        last_failure=NOW - dt.timedelta(seconds=30),
        last_error="boom",
        retry_not_before=NOW + dt.timedelta(seconds=30),
    )
    aws.s3.put_object(
        Bucket=BUCKET, Key=f"_acme/state/{CERT}.json", Body=json.dumps(failed.to_json()).encode()
    )
    ca, metrics = FakeCa(pki, aws.route53, aws.zone_id), Metrics()
    # WHEN running THEN no order is placed and the reason says why
    result = _run(aws, ca, metrics=metrics)
    assert result.action == "valid"
    assert "backing off" in result.reason
    assert ca.orders == []
    assert metrics.metrics["RenewalDeferred"] == 1


def test_renew_certificate_backing_off_without_certificate_raises(aws, pki):
    failed = RunState(
        names=tuple(NAMES), failures=4, last_failure=NOW, retry_not_before=NOW + dt.timedelta(hours=1)
    )
    aws.s3.put_object(
        Bucket=BUCKET, Key=f"_acme/state/{CERT}.json", Body=json.dumps(failed.to_json()).encode()
    )
    with pytest.raises(BackoffError):
        _run(aws, FakeCa(pki, aws.route53, aws.zone_id))


def test_renew_certificate_rate_limited_records_the_ca_retry_time(aws, pki):
    # GIVEN a CA answering newOrder with 429 rateLimited, Retry-After two hours
    _seed(aws, pki, age_days=70)
    ca = FakeCa(
        pki,
        aws.route53,
        aws.zone_id,
        order_errors=[messages.Error.with_code("rateLimited", detail="too many")],
    )
    ca.net.last_failure = FailedResponse(429, "7200", f"{CA}/new-order")
    # WHEN running THEN the run reports failed and the next attempt waits for the CA
    result = _run(aws, ca)
    assert result.action == "failed"
    assert "RateLimitedError" in result.reason
    assert _state(aws).retry_not_before == NOW + dt.timedelta(hours=2)
    assert len(ca.orders) == 1


def test_renew_certificate_ari_window_open_renews_with_replaces(aws, pki):
    # GIVEN a young certificate whose ARI window is already open
    chain = _seed(aws, pki, age_days=5)
    leaf = x509.load_pem_x509_certificates(chain)[0]
    window = {"suggestedWindow": {"start": "2026-05-31T00:00:00Z", "end": "2026-05-31T12:00:00Z"}}
    ca = FakeCa(pki, aws.route53, aws.zone_id, renewal_info=window)
    # WHEN running THEN it renews and names the predecessor in the order
    result = _run(aws, ca)
    assert result.action == "renewed"
    assert ca.orders[0]["replaces"] == certs.ari_cert_id(leaf)
    assert json.loads(_get(aws, f"_acme/certs/{CERT}.json"))["replaces"] == certs.ari_cert_id(leaf)


def test_renew_certificate_ari_window_later_keeps_and_remembers_the_answer(aws, pki):
    _seed(aws, pki, age_days=5)
    window = {"suggestedWindow": {"start": "2026-07-01T00:00:00Z", "end": "2026-07-02T00:00:00Z"}}
    result = _run(aws, FakeCa(pki, aws.route53, aws.zone_id, renewal_info=window))
    assert result.action == "valid"
    ari = _state(aws).ari
    assert ari is not None and ari.next_check == NOW + dt.timedelta(hours=6)


def test_renew_certificate_staging_over_valid_production_is_refused_before_ordering(aws, pki):
    _seed(aws, pki, age_days=70)
    ca = FakeCa(pki, aws.route53, aws.zone_id)
    with pytest.raises(StagingRefusedError):
        _run(aws, ca, config=_config(aws, ACME_DIRECTORY_URL="staging"))
    assert ca.orders == []


def test_renew_certificate_unknown_account_is_registered_again(aws, pki):
    ca = FakeCa(
        pki,
        aws.route53,
        aws.zone_id,
        order_errors=[messages.Error.with_code("accountDoesNotExist", detail="no such account")],
    )
    result = _run(aws, ca)
    assert result.action == "issued"
    assert len(ca.registered) == 2
    assert ca.registered[0] == ca.registered[1]  # the same stored key, registered again


def test_renew_certificate_second_run_reuses_the_account(aws, pki):
    ca = FakeCa(pki, aws.route53, aws.zone_id)
    _run(aws, ca)
    _run(aws, ca, force=True)
    assert len(ca.registered) == 1
    assert len(ca.orders) == 2


def test_renew_certificate_name_change_reissues_with_new_names(aws, pki):
    # GIVEN a wildcard-only certificate (what the deployed original issued) and apex now configured
    cert, key = pki.issue(NAMES[:1], not_before=NOW - dt.timedelta(days=5), days=90).pair
    aws.s3.put_object(Bucket=BUCKET, Key=f"{CERT}/privkey.pem", Body=key_pem(key))
    aws.s3.put_object(Bucket=BUCKET, Key=f"{CERT}/fullchain.pem", Body=pki.fullchain(cert))
    result = _run(aws, FakeCa(pki, aws.route53, aws.zone_id))
    assert result.action == "renewed"
    assert result.reason.startswith("names changed")
    assert sorted(result.names) == sorted(NAMES)


# --- a second CA ---

CA2 = "https://ca2.test"


def _rate_limited(fake: FakeCa, retry_after: str = "7200") -> FakeCa:
    """The CA answers the next newOrder with 429 rateLimited and Retry-After."""
    fake.order_errors.append(messages.Error.with_code("rateLimited", detail="too many new orders"))
    fake.net.last_failure = FailedResponse(429, retry_after, f"{fake.base}/new-order")
    return fake


@pytest.fixture
def pki2() -> TinyPKI:
    return TinyPKI("Second CA", now=NOW)


def _two(aws: SimpleNamespace, pki: TinyPKI, pki2: TinyPKI, **first: Any) -> tuple[FakeCa, FakeCa]:
    return FakeCa(pki, aws.route53, aws.zone_id, **first), FakeCa(pki2, aws.route53, aws.zone_id, base=CA2)


def _issuer_cn(aws: SimpleNamespace) -> str:
    leaf = x509.load_pem_x509_certificates(_get(aws, f"{CERT}/fullchain.pem") or b"")[0]
    return leaf.issuer.rfc4514_string()


def test_renew_certificate_rate_limited_first_ca_falls_back_and_is_left_alone_until_its_wait_ends(
    aws, pki, pki2
):
    # GIVEN a first CA that answers newOrder with 429 and Retry-After two hours
    first, second = _two(aws, pki, pki2)
    _rate_limited(first)
    metrics = Metrics()
    # WHEN running THEN the second CA issues; the result, metadata and metrics say which CA did
    result = _run(aws, [first, second], metrics=metrics)
    assert (result.action, result.ca) == ("issued", f"{CA2}/dir")
    assert "Second CA" in _issuer_cn(aws)
    metadata = json.loads(_get(aws, f"_acme/certs/{CERT}.json"))
    assert (metadata["directory"], metadata["ca_position"]) == (f"{CA2}/dir", 1)
    assert metrics.metrics["CertificateIssuedByFallback"] == 1
    state = _state(aws)
    assert state.ca_not_before == {f"{CA}/dir": NOW + dt.timedelta(hours=2)}
    assert state.failures == 0 and state.retry_not_before is None
    # AND a renewal within the two hours does not go to the first CA at all
    assert _run(aws, [first, second], force=True, now=NOW + dt.timedelta(hours=1)).ca == f"{CA2}/dir"
    assert len(first.orders) == 1 and len(second.orders) == 2
    # AND after them, the first CA is preferred again (and its wait forgotten)
    later = _run(aws, [first, second], force=True, now=NOW + dt.timedelta(hours=2, minutes=1))
    assert later.ca == f"{CA}/dir"
    assert "Second CA" not in _issuer_cn(aws)
    assert _state(aws).ca_not_before == {}


def _refuses_names(ca: FakeCa) -> None:
    ca.order_errors.append(messages.Error.with_code("rejectedIdentifier", detail="forbidden by policy"))


def _server_error(ca: FakeCa) -> None:
    ca.order_errors.append(messages.Error.with_code("serverInternal", detail="maintenance"))


def _caa_refusal(ca: FakeCa) -> None:  # the CA's CAA check fails during validation
    ca.validation_error = {"type": "urn:ietf:params:acme:error:caa", "detail": "CAA record forbids issuance"}
    ca.tamper = True


@pytest.mark.parametrize("failure", [_refuses_names, _server_error, _caa_refusal])
def test_renew_certificate_first_ca_refusing_or_failing_falls_back(aws, pki, pki2, failure):
    first, second = _two(aws, pki, pki2)
    failure(first)
    result = _run(aws, [first, second])
    assert (result.action, result.ca) == ("issued", f"{CA2}/dir")
    assert len(first.orders) == 1 and len(second.orders) == 1
    assert second._txt() == set()


def test_renew_certificate_unreachable_first_ca_falls_back(aws, pki, pki2):
    import requests

    _, second = _two(aws, pki, pki2)
    down = requests.ConnectionError("connection refused")
    config = _config(aws, ACME_DIRECTORY_URL=f"{CA}/dir", ACME_FALLBACK_DIRECTORY_URLS=f"{CA2}/dir")
    result = _run(aws, [second], config=config, connector_errors={f"{CA}/dir": down})
    assert result.ca == f"{CA2}/dir"


def test_renew_certificate_failed_dns01_validation_does_not_fall_back(aws, pki, pki2):
    # GIVEN a first CA that finds a wrong TXT value (any CA would: it costs authorization failures there)
    first, second = _two(aws, pki, pki2, tamper=True)
    # WHEN running THEN the error is raised, the second CA is never contacted, and the backoff starts
    with pytest.raises(ValidationFailedError):
        _run(aws, [first, second])
    assert second.registered == [] and second.orders == []
    assert _state(aws).failures == 1


def test_renew_certificate_no_time_left_for_the_next_ca_stops_at_the_first(aws, pki, pki2):
    first, second = _two(aws, pki, pki2)
    _rate_limited(first)
    with pytest.raises(RateLimitedError):
        _run(aws, [first, second], remaining=50)
    assert second.orders == []


def test_renew_certificate_every_ca_rate_limited_waits_for_the_earliest_without_counting(aws, pki, pki2):
    first, second = _two(aws, pki, pki2)
    _rate_limited(first, "7200")
    _rate_limited(second, "3600")
    with pytest.raises(RateLimitedError):
        _run(aws, [first, second])
    state = _state(aws)
    assert state.failures == 0  # no order was created anywhere
    assert state.retry_not_before == NOW + dt.timedelta(hours=1)
    assert "every CA failed" in (state.last_error or "")


def test_renew_certificate_replaces_goes_only_to_the_ca_that_issued_the_certificate(aws, pki, pki2):
    # GIVEN a certificate issued by the second CA (the first was rate limited), whose ARI window opened
    first, second = _two(aws, pki, pki2)
    _rate_limited(first, "60")
    _run(aws, [first, second])
    window = {"suggestedWindow": {"start": "2026-06-01T13:00:00Z", "end": "2026-06-01T14:00:00Z"}}
    first.ari_answer = second.ari_answer = window
    # WHEN the renewal goes to the first CA again
    result = _run(aws, [first, second], now=NOW + dt.timedelta(hours=2))
    # THEN ARI was asked of the second CA, and the first CA's order carries no `replaces`
    assert result.ca == f"{CA}/dir"
    assert any("renewal-info" in url for url in second.reads)
    assert first.orders[-1]["replaces"] is None
    assert not any("renewal-info" in url for url in first.reads)


def test_renew_certificate_fallback_ca_registers_with_its_own_eab(aws, pki, pki2):
    first, second = _two(aws, pki, pki2)
    _rate_limited(first)
    config = _config(
        aws,
        ACME_DIRECTORY_URL=f"{CA}/dir",
        ACME_FALLBACK_DIRECTORY_URLS=f"{CA2}/dir",
        ACME_FALLBACK_EAB_KID_1="kid-2",
        ACME_FALLBACK_EAB_HMAC_KEY_1="c2Vjb25kLWNhLWhtYWM",
    )
    _run(aws, [first, second], config=config)
    assert first.eab == [None] and second.eab == ["kid-2"]


# --- configuration errors, start delay, leftovers, ARI cache ---


def test_renew_certificate_wrong_delegation_costs_nothing_and_starts_no_backoff(aws, pki):
    # GIVEN `_acme-challenge.<DOMAIN>` pointing somewhere else
    ca = FakeCa(pki, aws.route53, aws.zone_id)
    with pytest.raises(DelegationError):
        _run(aws, ca, lookup_cname=lambda name: "lab-app.challenge.f5demos.com")
    # THEN nothing was sent to the CA (no account, no order) and no backoff was recorded
    assert ca.registered == [] and ca.orders == []
    state = _state(aws)
    assert state.failures == 0 and state.retry_not_before is None
    assert "CHALLENGE_RECORD" in (state.last_error or "")
    # AND once the delegation is fixed, the very next run issues
    assert _run(aws, ca, now=NOW + dt.timedelta(seconds=5)).action == "issued"


def test_renew_certificate_start_delay_comes_before_anything_is_sent(aws, pki):
    # GIVEN a start jitter of 3 s
    ca = FakeCa(pki, aws.route53, aws.zone_id)
    seen: list[tuple[float, int, int, set[str]]] = []

    def sleep(seconds: float) -> None:
        seen.append((seconds, len(ca.registered), len(ca.orders), ca._txt()))

    config = _config(aws, ACME_START_JITTER="3")
    # WHEN issuing THEN the one delay (within 0..3 s) came before the account, the order and any TXT
    assert _run(aws, ca, config=config, sleep=sleep).action == "issued"
    assert len(seen) == 1
    delay, accounts, orders, txt = seen[0]
    assert 0 <= delay <= 3 and (accounts, orders, txt) == (0, 0, set())
    # AND a run that is not due does not wait at all
    seen.clear()
    assert _run(aws, ca, config=config, sleep=sleep).action == "valid"
    assert seen == []


def test_renew_certificate_removes_values_of_a_killed_run_once_its_deadline_passed(aws, pki):
    # GIVEN a valid certificate, a foreign value, and journaled values of two earlier runs: one whose
    # Lambda is surely gone (expired a minute ago), one that may still be running
    _seed(aws, pki)
    dead, alive = ("dead-run-value-" + "a" * 28,), ("live-run-value-" + "b" * 28,)
    values = [f'"{v}"' for v in ("foreign", *dead, *alive)]
    change_record_set(aws.route53, aws.zone_id, RECORD, "TXT", values, ttl=300, action="CREATE")
    state = RunState(
        names=tuple(NAMES),
        dns_pending=(
            PendingTxt(RECORD, aws.zone_id, dead, NOW - dt.timedelta(minutes=1)),
            PendingTxt(RECORD, aws.zone_id, alive, NOW + dt.timedelta(minutes=1)),
        ),
    )
    body = json.dumps(state.to_json()).encode()
    aws.s3.put_object(Bucket=BUCKET, Key=f"_acme/state/{CERT}.json", Body=body)
    ca = FakeCa(pki, aws.route53, aws.zone_id)
    # WHEN a run that is not due comes
    assert _run(aws, ca).action == "valid"
    # THEN only the dead run's value is gone; the rest, and its TTL, stay; the journal forgets it
    sets = aws.route53.list_resource_record_sets(HostedZoneId=aws.zone_id)["ResourceRecordSets"]
    txt = [
        (r["TTL"], sorted(unquote_txt(v["Value"]) for v in r["ResourceRecords"]))
        for r in sets
        if r["Type"] == "TXT"
    ]
    assert txt == [(300, sorted(["foreign", *alive]))]
    assert [entry.values for entry in _state(aws).dns_pending] == [alive]


def test_renew_certificate_killed_run_leaves_a_journal_entry_that_outlives_its_deadline(aws, pki):
    class Killed(BaseException):
        pass

    ca = FakeCa(pki, aws.route53, aws.zone_id)

    def die(challb: Any) -> None:
        raise Killed

    ca.answer = die
    with pytest.raises(Killed):
        _run(aws, ca, remaining=100)
    pending = _state(aws).dns_pending
    assert len(pending) == 1 and len(pending[0].values) == 2
    # the values may only be taken once the killed Lambda is certainly over (deadline + margin)
    assert pending[0].expires == NOW + dt.timedelta(seconds=100 + 60)


def test_renew_certificate_current_ari_answer_means_no_request_at_all(aws, pki):
    _seed(aws, pki)
    window = {"suggestedWindow": {"start": "2026-07-01T00:00:00Z", "end": "2026-07-02T00:00:00Z"}}
    ca = FakeCa(pki, aws.route53, aws.zone_id, renewal_info=window)
    assert _run(aws, ca).action == "valid"
    assert len(ca.reads) == 2  # the directory and renewalInfo
    assert _run(aws, ca, now=NOW + dt.timedelta(hours=5)).action == "valid"
    assert len(ca.reads) == 2  # Retry-After (6 h) not reached: nothing asked
    assert _run(aws, ca, now=NOW + dt.timedelta(hours=7)).action == "valid"
    assert len(ca.reads) == 4
