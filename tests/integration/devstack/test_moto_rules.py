"""devstack.moto_rules: moto refuses what Route 53 refuses (a CNAME beside other records), and the
devstack DNS server never serves data beside a CNAME."""

from __future__ import annotations

from typing import Any

import boto3
import dns.message
import dns.name
import dns.rdatatype
import pytest
from botocore.exceptions import ClientError

from devstack.dns import Record, Resolver, Zone, iter_txt, route53_name
from devstack.moto_rules import cname_conflict

pytestmark = pytest.mark.integration

SOURCE = "_acme-challenge.lab-sec-dev.f5demos.com"
TARGET = "lab-sec-dev.challenge.f5demos.com"


def _change(action: str, name: str, rtype: str, value: str) -> dict[str, Any]:
    return {
        "Action": action,
        "ResourceRecordSet": {"Name": name, "Type": rtype, "TTL": 60, "ResourceRecords": [{"Value": value}]},
    }


def _zone(route53: Any) -> str:
    zone = route53.create_hosted_zone(Name="f5demos.com", CallerReference="rules")["HostedZone"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [_change("UPSERT", SOURCE, "CNAME", TARGET)]}
    )
    return str(zone)


def _types_at(route53: Any, zone: str, name: str) -> list[str]:
    sets = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return sorted(s["Type"] for s in sets if s["Name"].rstrip(".") == name)


@pytest.mark.parametrize(
    ("existing", "changes", "refused"),
    [
        (
            [(SOURCE, "CNAME")],
            [("UPSERT", SOURCE, "TXT")],
            "RRSet of type TXT with DNS name "
            f"{SOURCE}. is not permitted because a conflicting RRSet of type CNAME with the same DNS name "
            "already exists in zone f5demos.com.",
        ),
        (
            [(SOURCE + ".", "TXT")],
            [("CREATE", SOURCE.upper(), "CNAME")],
            "RRSet of type CNAME with DNS name "
            f"{SOURCE}. is not permitted as it conflicts with other records with the same DNS name in zone "
            "f5demos.com.",
        ),
        ([], [("CREATE", SOURCE, "CNAME"), ("CREATE", SOURCE, "A")], "RRSet of type A with DNS name"),
        (
            [],
            [("UPSERT", "f5demos.com", "CNAME")],
            "RRSet of type CNAME with DNS name f5demos.com. is not permitted at apex in zone f5demos.com.",
        ),
        ([(SOURCE, "CNAME")], [("DELETE", SOURCE, "CNAME"), ("CREATE", SOURCE, "TXT")], None),
        ([(SOURCE, "CNAME")], [("UPSERT", SOURCE, "CNAME")], None),
        ([(SOURCE, "CNAME")], [("UPSERT", "other.f5demos.com", "TXT")], None),
        ([("\\052.f5demos.com", "CNAME")], [("UPSERT", "*.f5demos.com", "TXT")], "RRSet of type TXT"),
    ],
)
def test_cname_conflict_judges_the_batch_change_by_change(existing, changes, refused):
    # GIVEN what the zone holds and a batch WHEN judged THEN Route 53's answer (None: accepted)
    batch = [_change(action, name, rtype, "x") for action, name, rtype in changes]
    message = cname_conflict("f5demos.com.", existing, batch)
    if refused is None:
        assert message is None
    else:
        assert message is not None and message.startswith(refused)


@pytest.mark.parametrize("mode", ["server", "in process"])
def test_moto_refuses_a_txt_beside_a_cname_and_changes_nothing(mode, request):
    # GIVEN `_acme-challenge.<DOMAIN>` delegated by CNAME, in moto's server or in moto in process
    if mode == "server":
        route53 = request.getfixturevalue("moto_server").client("route53")
    else:
        request.getfixturevalue("aws_mock")
        route53 = boto3.client("route53", region_name="us-east-1")
    zone = _zone(route53)
    # WHEN a TXT is written at the CNAME'd name (a mis-delegated challenge record), with another change
    batch = [
        _change("UPSERT", "ok.f5demos.com", "TXT", '"fine"'),
        _change("UPSERT", SOURCE, "TXT", '"token"'),
    ]
    with pytest.raises(ClientError) as caught:
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": batch})
    # THEN Route 53's error, and the whole batch was refused
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidChangeBatch"
    assert f"RRSet of type TXT with DNS name {SOURCE}. is not permitted" in error["Message"]
    assert _types_at(route53, zone, SOURCE) == ["CNAME"]
    assert _types_at(route53, zone, "ok.f5demos.com") == []
    # AND a CNAME over a name with a TXT is refused too
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [_change("UPSERT", "txt.f5demos.com", "TXT", '"v"')]}
    )
    with pytest.raises(ClientError, match="InvalidChangeBatch"):
        route53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={"Changes": [_change("CREATE", "txt.f5demos.com", "CNAME", TARGET)]},
        )


def test_moto_accepts_replacing_a_cname_by_a_txt_in_one_batch(moto_server):
    route53 = moto_server.client("route53")
    zone = _zone(route53)
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                _change("DELETE", SOURCE, "CNAME", TARGET),
                _change("CREATE", SOURCE, "TXT", '"token"'),
            ]
        },
    )
    assert _types_at(route53, zone, SOURCE) == ["TXT"]


class _View:
    """Route 53 state that moto no longer accepts (a TXT beside a CNAME), as the DNS server reads it."""

    def __init__(self) -> None:
        self.parent = Zone("P", route53_name("f5demos.com"))
        self.child = Zone("C", route53_name("challenge.f5demos.com"))

    def zones(self) -> list[Zone]:
        return [self.parent, self.child]

    def records(self, zone: Zone) -> list[Record]:
        if zone is self.parent:
            return [
                Record(route53_name(SOURCE), "CNAME", 60, (TARGET + ".",)),
                Record(route53_name(SOURCE), "TXT", 60, ('"beside-the-cname"',)),
            ]
        return [Record(route53_name(TARGET), "TXT", 60, ('"delegated"',))]


@pytest.mark.parametrize("rtype", ["TXT", "A"])
def test_dns_server_never_answers_data_beside_a_cname(rtype):
    # GIVEN a TXT beside the CNAME at the challenge name
    resolver = Resolver(_View())
    # WHEN a resolver asks for another type than CNAME there
    response = resolver.answer(dns.message.make_query(SOURCE, rtype))
    # THEN the answer is the CNAME, chased to its target; the TXT beside it is never served
    assert response.answer[0].rdtype == dns.rdatatype.CNAME
    assert list(iter_txt(response, dns.name.from_text(SOURCE))) == []
    expected = ["delegated"] if rtype == "TXT" else []
    assert list(iter_txt(response, dns.name.from_text(TARGET))) == expected
