"""The TXT value set at CHALLENGE_RECORD during real issuances (lambda_handler, Pebble, moto server, the
devstack DNS server): compare and swap against another writer, TTLs of others, and values left behind by
a killed run.

The handler's Route53 client follows Route 53's rules (tests.fixtures.acme.strict_route53, applied by
the acme_env fixtures), so that a change batch built from a stale read is refused as Route 53 refuses
it; moto alone would accept it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import pytest

import acme_client.core
import acme_client.dns01
import acme_client.issue
from shared import aws
from tests.fixtures.acme import CERT_NAME
from tests.fixtures.events import load_event
from tests.fixtures.lambda_context import StubContext

pytestmark = pytest.mark.integration

FOREIGN = '"foreign-value-of-another-client"'
STATE = f"_acme/state/{CERT_NAME}.json"


class Killed(BaseException):
    """The Lambda being stopped mid-run: no `except Exception`, no cleanup survives it."""


def _invoke(event: str = "acme_client_schedule") -> Any:
    from acme_client.function import lambda_handler

    context = StubContext(function_name="tops-acme-client-mcn", timeout_s=180)
    return lambda_handler(load_event(event), cast(Any, context))


def _snapshot_when_answering(acme_env: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """TXT sets as the CA is told to validate (the first answer of each order)."""
    seen: list[Any] = []
    original = acme_client.issue.AcmeSession.answer

    def answer(self: Any, challb: Any) -> None:
        seen.append(acme_env.txt_sets())
        original(self, challb)

    monkeypatch.setattr(acme_client.issue.AcmeSession, "answer", answer)
    return seen


def test_challenge_record_values_of_others_keep_their_ttl(acme_env, monkeypatch):
    # GIVEN a foreign value at the challenge record with a TTL of 300
    acme_env.put_txt(FOREIGN.strip('"'), ttl=300)
    seen = _snapshot_when_answering(acme_env, monkeypatch)
    # WHEN issuing (wildcard + apex: two values of ours)
    assert _invoke()["body"]["action"] == "issued"
    # THEN while validating there was one set, still TTL 300, holding theirs and both of ours
    ttl, values = seen[0][0]
    assert len(seen[0]) == 1 and ttl == 300 and FOREIGN in values and len(values) == 3
    # AND afterwards their value is there as it was, TTL included
    assert acme_env.txt_sets() == [(300, [FOREIGN])]


@pytest.mark.parametrize("step", ["adding", "removing"])
def test_challenge_record_writer_between_our_read_and_our_change_keeps_its_value(acme_env, monkeypatch, step):
    # GIVEN Route 53's rules on the handler's client (acme_env), and another writer that adds its value
    # right after our read of the record, while we add ours (first read) or remove ours (second read)
    route53 = aws.client("route53")
    txt_reads: list[bool] = []
    batches: list[list[str]] = []

    def before_read(params: dict[str, Any], **_: Any) -> None:
        txt_reads.append(params.get("StartRecordType") == "TXT")

    def after_read(**_: Any) -> None:
        if not txt_reads[-1]:
            return
        if txt_reads.count(True) == (1 if step == "adding" else 2):
            current = [v for _, values in acme_env.txt_sets() for v in values]
            acme_env.put_txt(*(v.strip('"') for v in [*current, FOREIGN]), ttl=10)

    def before_change(params: dict[str, Any], **_: Any) -> None:
        batches.append([change["Action"] for change in params["ChangeBatch"]["Changes"]])

    route53.meta.events.register("before-parameter-build.route53.ListResourceRecordSets", before_read)
    route53.meta.events.register("after-call.route53.ListResourceRecordSets", after_read)
    # first: ahead of the strict check (acme_env), so that refused batches are counted too
    route53.meta.events.register_first(
        "before-parameter-build.route53.ChangeResourceRecordSets", before_change
    )
    seen = _snapshot_when_answering(acme_env, monkeypatch)
    # WHEN issuing
    assert _invoke()["body"]["action"] == "issued"
    # THEN our stale batch was refused, read again and redone, and the other writer's value survived
    assert len(batches) == 3  # refused, redone, and the other step's batch
    assert FOREIGN in [v for _, values in acme_env.txt_sets() for v in values]
    assert acme_env.txt_sets() == [(10, [FOREIGN])]
    if step == "adding":  # AND the CA saw both: no value was dropped while validating
        assert FOREIGN in seen[0][0][1] and len(seen[0][0][1]) == 3


def test_challenge_record_values_of_a_killed_run_are_purged_by_a_later_run(acme_env, monkeypatch):
    # GIVEN a foreign value, and a run stopped after its values reached Route53, before any cleanup
    acme_env.put_txt(FOREIGN.strip('"'), ttl=300)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(acme_client.issue.AcmeSession, "answer", killed)
        patch.setattr(acme_client.dns01.TxtRecords, "remove", killed)
        with pytest.raises(Killed):
            _invoke()
    left = [v for _, values in acme_env.txt_sets() for v in values if v != FOREIGN]
    assert len(left) == 2
    pending = json.loads(acme_env.get(STATE))["dns_pending"]
    assert [sorted(f'"{v}"' for v in entry["values"]) for entry in pending] == [sorted(left)]
    # WHEN another run comes while the killed one could still be alive (its deadline not passed)
    assert _invoke()["body"]["action"] == "issued"
    # THEN it leaves those values alone
    assert sorted(v for _, values in acme_env.txt_sets() for v in values) == sorted([FOREIGN, *left])
    # WHEN a scheduled run comes after that deadline (the certificate is not due: a cheap run)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    monkeypatch.setattr(acme_client.core, "_utcnow", lambda: later)
    response = _invoke()
    # THEN it removes them, keeps the foreign value with its TTL, and forgets the journal entry
    assert response["body"]["action"] == "valid"
    assert acme_env.txt_sets() == [(300, [FOREIGN])]
    assert json.loads(acme_env.get(STATE))["dns_pending"] == []
