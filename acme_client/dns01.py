"""DNS-01 on Route53: the TXT value set at the challenge record, INSYNC, and proof of visibility.

- Values are managed as a set (docs/acme.md §6-7) by compare and swap: read the record, then one change batch
  that DELETEs exactly the set that was read and CREATEs the new one; Route53 refuses the batch when the
  set changed in between, and the step is read and tried again. Foreign values are kept, with the TTL
  the set already has; our TTL applies only to a set we create.
- After INSYNC, every authoritative server of the zone (its apex NS set, read with
  ListResourceRecordSets, or ACME_DNS_SERVERS) is asked directly, recursion off, UDP then TCP, until
  each serves all our values. `auto` falls back to INSYNC only when no server can be reached.
- `_acme-challenge.<DOMAIN>` must be a CNAME to CHALLENGE_RECORD when they differ: checked first, so a
  broken delegation never costs an order or an authorization failure.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
from botocore.exceptions import ClientError

from acme_client.config import DnsServer
from acme_client.errors import DelegationError, DnsUpdateError, PropagationError, ZoneNotFoundError
from shared.deadline import Deadline

log = logging.getLogger(__name__)

_THROTTLED: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "PriorRequestNotComplete",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)
# AWS says InvalidChangeBatch when a DELETE does not match the current set exactly or a CREATE meets an
# existing set; moto says InvalidInput (and accepts some batches AWS refuses: see docs/acme.md §7).
_STALE_CHANGE: Final = frozenset({"InvalidChangeBatch", "InvalidInput"})
_MAX_THROTTLE_RETRIES: Final = 6
_MAX_SWAP_ATTEMPTS: Final = 5


class Route53Client(Protocol):
    """The Route53 calls used (a boto3 client, typed or not, fits)."""

    @property
    def change_resource_record_sets(self) -> Callable[..., Any]: ...

    @property
    def list_resource_record_sets(self) -> Callable[..., Any]: ...

    @property
    def get_change(self) -> Callable[..., Any]: ...

    @property
    def list_hosted_zones(self) -> Callable[..., Any]: ...


class DnsQueryError(Exception):
    """A server did not give a usable answer (timeout, refused, SERVFAIL)."""


def normalize(name: str) -> str:
    """Compare DNS names: lowercase, no final dot, Route53's `\\052` spelled `*`."""
    return name.replace("\\052", "*").rstrip(".").lower()


def unquote_txt(raw: str) -> str:
    """A Route53 TXT value (`"abc"`, `"part1" "part2"`) as its text, strings joined."""
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, raw)
    except dns.exception.DNSException:
        return raw.strip().strip('"')
    return b"".join(rdata.strings).decode(errors="replace")  # type: ignore[attr-defined]


def quote_txt(value: str) -> str:
    """Our values are base64url (43 characters): no escaping needed, one string under 255."""
    if '"' in value or "\\" in value or len(value) > 255:
        raise ValueError("unexpected TXT value")
    return f'"{value}"'


@dataclass(frozen=True, slots=True)
class TxtSet:
    ttl: int
    values: tuple[str, ...]  # raw, as Route53 stores them (quoted)

    @property
    def texts(self) -> frozenset[str]:
        return frozenset(unquote_txt(v) for v in self.values)


