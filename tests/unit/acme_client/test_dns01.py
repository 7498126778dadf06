"""DNS-01 on Route53 (moto in process, judged by Route 53's own rules through `strict_route53`): value
sets changed by compare and swap, INSYNC, the visibility check, the delegation and the journal."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from acme_client.config import DnsServer
from acme_client.dns01 import (
    Dns01,
    DnsQueryError,
    TxtRecords,
    find_zone,
    unquote_txt,
    wait_until_visible,
    zone_nameservers,
)
from acme_client.errors import DelegationError, DnsUpdateError, PropagationError, ZoneNotFoundError
from shared.deadline import Deadline
from tests.fixtures.acme import strict_route53
from tests.fixtures.clock import FakeClock

RECORD = "lab-mcn.challenge.f5demos.com"
WILDCARD_VALUE = "gfj9Xq-wildcard-value-aaaaaaaaaaaaaaaaaaaaaaaaa"
APEX_VALUE = "LoqXcY-apex-value-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
FOREIGN = "foreign-value-of-another-client"


@pytest.fixture
def route53(aws_mock: None) -> Any:
    return strict_route53(boto3.client("route53", region_name="us-east-1"))


@pytest.fixture
def other(aws_mock: None) -> Any:
    """Another writer's client (plain moto): it changes the record behind our back."""
    return boto3.client("route53", region_name="us-east-1")


def _sets(route53: Any, zone_id: str) -> list[tuple[int, list[str]]]:
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [
        (int(rrset["TTL"]), sorted(unquote_txt(rr["Value"]) for rr in rrset["ResourceRecords"]))
        for rrset in sets
        if rrset["Type"] == "TXT"
    ]


def _after_our_reads(route53: Any, on_reads: set[int], action: Any) -> list[int]:
    """Run `action` right after our N-th read of the TXT record (N in `on_reads`): another writer acting
    between our read and our change. Returns the list of reads seen so far."""
    reads: list[int] = []
    ours: list[bool] = []  # the strict check lists the zone too: only TXT reads are ours

    def before(params: dict[str, Any], **_: Any) -> None:
        ours.append(params.get("StartRecordType") == "TXT")

    def after(**_: Any) -> None:
        if not ours.pop():
            return
        reads.append(len(reads) + 1)
        if reads[-1] in on_reads:
            action()

    route53.meta.events.register("before-parameter-build.route53.ListResourceRecordSets", before)
    route53.meta.events.register("after-call.route53.ListResourceRecordSets", after)
    return reads


@pytest.fixture
def zone_id(route53: Any) -> str:
    return route53.create_hosted_zone(Name="challenge.f5demos.com", CallerReference="z")["HostedZone"][
        "Id"
    ].split("/")[-1]


@pytest.fixture
def records(route53: Any, zone_id: str, clock: FakeClock) -> TxtRecords:
    """Our TXT record set (TTL 10) through the strict client, pausing on the fake clock."""
    return TxtRecords(route53, zone_id, RECORD, 10, sleep=clock.sleep)


def _deadline(clock: FakeClock, seconds: float = 60) -> Deadline:
    return Deadline.after(seconds, clock=clock)


def _values(route53: Any, zone_id: str) -> list[str] | None:
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    for rrset in sets:
        if rrset["Name"] == RECORD + "." and rrset["Type"] == "TXT":
            return sorted(unquote_txt(rr["Value"]) for rr in rrset["ResourceRecords"])
    return None


def _put(route53: Any, zone_id: str, *values: str, ttl: int = 30) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": RECORD,
                        "Type": "TXT",
                        "TTL": ttl,
                        "ResourceRecords": [{"Value": f'"{v}"'} for v in values],
                    },
                }
            ]
        },
    )


def test_txt_records_wildcard_and_apex_values_share_one_record(records, route53, zone_id, clock):
    # GIVEN no record WHEN adding the wildcard and apex values
    change = records.add([WILDCARD_VALUE, APEX_VALUE], _deadline(clock))
    # THEN both values are in one TXT set with our TTL
    assert change is not None
    assert _values(route53, zone_id) == sorted([WILDCARD_VALUE, APEX_VALUE])
    assert records.read().ttl == 10


