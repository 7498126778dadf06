"""`renew_certificate` end to end against moto in process and a fake CA that really checks the TXT."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
from acme import messages
from cryptography import x509

from acme_client import certs
from acme_client.config import load_config
from acme_client.core import renew_certificate
from acme_client.decide import inspect_pair
from acme_client.dns01 import Dns01, unquote_txt
from acme_client.errors import BackoffError, StagingRefusedError, ValidationFailedError
from acme_client.issue import FailedResponse
from acme_client.models import Deadline, RenewRequest, RunState
from tests.unit.acme_client.pki import NOW, Pki, pem_cert, pem_key

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
    """Issues from a local PKI; an authorization is valid only if Route53 holds the right TXT value."""

    def __init__(
        self,
        pki: Pki,
        route53: Any,
        zone_id: str,
        *,
        renewal_info: Any = None,
        tamper: bool = False,
        order_errors: list[Exception] | None = None,
        issued_at: dt.datetime = NOW,
    ) -> None:
        self.pki, self.route53, self.zone_id = pki, route53, zone_id
        self.issued_at = issued_at
        self.renewal_info = renewal_info
        self.tamper = tamper
        self.order_errors = list(order_errors or [])
        self.account_key: Any = None
        self.registered: list[str] = []
        self.orders: list[dict[str, Any]] = []
        self.answers: list[str] = []
        self.net = SimpleNamespace(last_failure=None)
        self.serial = 100

    @property
    def renewal_info_url(self) -> str | None:
        return f"{CA}/renewal-info" if self.renewal_info is not None else None

    def fetch_renewal_info(self, url: str) -> tuple[Any, str | None]:
        return self.renewal_info, "21600"

    def register(
        self, jwk: Any, alg: Any, *, email: Any, eab_kid: Any = None, eab_hmac_key: Any = None
    ) -> str:
        self.registered.append(jwk.thumbprint())
        self.account_key = jwk
        return f"{CA}/acct/{len(self.registered)}"

    def use_account(self, account: Any) -> None:
        self.account_key = account.jwk

    def new_order(self, names, csr_pem, *, replaces, profile):
        self.orders.append({"names": list(names), "replaces": replaces})
        if self.order_errors:
            raise self.order_errors.pop(0)
        authzs = []
        for n, name in enumerate(names):
            body = {
                "identifier": {"type": "dns", "value": name.removeprefix("*.")},
                "status": "pending",
                "challenges": [
                    {
                        "type": "dns-01",
                        "url": f"{CA}/chall/{n}",
                        "status": "pending",
                        "token": f"tok{n}" + "x" * 40,
                    }
                ],
            }
            if name.startswith("*."):
                body["wildcard"] = True
            authzs.append(
                messages.AuthorizationResource(
                    body=messages.Authorization.from_json(body), uri=f"{CA}/authz/{n}"
                )
            )
        return messages.OrderResource(
            body=messages.Order(status=messages.STATUS_PENDING),
            uri=f"{CA}/order/1",
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
            body["challenges"][0]["error"] = {
                "type": "urn:ietf:params:acme:error:unauthorized",
                "detail": "Incorrect TXT record",
            }
        return messages.AuthorizationResource(body=messages.Authorization.from_json(body), uri=authzr.uri)

    def answer(self, challb):
        self.answers.append(challb.uri)

    def finalize(self, orderr, deadline, sleep=None):
        self.serial += 1
        csr = x509.load_pem_x509_csr(orderr.csr_pem)
        cert = self.pki.sign_csr(
            csr, not_before=self.issued_at - dt.timedelta(hours=1), days=90, serial=self.serial
        )
        return (pem_cert(cert) + pem_cert(self.pki.inter)).decode()


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create()


@pytest.fixture
def aws(aws_mock: None) -> SimpleNamespace:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    route53 = boto3.client("route53", region_name="us-east-1")
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
    ca: FakeCa,
    *,
    force: bool = False,
    config: Any = None,
    metrics: Metrics | None = None,
    now: dt.datetime = NOW,
) -> Any:
    config = config or _config(aws)
    dns = Dns01(
        aws.route53,
        record=config.challenge_record,
        zone_id=config.challenge_zone_id,
        ttl=10,
        servers=(),
        mode="insync",
        timeout=1,
        sleep=lambda s: None,
        lookup_cname=lambda name: RECORD,
    )
    return renew_certificate(
        RenewRequest(force=force),
        config,
        s3=aws.s3,
        route53=aws.route53,
        metrics=metrics or Metrics(),
        deadline=Deadline.after(170),
        ca_connector=lambda cfg, dl: cast(Any, ca),
        dns=dns,
        clock=lambda: now,
        sleep=lambda s: None,
    )


def _get(aws: SimpleNamespace, key: str) -> bytes | None:
    try:
        return aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except aws.s3.exceptions.NoSuchKey:
        return None


def _seed(aws: SimpleNamespace, pki: Pki, *, age_days: float = 5, days: float = 90) -> bytes:
    cert, key = pki.leaf(NAMES, not_before=NOW - dt.timedelta(days=age_days), days=days, serial=7)
    aws.s3.put_object(Bucket=BUCKET, Key=f"{CERT}/privkey.pem", Body=pem_key(key))
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
    cert, key = pki.leaf(NAMES[:1], not_before=NOW - dt.timedelta(days=5), days=90)
    aws.s3.put_object(Bucket=BUCKET, Key=f"{CERT}/privkey.pem", Body=pem_key(key))
    aws.s3.put_object(Bucket=BUCKET, Key=f"{CERT}/fullchain.pem", Body=pki.fullchain(cert))
    result = _run(aws, FakeCa(pki, aws.route53, aws.zone_id))
    assert result.action == "renewed"
    assert result.reason.startswith("names changed")
    assert sorted(result.names) == sorted(NAMES)
