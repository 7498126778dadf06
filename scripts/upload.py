"""Upload every zip whose bytes differ from the object the bucket holds under its key.

    python -m scripts.upload --branch main [--dist dist] [--dry-run] [NAME ...]
    python -m scripts.upload --bucket BUCKET [--key-suffix _dev] [--dist dist] [NAME ...]

`--branch` picks the bucket and key suffix from `[upload.<branch>]` in deployables.toml (main:
s3://tops-lambda-bucket/<name>.zip, dev: s3://tops-lambda-bucket-dev/<name>_dev.zip). Without names,
every deployable of the manifest is considered, and each must have its zip in `--dist`.

Why compare with the bucket rather than with the previous commit: a run that was cancelled while
pending, or whose tests failed, uploads nothing; the next run then finds those zips still different
from the bucket and uploads them, whatever its own commit changed. Zips are reproducible, so an
unchanged zip has the same SHA-256 and is left alone (its ETag, which Terraform reads, stays).

Each object carries the zip's SHA-256 in its user metadata (`x-amz-meta-sha256`). An object without
it (uploaded by hand or by an older workflow) counts as different. A HEAD that is refused (403: the
role may read objects but not list the bucket, which S3 answers for a missing key) also counts as
different: uploading again costs one PUT, skipping could lose a zip. Each zip goes up in one PUT
with its Content-MD5, so the ETag is the MD5 of the bytes, and is read back to check the metadata.

Needs s3:PutObject and s3:GetObject on the objects (HEAD is authorised by GetObject), and
s3:ListBucket on the bucket so that a missing key reads as 404. Exit status: 0 done (or nothing to
do), 1 a zip is missing or S3 refused, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from scripts.package import ROOT, PackageError, load_manifest, manifest_table, select, sha256_file

METADATA_KEY: Final = "sha256"
CONTENT_TYPE: Final = "application/zip"
# Error codes S3 answers a HEAD of a missing key with (HEAD responses have no body, hence "404").
_MISSING: Final = frozenset({"404", "NoSuchKey", "NotFound"})
_REFUSED: Final = frozenset({"403", "AccessDenied", "Forbidden"})


class UploadError(Exception):
    """A zip is missing, the destination is unknown, or S3 refused a write or answered oddly."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A bucket and the suffix its keys carry before `.zip`."""

    bucket: str
    key_suffix: str = ""

    def key(self, name: str) -> str:
        return f"{name}{self.key_suffix}.zip"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one zip: `uploaded` or `unchanged` (with `dry_run`, what would happen)."""

    name: str
    key: str
    sha256: str
    previous: str | None
    action: str


def load_destinations(root: Path = ROOT) -> dict[str, Destination]:
    """branch -> Destination from the `[upload.<branch>]` tables of deployables.toml."""
    table = manifest_table(root, "upload")
    destinations: dict[str, Destination] = {}
    for branch, entry in table.items():
        bucket = entry.get("bucket") if isinstance(entry, dict) else None
        suffix = entry.get("key_suffix", "") if isinstance(entry, dict) else None
        if not isinstance(bucket, str) or not bucket or not isinstance(suffix, str):
            raise PackageError(f"[upload.{branch}] needs a 'bucket' and an optional 'key_suffix' (strings)")
        destinations[branch] = Destination(bucket, suffix)
    return destinations


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def remote_sha256(s3: Any, bucket: str, key: str, log: Callable[[str], None]) -> str | None:
    """The SHA-256 recorded on s3://bucket/key, or None when the object, its metadata or the right
    to read it is missing. Raises UploadError for any other failure."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        code = _error_code(exc)
        if code in _MISSING:
            return None
        if code in _REFUSED:
            log(f"  s3://{bucket}/{key}: HEAD refused ({code}); uploading to be safe (grant s3:GetObject)")
            return None
        raise UploadError(f"cannot read s3://{bucket}/{key}: {code or exc}") from exc
    value = head.get("Metadata", {}).get(METADATA_KEY)
    return value if isinstance(value, str) and value else None