def test_txt_records_add_keeps_foreign_values(records, route53, zone_id, clock):
    # GIVEN a value written by someone else
    _put(route53, zone_id, FOREIGN)
    # WHEN adding ours
    records.add([WILDCARD_VALUE, APEX_VALUE], _deadline(clock))
    # THEN theirs is still there
    assert _values(route53, zone_id) == sorted([FOREIGN, WILDCARD_VALUE, APEX_VALUE])


def test_txt_records_add_when_already_present_changes_nothing(records, clock):
    records.add([WILDCARD_VALUE], _deadline(clock))
    assert records.add([WILDCARD_VALUE], _deadline(clock)) is None


def test_txt_records_remove_only_ours_leaves_foreign_values(records, route53, zone_id, clock):
    # GIVEN foreign + ours
    _put(route53, zone_id, FOREIGN, WILDCARD_VALUE, APEX_VALUE, ttl=10)
    # WHEN removing ours
    change = records.remove([WILDCARD_VALUE, APEX_VALUE], _deadline(clock))
    # THEN only the foreign value remains
    assert change is not None
    assert _values(route53, zone_id) == [FOREIGN]


def test_txt_records_remove_last_values_deletes_the_record(records, route53, zone_id, clock):
    _put(route53, zone_id, WILDCARD_VALUE, APEX_VALUE, ttl=10)
    records.remove([WILDCARD_VALUE, APEX_VALUE], _deadline(clock))
    assert _values(route53, zone_id) is None


def test_txt_records_remove_already_gone_is_success(records, route53, zone_id, clock):
    assert records.remove([WILDCARD_VALUE], _deadline(clock)) is None
    _put(route53, zone_id, FOREIGN)
    assert records.remove([WILDCARD_VALUE], _deadline(clock)) is None
    assert _values(route53, zone_id) == [FOREIGN]


def test_txt_records_remove_rereads_when_delete_no_longer_matches(route53, zone_id, clock):
    # GIVEN a set that changes between our read and our DELETE (moto answers InvalidInput there,
    # AWS InvalidChangeBatch)
    _put(route53, zone_id, WILDCARD_VALUE)

    class Racing:
        def __init__(self) -> None:
            self.raced = False

        def __getattr__(self, name: str) -> Any:
            return getattr(route53, name)

        def change_resource_record_sets(self, **kwargs: Any) -> Any:
            if not self.raced:
                self.raced = True
                _put(route53, zone_id, WILDCARD_VALUE, FOREIGN)
                raise ClientError(
                    {"Error": {"Code": "InvalidInput", "Message": "no match"}}, "ChangeResourceRecordSets"
                )
            return route53.change_resource_record_sets(**kwargs)

    # WHEN removing ours THEN it reads again and keeps the newcomer
    TxtRecords(Racing(), zone_id, RECORD, 10, sleep=clock.sleep).remove([WILDCARD_VALUE], _deadline(clock))
    assert _values(route53, zone_id) == [FOREIGN]


def test_txt_records_add_keeps_the_ttl_of_an_existing_set(records, route53, zone_id, clock):
    # GIVEN someone else's value with a TTL of 300
    _put(route53, zone_id, FOREIGN, ttl=300)
    # WHEN adding ours (our TTL is 10) THEN theirs keeps its TTL: the set is served as it was
    records.add([WILDCARD_VALUE], _deadline(clock))
    assert _sets(route53, zone_id) == [(300, sorted([FOREIGN, WILDCARD_VALUE]))]


def test_txt_records_add_retries_when_another_writer_changed_the_set(records, route53, other, zone_id, clock):
    # GIVEN a foreign value, and another writer adding its value between our read and our change
    _put(other, zone_id, FOREIGN, ttl=10)
    _after_our_reads(route53, {1}, lambda: _put(other, zone_id, FOREIGN, APEX_VALUE, ttl=10))
    # WHEN adding ours
    records.add([WILDCARD_VALUE], _deadline(clock))
    # THEN our stale DELETE was refused, we read again, and nobody's value was lost
    assert _sets(route53, zone_id) == [(10, sorted([FOREIGN, APEX_VALUE, WILDCARD_VALUE]))]
    assert len(clock.slept) == 1 and 0.05 <= clock.slept[0] <= 0.1


