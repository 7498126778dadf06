"""A small authoritative DNS server that answers from the Route53 state (moto) over UDP and TCP.

It lets Pebble validate DNS-01 for real: Pebble's `-dnsserver` points here, and every answer is read
live from Route53 through boto3 (`list_hosted_zones`, `list_resource_record_sets`), so a TXT value
written by `acme_client` is visible as soon as Route53 has it.

Behaviour, as an authoritative server for every hosted zone it can list:
- the zone is chosen by longest suffix match; a name in no zone gets REFUSED;
- a CNAME at the name is returned and chased through the served zones (as authoritative servers do
  for in-bailiwick targets), up to a small depth; other records beside a CNAME are never served (a
  CNAME'd name holds nothing else, and Route 53 refuses to store them: devstack.moto_rules);
- wildcard records (`*.<parent>`, which Route53 spells `\\052`) answer for names without records;
- a name with no records and no descendants is NXDOMAIN, an existing name without the asked type is
  NOERROR with no answer; both carry the zone's SOA in the authority section.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from devstack.serving import serve_in_background

log = logging.getLogger(__name__)

SUPPORTED_TYPES: Final = ("A", "AAAA", "TXT", "CNAME", "NS", "SOA", "CAA", "MX")
_MAX_CNAME_CHAIN: Final = 8
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_MOTO_SOA = re.compile(r"""^\{'Value':\s*'(.*)'\}$""")
_DEFAULT_SOA: Final = "{ns}. hostmaster.{zone}. 1 7200 900 1209600 86400"


def route53_name(name: str) -> dns.name.Name:
    """A Route53 record name (octal escapes such as `\\052` for `*`) as an absolute dnspython name."""
    text = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), name)
    return dns.name.from_text(text.lower() if text.endswith(".") else text.lower() + ".")


@dataclass(frozen=True, slots=True)
class Zone:
    zone_id: str
    origin: dns.name.Name


@dataclass(frozen=True, slots=True)
class Record:
    name: dns.name.Name
    rtype: str
    ttl: int
    values: tuple[str, ...]


class Route53View:
    """Reads zones and records from Route53 on every question (moto is in memory: cheap)."""

    def __init__(self, route53: Any) -> None:
        self._route53 = route53

    def zones(self) -> list[Zone]:
        zones: list[Zone] = []
        for page in self._route53.get_paginator("list_hosted_zones").paginate():
            for zone in page["HostedZones"]:
                zones.append(Zone(zone_id=zone["Id"].split("/")[-1], origin=route53_name(zone["Name"])))
        return zones

    def records(self, zone: Zone) -> list[Record]:
        records: list[Record] = []
        pages = self._route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone.zone_id)
        for page in pages:
            for rrset in page["ResourceRecordSets"]:
                values = tuple(rr["Value"] for rr in rrset.get("ResourceRecords", []))
                if not values:  # alias records have no values to serve here
                    continue
                records.append(
                    Record(
                        name=route53_name(rrset["Name"]),
                        rtype=rrset["Type"],
                        ttl=int(rrset.get("TTL", 300)),
                        values=values,
                    )
                )
        return records


def _rdata(rtype: str, value: str, zone: Zone) -> dns.rdata.Rdata:
    """Parse one Route53 value; moto's SOA value arrives wrapped in a dict repr, so unwrap it."""
    if rtype == "SOA":
        match = _MOTO_SOA.match(value.strip())
        if match:
            value = match.group(1)
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value, origin=dns.name.root, relativize=False
    )


class Resolver:
    """Builds authoritative answers for one question from a Route53View."""

    def __init__(self, view: Route53View) -> None:
        self._view = view

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.flags &= ~dns.flags.RA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qname = question.name.canonicalize()
        qtype = dns.rdatatype.to_text(question.rdtype)
        zones = self._view.zones()
        zone = self._zone_for(qname, zones)
        if zone is None:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
            return response
        rcode = self._fill(response, qname, qtype, zone, zones, depth=0)
        response.set_rcode(dns.rcode.Rcode(rcode))
        return response

    @staticmethod
    def _zone_for(name: dns.name.Name, zones: list[Zone]) -> Zone | None:
        best: Zone | None = None
        for zone in zones:
            if name.is_subdomain(zone.origin) and (best is None or len(zone.origin) > len(best.origin)):
                best = zone
        return best

    def _fill(
        self,
        response: dns.message.Message,
        qname: dns.name.Name,
        qtype: str,
        zone: Zone,
        zones: list[Zone],
        depth: int,
    ) -> int:
        records = self._view.records(zone)
        at_name = [r for r in records if r.name == qname]
        if not at_name and not any(r.name.is_subdomain(qname) for r in records):
            wildcard = dns.name.Name((b"*",) + qname.parent().labels) if qname != zone.origin else None
            at_name = [r for r in records if wildcard is not None and r.name == wildcard]
        if not at_name:
            exists = any(r.name.is_subdomain(qname) for r in records)
            self._add_soa(response, zone, records)
            return dns.rcode.NOERROR if exists else dns.rcode.NXDOMAIN
        cname = [r for r in at_name if r.rtype == "CNAME"]
        # Checked before the asked type: a CNAME'd name holds nothing else, so data beside it (which
        # Route 53 would not have stored, nor does devstack.moto_rules) is never served.
        if cname and qtype != "CNAME":
            record = cname[0]
            self._add(response, qname, record, zone)
            target = _rdata("CNAME", record.values[0], zone).target  # type: ignore[attr-defined]
            target_zone = self._zone_for(target, zones)
            if target_zone is None or depth >= _MAX_CNAME_CHAIN:
                return dns.rcode.NOERROR
            return self._fill(response, target, qtype, target_zone, zones, depth + 1)
        wanted = [r for r in at_name if r.rtype == qtype]
        if not wanted:
            self._add_soa(response, zone, records)
            return dns.rcode.NOERROR
        for record in wanted:
            self._add(response, qname, record, zone)
        return dns.rcode.NOERROR

    @staticmethod
    def _add(response: dns.message.Message, owner: dns.name.Name, record: Record, zone: Zone) -> None:
        rdatas = [_rdata(record.rtype, value, zone) for value in record.values]
        response.answer.append(dns.rrset.from_rdata_list(owner, record.ttl, rdatas))

    @staticmethod
    def _add_soa(response: dns.message.Message, zone: Zone, records: list[Record]) -> None:
        soa = [r for r in records if r.rtype == "SOA" and r.name == zone.origin]
        try:
            rdata = _rdata("SOA", soa[0].values[0], zone) if soa else None
        except (dns.exception.DNSException, ValueError):
            rdata = None
        if rdata is None:
            text = _DEFAULT_SOA.format(
                ns=f"ns.{zone.origin.to_text(omit_final_dot=True)}",
                zone=zone.origin.to_text(omit_final_dot=True),
            )
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, text)
        ttl = min(soa[0].ttl if soa else 900, rdata.minimum)  # type: ignore[attr-defined]
        response.authority.append(dns.rrset.from_rdata_list(zone.origin, ttl, [rdata]))


