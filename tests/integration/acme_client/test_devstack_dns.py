"""devstack's DNS server: authoritative answers from moto's Route53 over UDP and TCP."""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from devstack.dns import DNSServer

pytestmark = pytest.mark.integration


@pytest.fixture
def zones(moto_server: Any) -> dict[str, str]:
    route53 = moto_server.client("route53")
    parent = route53.create_hosted_zone(Name="f5demos.com", CallerReference="p")["HostedZone"]["Id"]
    child = route53.create_hosted_zone(Name="challenge.f5demos.com", CallerReference="c")["HostedZone"]["Id"]

    def upsert(zone: str, name: str, rtype: str, *values: str) -> None:
        route53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": name,
                            "Type": rtype,
                            "TTL": 10,
                            "ResourceRecords": [{"Value": v} for v in values],
                        },
                    }
                ]
            },
        )

    upsert(parent, "_acme-challenge.lab-mcn.f5demos.com", "CNAME", "lab-mcn.challenge.f5demos.com")
    upsert(child, "lab-mcn.challenge.f5demos.com", "TXT", '"value-one"', '"part-a" "part-b"')
    upsert(parent, "*.lab-mcn.f5demos.com", "A", "192.0.2.10")
    upsert(parent, "f5demos.com", "CAA", '0 issue "letsencrypt.org"')
    upsert(parent, "deep.empty.f5demos.com", "AAAA", "2001:db8::1")
    return {"parent": parent, "child": child}


@pytest.fixture
def server(moto_server: Any, zones: dict[str, str]) -> Any:
    with DNSServer(moto_server.client("route53")) as running:
        yield running


def _ask(server: DNSServer, name: str, rtype: str, *, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rtype)
    query.flags &= ~dns.flags.RD
    ask = dns.query.tcp if tcp else dns.query.udp
    return ask(query, "127.0.0.1", port=server.port, timeout=3)


def _texts(response: dns.message.Message) -> list[str]:
    return sorted(
        b"".join(r.strings).decode()
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.TXT
        for r in rrset
    )


@pytest.mark.parametrize("tcp", [False, True])
def test_dns_server_txt_values_are_unquoted_and_joined(server, tcp):
    response = _ask(server, "lab-mcn.challenge.f5demos.com", "TXT", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert _texts(response) == ["part-apart-b", "value-one"]


def test_dns_server_follows_the_cname_into_the_longest_matching_zone(server):
    response = _ask(server, "_acme-challenge.lab-mcn.f5demos.com", "TXT")
    types = [dns.rdatatype.to_text(rrset.rdtype) for rrset in response.answer]
    assert types == ["CNAME", "TXT"]
    assert _texts(response) == ["part-apart-b", "value-one"]


def test_dns_server_cname_query_returns_the_cname_only(server):
    response = _ask(server, "_acme-challenge.lab-mcn.f5demos.com", "CNAME")
    assert [str(r.target) for r in response.answer[0]] == ["lab-mcn.challenge.f5demos.com."]


def test_dns_server_missing_name_is_nxdomain_with_soa(server):
    response = _ask(server, "nothing-here.f5demos.com", "TXT")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.authority and response.authority[0].rdtype == dns.rdatatype.SOA


def test_dns_server_existing_name_without_the_type_is_noerror_empty(server):
    response = _ask(server, "lab-mcn.challenge.f5demos.com", "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert response.authority[0].rdtype == dns.rdatatype.SOA


def test_dns_server_empty_non_terminal_is_noerror(server):
    assert _ask(server, "empty.f5demos.com", "A").rcode() == dns.rcode.NOERROR


def test_dns_server_wildcard_answers_below_it(server):
    response = _ask(server, "anything.lab-mcn.f5demos.com", "A")
    assert [r.address for r in response.answer[0]] == ["192.0.2.10"]
    assert str(response.answer[0].name) == "anything.lab-mcn.f5demos.com."


def test_dns_server_ns_soa_and_caa_at_the_apex(server):
    assert len(_ask(server, "f5demos.com", "NS").answer[0]) == 4
    assert _ask(server, "f5demos.com", "SOA").answer[0].rdtype == dns.rdatatype.SOA
    assert "letsencrypt.org" in str(_ask(server, "f5demos.com", "CAA").answer[0])


def test_dns_server_name_outside_every_zone_is_refused(server):
    assert _ask(server, "example.org", "A").rcode() == dns.rcode.REFUSED


def test_dns_server_sees_route53_changes_at_once(server, moto_server, zones):
    moto_server.client("route53").change_resource_record_sets(
        HostedZoneId=zones["child"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "lab-mcn.challenge.f5demos.com",
                        "Type": "TXT",
                        "TTL": 10,
                        "ResourceRecords": [{"Value": '"fresh"'}],
                    },
                }
            ]
        },
    )
    assert _texts(_ask(server, "lab-mcn.challenge.f5demos.com", "TXT")) == ["fresh"]