def test_txt_records_add_retries_when_another_writer_created_the_set(records, route53, other, zone_id, clock):
    # GIVEN no record when we read, created by another writer before our CREATE
    _after_our_reads(route53, {1}, lambda: _put(other, zone_id, FOREIGN, ttl=60))
    # WHEN adding ours THEN the CREATE was refused and the values merged into the one set, TTL kept
    records.add([WILDCARD_VALUE], _deadline(clock))
    assert _sets(route53, zone_id) == [(60, sorted([FOREIGN, WILDCARD_VALUE]))]


def test_txt_records_remove_keeps_a_value_added_after_our_read(records, route53, other, zone_id, clock):
    _put(other, zone_id, WILDCARD_VALUE, ttl=10)
    _after_our_reads(route53, {1}, lambda: _put(other, zone_id, WILDCARD_VALUE, FOREIGN, ttl=10))
    records.remove([WILDCARD_VALUE], _deadline(clock))
    assert _sets(route53, zone_id) == [(10, [FOREIGN])]


def test_txt_records_set_that_keeps_changing_gives_up_after_bounded_attempts(
    records, route53, other, zone_id, clock
):
    # GIVEN a writer that changes the set after every one of our reads
    counter = iter(range(100))
    reads = _after_our_reads(
        route53, set(range(1, 100)), lambda: _put(other, zone_id, f"churn-{next(counter)}", ttl=10)
    )
    # WHEN adding ours THEN it stops after five refused swaps, with short growing pauses in between
    with pytest.raises(DnsUpdateError, match="kept changing"):
        records.add([WILDCARD_VALUE], _deadline(clock))
    assert len(reads) == 5
    assert len(clock.slept) == 4
    for attempt, pause in enumerate(clock.slept, start=1):  # jittered: 0.05-0.1 s times the attempt
        assert 0.05 * attempt <= pause <= 0.1 * attempt


def test_strict_route53_judges_batches_like_route53(route53, zone_id):
    # The test double's own contract (docs/acme.md §7): exact DELETE, CREATE only when absent, batch order.
    _put(route53, zone_id, FOREIGN, WILDCARD_VALUE, ttl=10)

    def change(*changes: tuple[str, int, tuple[str, ...]]) -> None:
        batch = [
            {
                "Action": action,
                "ResourceRecordSet": {
                    "Name": RECORD,
                    "Type": "TXT",
                    "TTL": ttl,
                    "ResourceRecords": [{"Value": f'"{v}"'} for v in values],
                },
            }
            for action, ttl, values in changes
        ]
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": batch})

    for refused in (
        [("DELETE", 10, (FOREIGN,))],
        [("DELETE", 30, (FOREIGN, WILDCARD_VALUE))],
        [("CREATE", 10, (APEX_VALUE,))],
    ):
        with pytest.raises(ClientError, match="InvalidChangeBatch"):
            change(*refused)
    before = (10, (FOREIGN, WILDCARD_VALUE))
    change(("DELETE", *before), ("CREATE", 10, (FOREIGN,)))
    change(("DELETE", 10, (FOREIGN,)), ("CREATE", 10, (FOREIGN, WILDCARD_VALUE)))
    change(("DELETE", *before), ("CREATE", 10, (FOREIGN,)))  # a CREATE repeated: moto alone refuses it
    assert _sets(route53, zone_id) == [(10, [FOREIGN])]


class PendingThenInsync:
    """Route53 as AWS behaves: PENDING for a while (moto is INSYNC at once)."""

    def __init__(self, inner: Any, pending_polls: int) -> None:
        self.inner = inner
        self.pending_polls = pending_polls
        self.polls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_change(self, **kwargs: Any) -> Any:
        self.polls += 1
        status = "PENDING" if self.polls <= self.pending_polls else "INSYNC"
        return {"ChangeInfo": {"Id": kwargs["Id"], "Status": status}}


def test_wait_insync_polls_pending_until_insync_without_real_sleep(route53, zone_id, clock):
    # GIVEN a change that stays PENDING for three polls
    stub = PendingThenInsync(route53, pending_polls=3)
    records = TxtRecords(stub, zone_id, RECORD, 10, sleep=clock.sleep)
    change = records.add([WILDCARD_VALUE], _deadline(clock))
    # WHEN waiting THEN it returns after the fourth poll, with growing, bounded sleeps
    records.wait_insync(change, _deadline(clock))
    assert stub.polls == 4
    assert clock.slept == [0.5, 1.0, 2.0]