class TxtRecords:
    """The TXT record set at one name in one hosted zone, changed as a set of values."""

    def __init__(
        self,
        route53: Route53Client,
        zone_id: str,
        name: str,
        ttl: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        poll_interval: float = 2.0,
    ) -> None:
        self._route53 = route53
        self.zone_id = zone_id
        self.name = normalize(name)
        self.ttl = ttl
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._poll_interval = poll_interval

    def read(self, deadline: Deadline | None = None) -> TxtSet | None:
        response = self._call(
            self._route53.list_resource_record_sets,
            deadline,
            HostedZoneId=self.zone_id,
            StartRecordName=self.name,
            StartRecordType="TXT",
            MaxItems="1",
        )
        for rrset in response.get("ResourceRecordSets", []):
            if normalize(rrset["Name"]) == self.name and rrset["Type"] == "TXT":
                return TxtSet(
                    int(rrset.get("TTL", self.ttl)),
                    tuple(rr["Value"] for rr in rrset.get("ResourceRecords", [])),
                )
        return None

    def add(self, values: Iterable[str], deadline: Deadline) -> str | None:
        """Add our values, keeping every other value and the set's TTL. Returns the change id (None if
        nothing changed)."""
        ours = list(dict.fromkeys(values))

        def plan(current: TxtSet | None) -> list[tuple[str, TxtSet]]:
            present = current.texts if current else frozenset()
            missing = [quote_txt(v) for v in ours if v not in present]
            if not missing:
                return []
            if current is None:
                return [("CREATE", TxtSet(self.ttl, tuple(missing)))]
            # the set keeps its TTL: values of others are served as they were
            return [("DELETE", current), ("CREATE", TxtSet(current.ttl, current.values + tuple(missing)))]

        change = self._swap(plan, deadline, "add")
        if change is not None:
            log.info("challenge TXT values added", extra={"record": self.name, "added": len(ours)})
        return change

    def remove(self, values: Iterable[str], deadline: Deadline) -> str | None:
        """Remove only our values. Already gone is success. Returns the change id, if any."""
        ours = set(values)

        def plan(current: TxtSet | None) -> list[tuple[str, TxtSet]]:
            if current is None:
                return []
            remaining = tuple(v for v in current.values if unquote_txt(v) not in ours)
            if len(remaining) == len(current.values):
                return []
            if not remaining:
                return [("DELETE", current)]
            return [("DELETE", current), ("CREATE", TxtSet(current.ttl, remaining))]

        change = self._swap(plan, deadline, "remove")
        if change is not None:
            log.info("challenge TXT values removed", extra={"record": self.name})
        return change

    def _swap(
        self, plan: Callable[[TxtSet | None], list[tuple[str, TxtSet]]], deadline: Deadline, what: str
    ) -> str | None:
        """Compare and swap: read the set, then DELETE exactly what was read and CREATE the new set in one
        change batch. Route53 refuses the batch (InvalidChangeBatch) when the set changed in between, or
        when a CREATE meets a set created in between; then read again and retry, a bounded number of
        times with a short jittered pause so that two writers do not collide again in step."""
        for attempt in range(1, _MAX_SWAP_ATTEMPTS + 1):
            current = self.read(deadline)
            changes = plan(current)
            if not changes:
                return None
            try:
                return self._change(changes, deadline)
            except ClientError as exc:
                if _code(exc) not in _STALE_CHANGE:
                    raise
                pause = 0.05 * attempt * self._rng.uniform(1.0, 2.0)
                log.info(
                    "challenge record changed under us; reading it again",
                    extra={"record": self.name, "code": _code(exc), "attempt": attempt, "step": what},
                )
                if attempt == _MAX_SWAP_ATTEMPTS or deadline.remaining() <= pause:
                    raise DnsUpdateError(
                        f"could not {what} our values at {self.name}: the record kept changing ({_code(exc)})"
                    ) from exc
                self._sleep(pause)
        raise AssertionError("unreachable")

    def wait_insync(self, change_id: str, deadline: Deadline) -> None:
        """Poll GetChange until INSYNC; raises PropagationError if the deadline comes first."""
        interval = 0.5
        while True:
            status = self._call(self._route53.get_change, deadline, Id=change_id)["ChangeInfo"]["Status"]
            if status == "INSYNC":
                return
            if deadline.remaining() <= interval:
                raise PropagationError(self.name, {"route53": f"change {change_id} still {status}"})
            self._sleep(interval)
            interval = min(interval * 2, self._poll_interval)

    def _change(self, changes: Sequence[tuple[str, TxtSet]], deadline: Deadline) -> str:
        batch = {
            "Comment": "acme_client DNS-01",
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": self.name,
                        "Type": "TXT",
                        "TTL": txt.ttl,
                        "ResourceRecords": [{"Value": v} for v in txt.values],
                    },
                }
                for action, txt in changes
            ],
        }
        response = self._call(
            self._route53.change_resource_record_sets, deadline, HostedZoneId=self.zone_id, ChangeBatch=batch
        )
        return str(response["ChangeInfo"]["Id"])

    def _call(self, operation: Callable[..., Any], deadline: Deadline | None, **kwargs: Any) -> Any:
        """Run a Route53 call with jittered backoff on throttling and PriorRequestNotComplete (shared
        per-account limits; the three tenant functions start together)."""
        attempt = 0
        while True:
            try:
                return operation(**kwargs)
            except ClientError as exc:
                if _code(exc) not in _THROTTLED:
                    raise
                attempt += 1
                delay = min(8.0, 0.5 * 2**attempt) * self._rng.uniform(0.5, 1.0)
                out_of_time = deadline is not None and deadline.remaining() <= delay
                if attempt > _MAX_THROTTLE_RETRIES or out_of_time:
                    raise DnsUpdateError(f"Route53 kept refusing ({_code(exc)}) for {self.name}") from exc
                log.warning(
                    "Route53 throttled; retrying", extra={"code": _code(exc), "delay": round(delay, 2)}
                )
                self._sleep(delay)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# --- zones and name servers ---