def put_zip(s3: Any, destination: Destination, name: str, path: Path, digest: str) -> None:
    """One PUT of the zip with its SHA-256 in the metadata, then a HEAD to check it landed."""
    body = path.read_bytes()
    key = destination.key(name)
    try:
        s3.put_object(
            Bucket=destination.bucket,
            Key=key,
            Body=body,
            ContentType=CONTENT_TYPE,
            ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode(),
            Metadata={METADATA_KEY: digest},
        )
    except (ClientError, BotoCoreError) as exc:
        raise UploadError(f"cannot write s3://{destination.bucket}/{key}: {_error_code(exc) or exc}") from exc
    landed = remote_sha256(s3, destination.bucket, key, lambda message: None)
    if landed != digest:
        raise UploadError(f"s3://{destination.bucket}/{key} reads back sha256 {landed}, expected {digest}")


def upload_zips(
    s3: Any,
    destination: Destination,
    zips: Sequence[tuple[str, Path]],
    *,
    dry_run: bool = False,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> list[Outcome]:
    """Upload each (name, zip path) whose SHA-256 differs from the bucket's; returns what happened.

    Every zip must exist before anything is uploaded. Raises UploadError."""
    missing = [str(path) for _name, path in zips if not path.is_file()]
    if missing:
        raise UploadError(f"zip(s) not built: {', '.join(missing)}")
    outcomes: list[Outcome] = []
    for name, path in zips:
        key = destination.key(name)
        digest = sha256_file(path)
        previous = remote_sha256(s3, destination.bucket, key, log)
        if previous == digest:
            outcomes.append(Outcome(name, key, digest, previous, "unchanged"))
            continue
        if not dry_run:
            put_zip(s3, destination, name, path, digest)
        outcomes.append(Outcome(name, key, digest, previous, "uploaded"))
    return outcomes


def summary(destination: Destination, outcomes: Sequence[Outcome], dry_run: bool) -> str:
    """A Markdown table of the outcomes (for stdout and the GitHub step summary)."""
    uploaded = sum(1 for o in outcomes if o.action == "uploaded")
    verb = "would upload" if dry_run else "uploaded"
    lines = [
        f"s3://{destination.bucket}: {verb} {uploaded}, unchanged {len(outcomes) - uploaded}",
        "",
        "| key | action | sha256 | previous |",
        "|---|---|---|---|",
    ]
    for o in outcomes:
        action = f"{o.action} (dry run)" if dry_run and o.action == "uploaded" else o.action
        lines.append(f"| {o.key} | {action} | {o.sha256[:12]} | {(o.previous or 'none')[:12]} |")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.upload",
        description="Upload the zips in dist/ whose SHA-256 differs from the bucket's copy.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="deployables (default: every one)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--branch", help="bucket and key suffix from [upload.<branch>] in deployables.toml")
    where.add_argument("--bucket", help="upload to this bucket (with --key-suffix)")
    parser.add_argument("--key-suffix", default="", help="with --bucket: keys are <name><suffix>.zip")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the zips are (default dist/)")
    parser.add_argument("--dry-run", action="store_true", help="compare and report; upload nothing")
    parser.add_argument("--json", type=Path, default=None, help="also write the outcomes here as JSON")
    return parser


def main(argv: Sequence[str] | None = None, s3: Any = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.branch is not None:
            destinations = load_destinations(ROOT)
            if args.branch not in destinations:
                known = ", ".join(sorted(destinations))
                parser.error(f"branch {args.branch!r} uploads nowhere; branches with a bucket: {known}")
            destination = destinations[args.branch]
        else:
            destination = Destination(args.bucket, args.key_suffix)
        manifest = load_manifest(ROOT)
        chosen = select(manifest, args.names) if args.names else manifest
        zips = [(d.name, args.dist / d.zip_name) for d in chosen]
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        outcomes = upload_zips(s3, destination, zips, dry_run=args.dry_run)
    except (PackageError, UploadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = summary(destination, outcomes, args.dry_run)
    print(text, end="", flush=True)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as stream:
            stream.write(text)
    if args.json is not None:
        args.json.write_text(json.dumps([_as_dict(o) for o in outcomes], indent=2) + "\n", encoding="utf-8")
    return 0


def _as_dict(outcome: Outcome) -> dict[str, str | None]:
    return {
        "name": outcome.name,
        "key": outcome.key,
        "sha256": outcome.sha256,
        "previous": outcome.previous,
        "action": outcome.action,
    }


if __name__ == "__main__":
    sys.exit(main())