def test_wait_insync_past_deadline_raises_propagation_error(route53, zone_id, clock):
    stub = PendingThenInsync(route53, pending_polls=10_000)
    records = TxtRecords(stub, zone_id, RECORD, 10, sleep=clock.sleep)
    change = records.add([WILDCARD_VALUE], _deadline(clock))
    start = clock()
    with pytest.raises(PropagationError):
        records.wait_insync(change, _deadline(clock, 10))
    assert clock.now <= start + 10


def test_txt_records_throttling_is_retried_with_backoff(route53, zone_id, clock):
    # GIVEN Route53 answering PriorRequestNotComplete twice (another tenant's change in flight)
    class Busy:
        def __init__(self) -> None:
            self.failures = 2

        def __getattr__(self, name: str) -> Any:
            return getattr(route53, name)

        def change_resource_record_sets(self, **kwargs: Any) -> Any:
            if self.failures:
                self.failures -= 1
                raise ClientError(
                    {"Error": {"Code": "PriorRequestNotComplete", "Message": "busy"}},
                    "ChangeResourceRecordSets",
                )
            return route53.change_resource_record_sets(**kwargs)

    TxtRecords(Busy(), zone_id, RECORD, 10, sleep=clock.sleep).add([WILDCARD_VALUE], _deadline(clock))
    assert len(clock.slept) == 2
    assert _values(route53, zone_id) == [WILDCARD_VALUE]


def test_txt_records_throttling_without_time_left_raises(route53, zone_id, clock):
    class Throttled:
        def __getattr__(self, name: str) -> Any:
            return getattr(route53, name)

        def change_resource_record_sets(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "ChangeResourceRecordSets"
            )

    with pytest.raises(DnsUpdateError):
        TxtRecords(Throttled(), zone_id, RECORD, 10, sleep=clock.sleep).add(
            [WILDCARD_VALUE], _deadline(clock, 1)
        )


# --- zones and name servers ---


def test_find_zone_longest_suffix_wins(route53, zone_id):
    route53.create_hosted_zone(Name="f5demos.com", CallerReference="parent")
    assert find_zone(route53, RECORD) == (zone_id, "challenge.f5demos.com")


def test_find_zone_no_zone_raises(route53, zone_id):
    with pytest.raises(DnsUpdateError):
        find_zone(route53, "example.org")


def test_zone_nameservers_come_from_the_apex_ns_set(route53, zone_id):
    # GIVEN moto's four awsdns name servers, resolved by a fake resolver (one unresolvable)
    addresses = {
        "ns-2048.awsdns-64.com": ["192.0.2.1"],
        "ns-2049.awsdns-65.net": ["192.0.2.2"],
        "ns-2050.awsdns-66.org": ["192.0.2.3"],
    }

    def resolve(host: str) -> list[str]:
        if host not in addresses:
            raise OSError("no such host")
        return addresses[host]

    servers = zone_nameservers(route53, zone_id, "challenge.f5demos.com", resolve)
    assert servers == (DnsServer("192.0.2.1"), DnsServer("192.0.2.2"), DnsServer("192.0.2.3"))


# --- visibility ---


SERVERS = (DnsServer("192.0.2.1"), DnsServer("192.0.2.2"))


def _query(script: dict[str, list[Any]]):
    def query(server: DnsServer, name: str, timeout: float) -> frozenset[str]:
        answer = script[server.host].pop(0) if len(script[server.host]) > 1 else script[server.host][0]
        if isinstance(answer, Exception):
            raise answer
        return frozenset(answer)

    return query


def test_wait_until_visible_waits_until_every_server_has_both_values(clock):
    # GIVEN a second server that first serves only one of the two values
    query = _query(
        {
            "192.0.2.1": [[WILDCARD_VALUE, APEX_VALUE]],
            "192.0.2.2": [[WILDCARD_VALUE], [WILDCARD_VALUE, APEX_VALUE, FOREIGN]],
        }
    )
    wait_until_visible(
        SERVERS,
        RECORD,
        [WILDCARD_VALUE, APEX_VALUE],
        _deadline(clock),
        mode="auto",
        timeout=2,
        query=query,
        sleep=clock.sleep,
    )
    assert len(clock.slept) == 1