def _hosted_zones(route53: Route53Client) -> Iterator[dict[str, Any]]:
    marker: str | None = None
    while True:
        page = route53.list_hosted_zones(**({"Marker": marker} if marker else {}))
        yield from page.get("HostedZones", [])
        if not page.get("IsTruncated"):
            return
        marker = page.get("NextMarker")


def find_zone(route53: Route53Client, name: str) -> tuple[str, str]:
    """(zone id, zone name) of the public hosted zone with the longest suffix match for `name`."""
    name = normalize(name)
    best: tuple[str, str] | None = None
    for zone in _hosted_zones(route53):
        if zone.get("Config", {}).get("PrivateZone"):
            continue
        zone_name = normalize(zone["Name"])
        inside = name == zone_name or name.endswith("." + zone_name)
        if inside and (best is None or len(zone_name) > len(best[1])):
            best = (zone["Id"].split("/")[-1], zone_name)
    if best is None:
        raise ZoneNotFoundError(f"no hosted zone holds {name}; set CHALLENGE_ZONE_ID")
    return best


def zone_name(route53: Route53Client, zone_id: str) -> str:
    for zone in _hosted_zones(route53):
        if zone["Id"].split("/")[-1] == zone_id:
            return normalize(zone["Name"])
    raise ZoneNotFoundError(f"hosted zone {zone_id} (CHALLENGE_ZONE_ID) is not listed by ListHostedZones")


def resolve_host(host: str) -> list[str]:
    """IPv4 addresses of a name server, through the system resolver."""
    infos = socket.getaddrinfo(host, 53, socket.AF_INET, socket.SOCK_DGRAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def zone_nameservers(
    route53: Route53Client, zone_id: str, apex: str, resolve: Callable[[str], list[str]] = resolve_host
) -> tuple[DnsServer, ...]:
    """The zone's authoritative servers from its apex NS set (no GetHostedZone in the acme role)."""
    response = route53.list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=apex, StartRecordType="NS", MaxItems="1"
    )
    hosts = [
        rr["Value"]
        for rrset in response.get("ResourceRecordSets", [])
        if normalize(rrset["Name"]) == normalize(apex) and rrset["Type"] == "NS"
        for rr in rrset.get("ResourceRecords", [])
    ]
    servers: list[DnsServer] = []
    for host in hosts:
        try:
            servers.extend(DnsServer(ip) for ip in resolve(host.rstrip(".")))
        except OSError as exc:
            log.warning("cannot resolve a name server", extra={"ns": host, "error": str(exc)})
    return tuple(dict.fromkeys(servers))


# --- direct queries ---


def _ask(server: DnsServer, name: str, rdtype: str, timeout: float) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    try:
        response = dns.query.udp(query, server.host, timeout=timeout, port=server.port)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, server.host, timeout=timeout, port=server.port)
    except (dns.exception.DNSException, OSError) as exc:
        raise DnsQueryError(f"{type(exc).__name__}: {exc}") from exc
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise DnsQueryError(dns.rcode.to_text(rcode))
    return response