def handle_wire(resolver: Resolver, wire: bytes, *, max_size: int | None) -> bytes | None:
    """Answer one wire-format query; None when it cannot even be parsed (dropped, as servers do)."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    try:
        response = resolver.answer(query)
        if max_size is None:
            return response.to_wire()
        limit = max(512, query.payload if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=min(limit, max_size))
        except dns.exception.TooBig:
            response.answer.clear()
            response.authority.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()
    except Exception:  # a broken backend must give SERVFAIL, not a dead server thread
        log.exception("DNS answer failed")
        failure = dns.message.make_response(query)
        failure.set_rcode(dns.rcode.SERVFAIL)
        return failure.to_wire()


class _UDPHandler(socketserver.BaseRequestHandler):
    server: _UDPServer

    def handle(self) -> None:
        data, sock = self.request
        reply = handle_wire(self.server.resolver, data, max_size=65535)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TCPHandler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(5)
        try:
            while True:
                header = _recv_exact(conn, 2)
                if header is None:
                    return
                (length,) = struct.unpack("!H", header)
                wire = _recv_exact(conn, length)
                if wire is None:
                    return
                reply = handle_wire(self.server.resolver, wire, max_size=None)
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def _recv_exact(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], resolver: Resolver) -> None:
        self.resolver = resolver
        super().__init__(address, _UDPHandler)


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], resolver: Resolver) -> None:
        self.resolver = resolver
        super().__init__(address, _TCPHandler)


class DNSServer:
    """Authoritative DNS for the Route53 zones that `route53_client` lists, on UDP and TCP.

    `port=0` picks a free port (the same number for UDP and TCP). Use `start()`/`stop()` or `with`.
    """

    def __init__(self, route53_client: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._resolver = Resolver(Route53View(route53_client))
        self.host = host
        self._requested_port = port
        self._udp: _UDPServer | None = None
        self._tcp: _TCPServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        if self._udp is None:
            raise RuntimeError("DNS server is not started")
        return int(self._udp.server_address[1])

    @property
    def address(self) -> str:
        """`host:port`, the form Pebble's `-dnsserver` and ACME_DNS_SERVERS take."""
        return f"{self.host}:{self.port}"

    def start(self) -> DNSServer:
        for _ in range(20):  # port 0: find a number free for both protocols
            udp = _UDPServer((self.host, self._requested_port), self._resolver)
            try:
                tcp = _TCPServer((self.host, int(udp.server_address[1])), self._resolver)
            except OSError:
                udp.server_close()
                if self._requested_port:
                    raise
                continue
            self._udp, self._tcp = udp, tcp
            break
        else:
            raise OSError("no free port for both UDP and TCP")
        for server in (self._udp, self._tcp):
            self._threads.append(
                serve_in_background(server, f"dns-{type(server).__name__}", poll_interval=0.1)
            )
        log.info("DNS server listening on %s (udp+tcp)", self.address)
        return self

    def stop(self) -> None:
        for server in (self._udp, self._tcp):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self._udp = self._tcp = None

    def __enter__(self) -> DNSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_dns(
    endpoint_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 5053,
    region: str = "us-east-1",
    stop: threading.Event | None = None,
) -> None:
    """Run a DNSServer over the Route53 at `endpoint_url` (default: AWS_ENDPOINT_URL) until `stop` is
    set or the process is interrupted. For `python -m devstack`."""
    import boto3

    route53 = boto3.client("route53", endpoint_url=endpoint_url, region_name=region)
    stop = stop or threading.Event()
    with DNSServer(route53, host=host, port=port) as server:
        print(f"devstack DNS on {server.address}", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


def iter_txt(response: dns.message.Message, name: dns.name.Name) -> Iterator[str]:
    """TXT values for `name` in a response, each one's strings joined (a helper for tests)."""
    for rrset in response.answer:
        if rrset.name == name and rrset.rdtype == dns.rdatatype.TXT:
            for rdata in rrset:
                yield b"".join(rdata.strings).decode()