def test_wait_until_visible_never_complete_raises_before_answering(clock):
    query = _query({"192.0.2.1": [[WILDCARD_VALUE]], "192.0.2.2": [[WILDCARD_VALUE]]})
    with pytest.raises(PropagationError) as caught:
        wait_until_visible(
            SERVERS,
            RECORD,
            [WILDCARD_VALUE, APEX_VALUE],
            _deadline(clock, 10),
            mode="auto",
            timeout=2,
            query=query,
            sleep=clock.sleep,
        )
    assert set(caught.value.missing) == {"192.0.2.1:53", "192.0.2.2:53"}


def test_wait_until_visible_auto_falls_back_to_insync_when_no_server_answers(clock):
    query = _query({"192.0.2.1": [DnsQueryError("timeout")], "192.0.2.2": [DnsQueryError("timeout")]})
    wait_until_visible(
        SERVERS,
        RECORD,
        [WILDCARD_VALUE],
        _deadline(clock),
        mode="auto",
        timeout=2,
        query=query,
        sleep=clock.sleep,
    )
    assert clock.slept == []


def test_wait_until_visible_authoritative_requires_every_server(clock):
    query = _query({"192.0.2.1": [[WILDCARD_VALUE]], "192.0.2.2": [DnsQueryError("timeout")]})
    with pytest.raises(PropagationError):
        wait_until_visible(
            SERVERS,
            RECORD,
            [WILDCARD_VALUE],
            _deadline(clock, 5),
            mode="authoritative",
            timeout=2,
            query=query,
            sleep=clock.sleep,
        )


def test_wait_until_visible_insync_mode_asks_nobody(clock):
    def query(*args: Any) -> frozenset[str]:
        raise AssertionError("must not query")

    wait_until_visible(
        SERVERS,
        RECORD,
        [WILDCARD_VALUE],
        _deadline(clock),
        mode="insync",
        timeout=2,
        query=query,
        sleep=clock.sleep,
    )


# --- the whole step ---


def _dns01(route53: Any, zone_id: str, clock: FakeClock, **kwargs: Any) -> Dns01:
    options: dict[str, Any] = {
        "record": RECORD,
        "zone_id": zone_id,
        "ttl": 10,
        "servers": SERVERS,
        "mode": "auto",
        "timeout": 2,
        "sleep": clock.sleep,
    }
    options.update(kwargs)
    return Dns01(route53, **options)


def test_published_values_visible_inside_and_removed_after(route53, zone_id, clock):
    seen: list[list[str] | None] = []

    def query(server: DnsServer, name: str, timeout: float) -> frozenset[str]:
        return frozenset(_values(route53, zone_id) or [])

    dns = _dns01(route53, zone_id, clock, query=query)
    with dns.published([WILDCARD_VALUE, APEX_VALUE], _deadline(clock), _deadline(clock)):
        seen.append(_values(route53, zone_id))
    assert seen == [sorted([WILDCARD_VALUE, APEX_VALUE])]
    assert _values(route53, zone_id) is None


def test_published_failure_inside_still_removes_our_values(route53, zone_id, clock):
    _put(route53, zone_id, FOREIGN, ttl=10)
    dns = _dns01(route53, zone_id, clock, query=lambda s, n, t: frozenset(_values(route53, zone_id) or []))
    with pytest.raises(RuntimeError), dns.published([WILDCARD_VALUE], _deadline(clock), _deadline(clock)):
        raise RuntimeError("validation failed")
    assert _values(route53, zone_id) == [FOREIGN]


def test_published_not_visible_in_time_removes_values_and_never_enters(route53, zone_id, clock):
    entered = []
    dns = _dns01(route53, zone_id, clock, query=lambda s, n, t: frozenset())
    with (
        pytest.raises(PropagationError),
        dns.published([WILDCARD_VALUE], _deadline(clock, 5), _deadline(clock)),
    ):
        entered.append(True)
    assert entered == []
    assert _values(route53, zone_id) is None


