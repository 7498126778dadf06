"""Rules that AWS enforces and moto does not, added to moto's own models.

moto keeps its state in the process that runs it, so one `install()` covers every moto of that
process: the local stack's server, the tests' `ThreadedMotoServer` and `mock_aws()`. Installing
twice changes nothing.

Route 53: a name that holds a CNAME holds nothing else (RFC 1034 §3.6.2). Route 53 refuses a change
batch that would put any other record type beside a CNAME, or a CNAME beside other records, with
`InvalidChangeBatch`; moto accepts both, so a TXT written at a CNAME'd `_acme-challenge` name would
"work" locally and fail in AWS. The batch is judged change by change, on what the earlier changes of
the same batch left (a DELETE of the CNAME followed by a CREATE of a TXT is allowed), and a refused
batch changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

_MARK: Final = "_devstack_rules"
_lock = threading.Lock()


def _key(name: str) -> str:
    """A record or zone name as Route 53 compares them: lower case, `*` for `\\052`, one final dot."""
    return name.replace("\\052", "*").lower().rstrip(".") + "."


def cname_conflict(
    zone: str, existing: Iterable[tuple[str, str]], changes: Iterable[Mapping[str, Any]]
) -> str | None:
    """Route 53's message for the first change of `changes` that would leave a CNAME beside another
    record at one name in `zone`, given the zone's (name, type) pairs in `existing`; None when the
    batch keeps every CNAME alone."""
    apex = _key(zone)
    types: dict[str, set[str]] = {}
    for name, rtype in existing:
        types.setdefault(_key(name), set()).add(rtype)
    for change in changes:
        rrset = change.get("ResourceRecordSet") or {}
        name, rtype = _key(str(rrset.get("Name", ""))), str(rrset.get("Type", ""))
        held = types.setdefault(name, set())
        if change.get("Action") == "DELETE":
            held.discard(rtype)
            continue
        if rtype == "CNAME" and name == apex:
            return f"RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {apex}"
        if rtype == "CNAME" and held - {"CNAME"}:
            return (
                f"RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with other "
                f"records with the same DNS name in zone {apex}"
            )
        if rtype != "CNAME" and "CNAME" in held:
            return (
                f"RRSet of type {rtype} with DNS name {name} is not permitted because a conflicting "
                f"RRSet of type CNAME with the same DNS name already exists in zone {apex}"
            )
        held.add(rtype)
    return None


def install() -> None:
    """Make moto's Route 53 refuse a CNAME beside other records (see the module docstring)."""
    from moto.route53.exceptions import Route53ClientError
    from moto.route53.models import Route53Backend

    with _lock:
        original = Route53Backend.change_resource_record_sets
        if getattr(original, _MARK, False):
            return

        def change_resource_record_sets(self: Any, zoneid: str, change_list: list[dict[str, Any]]) -> None:
            zone = self.get_hosted_zone(zoneid)
            message = cname_conflict(
                zone.name, ((rrset.name, rrset.type) for rrset in zone.rrsets), change_list
            )
            if message is not None:
                raise Route53ClientError("InvalidChangeBatch", f"[{message}]")
            original(self, zoneid, change_list)

        setattr(change_resource_record_sets, _MARK, True)
        Route53Backend.change_resource_record_sets = change_resource_record_sets  # type: ignore[method-assign]
