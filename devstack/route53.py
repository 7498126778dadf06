"""Seeding Route 53 (moto's) for the ACME worker: one record set at a time, and the two hosted zones
with the `_acme-challenge` delegation that the stack, the bench and the tests all start from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PARENT_ZONE = "f5demos.com"
CHALLENGE_ZONE = "challenge.f5demos.com"


def change_record_set(
    route53: Any,
    zone_id: str,
    name: str,
    rtype: str,
    values: Sequence[str],
    *,
    ttl: int,
    action: str = "UPSERT",
) -> None:
    """Send one change (`action`, UPSERT unless told) of the set `name`/`rtype` holding `values`, as
    given (TXT values carry their own quotes)."""
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": rtype,
                        "TTL": ttl,
                        "ResourceRecords": [{"Value": value} for value in values],
                    },
                }
            ]
        },
    )


def _create_zone(route53: Any, name: str, reference: str) -> str:
    zone_id: str = route53.create_hosted_zone(Name=name, CallerReference=reference)["HostedZone"]["Id"]
    return zone_id.rsplit("/", maxsplit=1)[-1]


def delegation_cname(route53: Any, parent_zone_id: str, domain: str, target: str, *, ttl: int) -> None:
    """Point `_acme-challenge.<domain>` at `target` (the CNAME the worker checks before ordering)."""
    change_record_set(route53, parent_zone_id, f"_acme-challenge.{domain}", "CNAME", [target], ttl=ttl)


def seed_challenge_zones(route53: Any, domain: str, challenge_record: str, *, ttl: int) -> tuple[str, str]:
    """The zones `f5demos.com` and `challenge.f5demos.com`, with `_acme-challenge.<domain>` in the first
    pointing at `challenge_record` in the second. Returns their ids (parent, challenge), without the
    `/hostedzone/` prefix."""
    parent = _create_zone(route53, PARENT_ZONE, "parent")
    challenge = _create_zone(route53, CHALLENGE_ZONE, "challenge")
    delegation_cname(route53, parent, domain, challenge_record, ttl=ttl)
    return parent, challenge