def test_check_delegation_cname_to_challenge_record_passes(route53, zone_id, clock):
    dns = _dns01(route53, zone_id, clock, lookup_cname=lambda name: RECORD + ".")
    dns.check_delegation("_acme-challenge.lab-mcn.f5demos.com")


@pytest.mark.parametrize("found", [None, "elsewhere.example.com."])
def test_check_delegation_wrong_or_missing_cname_raises_naming_both(route53, zone_id, clock, found):
    dns = _dns01(route53, zone_id, clock, lookup_cname=lambda name: found)
    with pytest.raises(DelegationError) as caught:
        dns.check_delegation("_acme-challenge.lab-mcn.f5demos.com")
    assert RECORD in str(caught.value)
    assert "_acme-challenge.lab-mcn.f5demos.com" in str(caught.value)


def test_check_delegation_unresolvable_is_a_warning_in_auto_and_an_error_when_strict(route53, zone_id, clock):
    def broken(name: str) -> str | None:
        raise DnsQueryError("SERVFAIL")

    _dns01(route53, zone_id, clock, lookup_cname=broken).check_delegation(
        "_acme-challenge.lab-mcn.f5demos.com"
    )
    with pytest.raises(DelegationError):
        _dns01(route53, zone_id, clock, lookup_cname=broken, mode="authoritative").check_delegation(
            "_acme-challenge.lab-mcn.f5demos.com"
        )


def test_check_delegation_same_name_needs_no_cname(route53, zone_id, clock):
    dns = _dns01(
        route53,
        zone_id,
        clock,
        record="_acme-challenge.lab-mcn.f5demos.com",
        lookup_cname=lambda name: pytest.fail("no lookup expected"),
    )
    dns.check_delegation("_acme-challenge.lab-mcn.f5demos.com")


def test_unquote_txt_joins_strings_and_handles_escapes():
    assert unquote_txt('"abc"') == "abc"
    assert unquote_txt('"part1" "part2"') == "part1part2"
    assert unquote_txt('"with \\"quote\\""') == 'with "quote"'


class Journal:
    def __init__(self, route53: Any, zone_id: str) -> None:
        self.route53, self.zone_id = route53, zone_id
        self.events: list[tuple[str, str, list[str], list[str] | None]] = []

    def adding(self, record: str, zone_id: str, values: Any) -> None:
        # the values must be journaled before Route53 has them
        self.events.append(("adding", record, sorted(values), _values(self.route53, self.zone_id)))

    def removed(self, record: str, zone_id: str, values: Any) -> None:
        self.events.append(("removed", record, sorted(values), _values(self.route53, self.zone_id)))


def test_published_journals_values_before_writing_them_and_after_removing_them(route53, zone_id, clock):
    journal = Journal(route53, zone_id)
    dns = _dns01(route53, zone_id, clock, mode="insync", journal=journal)
    with dns.published([WILDCARD_VALUE], _deadline(clock), _deadline(clock)):
        pass
    assert journal.events == [
        ("adding", RECORD, [WILDCARD_VALUE], None),  # journaled while Route53 does not have it yet
        ("removed", RECORD, [WILDCARD_VALUE], None),
    ]


def test_published_failed_cleanup_keeps_the_journal_entry(route53, zone_id, clock, monkeypatch):
    journal = Journal(route53, zone_id)
    dns = _dns01(route53, zone_id, clock, mode="insync", journal=journal)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise DnsUpdateError("Route53 unavailable")

    monkeypatch.setattr(TxtRecords, "remove", broken)
    with dns.published([WILDCARD_VALUE], _deadline(clock), _deadline(clock)):
        pass
    assert [event[0] for event in journal.events] == ["adding"]
    assert _values(route53, zone_id) == [WILDCARD_VALUE]


def test_preflight_unknown_zone_is_a_zone_not_found_error(route53, zone_id, clock):
    dns = _dns01(route53, "ZNOSUCHZONE", clock, lookup_cname=lambda name: RECORD)
    with pytest.raises(ZoneNotFoundError, match="CHALLENGE_ZONE_ID"):
        dns.preflight("_acme-challenge.lab-mcn.f5demos.com")