def query_txt(server: DnsServer, name: str, timeout: float) -> frozenset[str]:
    """The TXT texts a server serves at `name` (empty for NXDOMAIN or no data)."""
    response = _ask(server, name, "TXT", timeout)
    qname = dns.name.from_text(name)
    return frozenset(
        b"".join(rdata.strings).decode(errors="replace")
        for rrset in response.answer
        if rrset.name == qname and rrset.rdtype == dns.rdatatype.TXT
        for rdata in rrset
    )


def query_cname(server: DnsServer, name: str, timeout: float) -> str | None:
    response = _ask(server, name, "CNAME", timeout)
    qname = dns.name.from_text(name)
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == dns.rdatatype.CNAME:
            return str(rrset[0].target)
    return None


def system_cname(name: str, timeout: float) -> str | None:
    """A CNAME through the system's recursive resolver (the CNAME is static, so caches do no harm)."""
    resolver = dns.resolver.Resolver()
    resolver.lifetime = timeout * 2
    resolver.timeout = timeout
    try:
        answer = resolver.resolve(name, "CNAME", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.exception.DNSException as exc:
        raise DnsQueryError(f"{type(exc).__name__}: {exc}") from exc
    if answer.rrset is None:
        return None
    return str(answer.rrset[0].target)


QueryTxt = Callable[[DnsServer, str, float], frozenset[str]]
LookupCname = Callable[[str], str | None]


def wait_until_visible(
    servers: Sequence[DnsServer],
    name: str,
    expected: Iterable[str],
    deadline: Deadline,
    *,
    mode: str,
    timeout: float,
    query: QueryTxt = query_txt,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once every server serves all `expected` values at `name`; raise PropagationError at the
    deadline. `auto` gives up on the check (INSYNC only, logged) when no server answers at all;
    `authoritative` requires every server; `insync` skips the check."""
    wanted = frozenset(expected)
    if mode == "insync":
        log.info("DNS check disabled (ACME_DNS_CHECK=insync); relying on INSYNC")
        return
    if not servers:
        if mode == "authoritative":
            raise PropagationError(name, {"servers": "no authoritative name server known"})
        log.warning("no authoritative name server known; relying on INSYNC", extra={"record": name})
        return
    interval = 0.25
    while True:
        reachable: dict[str, frozenset[str]] = {}
        unreachable: dict[str, str] = {}
        for server in servers:
            try:
                reachable[str(server)] = query(server, name, max(0.1, min(timeout, deadline.remaining())))
            except DnsQueryError as exc:
                unreachable[str(server)] = f"no answer ({exc})"
        lacking = {
            s: f"{len(wanted - got)} of {len(wanted)} values missing"
            for s, got in reachable.items()
            if not wanted <= got
        }
        answers = {**{s: f"{len(got)} value(s)" for s, got in reachable.items()}, **unreachable}
        log.debug("TXT check round", extra={"record": name, "answers": answers})
        if not reachable and mode == "auto":
            log.warning(
                "no authoritative server reachable; relying on INSYNC",
                extra={"record": name, "answers": answers},
            )
            return
        if not lacking and (mode == "auto" or not unreachable):
            if unreachable:
                log.warning(
                    "some authoritative servers did not answer", extra={"record": name, "answers": answers}
                )
            log.info(
                "TXT values visible on the authoritative servers", extra={"record": name, "answers": answers}
            )
            return
        if deadline.remaining() <= interval:
            raise PropagationError(name, {**lacking, **unreachable})
        sleep(interval)
        interval = min(interval * 2, 2.0)


# --- the whole DNS-01 step ---


class TxtJournal(Protocol):
    """Told which values are about to be written (before Route53 sees them) and which were removed, so
    that values left by a killed run are recognisably ours and can be purged by the next run."""

    def adding(self, record: str, zone_id: str, values: Sequence[str]) -> None: ...

    def removed(self, record: str, zone_id: str, values: Sequence[str]) -> None: ...


class Dns01:
    """Publishes DNS-01 values at the challenge record of one certificate and proves they are visible."""

    def __init__(
        self,
        route53: Route53Client,
        *,
        record: str,
        zone_id: str | None,
        ttl: int,
        servers: Sequence[DnsServer],
        mode: str,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        query: QueryTxt = query_txt,
        resolve: Callable[[str], list[str]] = resolve_host,
        lookup_cname: LookupCname | None = None,
        journal: TxtJournal | None = None,
    ) -> None:
        self._route53 = route53
        self.journal = journal
        self.record = normalize(record)
        self._zone_id = zone_id
        self._ttl = ttl
        self._configured_servers = tuple(servers)
        self._mode = mode
        self._timeout = timeout
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._query = query
        self._resolve = resolve
        self._lookup_cname = lookup_cname
        self._servers: tuple[DnsServer, ...] | None = None
        self._zone: tuple[str, str] | None = None

    def zone(self) -> tuple[str, str]:
        """(zone id, apex name) holding the challenge record."""
        if self._zone is None:
            if self._zone_id:
                self._zone = (self._zone_id, zone_name(self._route53, self._zone_id))
            else:
                self._zone = find_zone(self._route53, self.record)
        return self._zone

    def servers(self) -> tuple[DnsServer, ...]:
        if self._servers is None:
            if self._configured_servers:
                self._servers = self._configured_servers
            elif self._mode == "insync":
                self._servers = ()
            else:
                zone_id, apex = self.zone()
                self._servers = zone_nameservers(self._route53, zone_id, apex, self._resolve)
        return self._servers

    def preflight(self, source: str) -> None:
        """What can be checked before anything is spent at a CA: the delegation and the hosted zone.
        Raises DelegationError or ZoneNotFoundError (configuration errors)."""
        self.check_delegation(source)
        self.zone()

    def check_delegation(self, source: str) -> None:
        """Raise DelegationError unless `source` is a CNAME to the challenge record (when they differ)."""
        source = normalize(source)
        if source == self.record:
            return
        try:
            found = self._cname(source)
        except DnsQueryError as exc:
            if self._mode == "authoritative":
                raise DelegationError(source, self.record, f"unresolvable ({exc})") from exc
            log.warning(
                "cannot check the challenge delegation; going on", extra={"source": source, "error": str(exc)}
            )
            return
        if found is None or normalize(found) != self.record:
            raise DelegationError(source, self.record, normalize(found) if found else None)
        log.info("challenge delegation checked", extra={"source": source, "target": self.record})

    def _cname(self, source: str) -> str | None:
        if self._lookup_cname is not None:
            return self._lookup_cname(source)
        if not self._configured_servers:
            return system_cname(source, self._timeout)
        last: DnsQueryError | None = None
        for server in self._configured_servers:
            try:
                return query_cname(server, source, self._timeout)
            except DnsQueryError as exc:
                last = exc
        assert last is not None
        raise last

    def records(self) -> TxtRecords:
        zone_id, _ = self.zone()
        return TxtRecords(self._route53, zone_id, self.record, self._ttl, sleep=self._sleep, rng=self._rng)

    @contextmanager
    def published(
        self, values: Sequence[str], deadline: Deadline, cleanup_deadline: Deadline
    ) -> Iterator[None]:
        """Inside the block our values are in Route53, INSYNC and served by every authoritative server.
        They are removed on the way out, whatever happened (a cleanup failure is logged, not raised over
        the original error)."""
        records = self.records()
        if self.journal is not None:
            self.journal.adding(records.name, records.zone_id, values)
        try:
            change = records.add(values, deadline)
            if change is not None:
                records.wait_insync(change, deadline)
            wait_until_visible(
                self.servers(),
                self.record,
                values,
                deadline,
                mode=self._mode,
                timeout=self._timeout,
                query=self._query,
                sleep=self._sleep,
            )
            yield
        finally:
            try:
                records.remove(values, cleanup_deadline)
            except Exception:
                log.exception(
                    "challenge TXT cleanup failed; the next run removes the values",
                    extra={"record": self.record},
                )
            else:
                if self.journal is not None:
                    self.journal.removed(records.name, records.zone_id, values)
