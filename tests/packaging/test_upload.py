"""The workflow's upload step (scripts/upload.py) against moto's S3: what differs from the bucket goes
up, whatever the previous runs did; what is already there stays untouched."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts.package import ROOT, load_manifest
from scripts.upload import METADATA_KEY, Destination, UploadError, load_destinations, main, upload_zips

pytestmark = pytest.mark.packaging

BUCKET = "tops-lambda-bucket"
MAIN = Destination(BUCKET, "")
NAMES = ("ns_create", "user_create", "udf_worker")


class Dist:
    """A dist/ folder whose zips a test rewrites, as successive commits would rebuild them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def build(self, name: str, content: str) -> Path:
        path = self.folder / f"{name}.zip"
        path.write_bytes(f"zip of {name} at {content}".encode())
        return path

    def zips(self, names: tuple[str, ...] = NAMES) -> list[tuple[str, Path]]:
        return [(name, self.folder / f"{name}.zip") for name in names]


@pytest.fixture
def s3(aws_mock: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.create_bucket(Bucket="tops-lambda-bucket-dev")
    return client


@pytest.fixture
def puts(s3: Any) -> list[str]:
    """The keys of every PutObject the client sends, in order."""
    sent: list[str] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        sent.append(params["Key"])

    s3.meta.events.register("provide-client-params.s3.PutObject", record)
    return sent


@pytest.fixture
def dist(tmp_path: Path) -> Dist:
    return Dist(tmp_path / "dist")


def _stored(s3: Any, key: str, bucket: str = BUCKET) -> tuple[bytes, dict[str, str], str]:
    obj = s3.get_object(Bucket=bucket, Key=key)
    return obj["Body"].read(), obj["Metadata"], obj["ETag"].strip('"')


def _actions(outcomes: list[Any]) -> dict[str, str]:
    return {o.name: o.action for o in outcomes}


def quiet(message: str) -> None:
    pass


def test_upload_first_run_puts_every_zip_with_its_sha256(s3: Any, puts: list[str], dist: Dist) -> None:
    # GIVEN an empty bucket and three built zips
    for name in NAMES:
        dist.build(name, "A")
    # WHEN the upload step runs
    outcomes = upload_zips(s3, MAIN, dist.zips(), log=quiet)
    # THEN each zip is uploaded once, byte for byte, with its SHA-256 in the metadata and its MD5 as ETag
    assert _actions(outcomes) == dict.fromkeys(NAMES, "uploaded")
    assert puts == [f"{name}.zip" for name in NAMES]
    for name, path in dist.zips():
        body, metadata, etag = _stored(s3, f"{name}.zip")
        assert body == path.read_bytes()
        assert metadata == {METADATA_KEY: hashlib.sha256(body).hexdigest()}
        assert etag == hashlib.md5(body).hexdigest()


def test_upload_zip_missed_by_a_cancelled_run_goes_up_with_the_next_one(
    s3: Any, puts: list[str], dist: Dist
) -> None:
    # GIVEN commit A uploaded
    for name in NAMES:
        dist.build(name, "A")
    upload_zips(s3, MAIN, dist.zips(), log=quiet)
    etag_udf_worker = _stored(s3, "udf_worker.zip")[2]
    puts.clear()
    # AND commit B changed ns_create, but its run was cancelled while pending: nothing uploaded
    # WHEN the run for commit C, which changed only user_create, uploads from its own build
    dist.build("ns_create", "B")
    dist.build("user_create", "C")
    outcomes = upload_zips(s3, MAIN, dist.zips(), log=quiet)
    # THEN B's ns_create goes up too, since the bucket still holds A's; udf_worker is left alone
    assert _actions(outcomes) == {
        "ns_create": "uploaded",
        "user_create": "uploaded",
        "udf_worker": "unchanged",
    }
    assert puts == ["ns_create.zip", "user_create.zip"]
    assert _stored(s3, "ns_create.zip")[0] == b"zip of ns_create at B"
    assert _stored(s3, "udf_worker.zip")[2] == etag_udf_worker
    # AND the outcome names what the bucket held before
    previous = {o.name: o.previous for o in outcomes}
    assert previous["ns_create"] == hashlib.sha256(b"zip of ns_create at A").hexdigest()


def test_upload_unchanged_zips_are_not_uploaded_again(s3: Any, puts: list[str], dist: Dist) -> None:
    # GIVEN a bucket already holding exactly these zips
    for name in NAMES:
        dist.build(name, "A")
    upload_zips(s3, MAIN, dist.zips(), log=quiet)
    puts.clear()
    # WHEN a later run (a docs-only commit) rebuilds the same bytes and runs the step
    outcomes = upload_zips(s3, MAIN, dist.zips(), log=quiet)
    # THEN nothing is written
    assert _actions(outcomes) == dict.fromkeys(NAMES, "unchanged")
    assert puts == []


def test_upload_object_without_the_checksum_counts_as_different(s3: Any, puts: list[str], dist: Dist) -> None:
    # GIVEN the same bytes uploaded earlier by hand (or by the old workflow): no sha256 metadata
    path = dist.build("ns_create", "A")
    s3.put_object(Bucket=BUCKET, Key="ns_create.zip", Body=path.read_bytes())
    puts.clear()
    # WHEN the step runs
    outcomes = upload_zips(s3, MAIN, dist.zips(("ns_create",)), log=quiet)
    # THEN it uploads once, which records the checksum (the ETag stays: same bytes)
    assert _actions(outcomes) == {"ns_create": "uploaded"}
    assert puts == ["ns_create.zip"]
    assert _stored(s3, "ns_create.zip")[1] == {METADATA_KEY: hashlib.sha256(path.read_bytes()).hexdigest()}


def test_upload_dry_run_reports_and_writes_nothing(s3: Any, puts: list[str], dist: Dist) -> None:
    for name in NAMES:
        dist.build(name, "A")
    outcomes = upload_zips(s3, MAIN, dist.zips(), dry_run=True, log=quiet)
    assert _actions(outcomes) == dict.fromkeys(NAMES, "uploaded")
    assert puts == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_upload_missing_zip_fails_before_anything_is_uploaded(s3: Any, puts: list[str], dist: Dist) -> None:
    dist.build("ns_create", "A")
    with pytest.raises(UploadError, match=r"not built: .*user_create\.zip"):
        upload_zips(s3, MAIN, dist.zips(), log=quiet)
    assert puts == []


class RefusingHead:
    """An S3 client whose HEAD is refused (a role without s3:GetObject); everything else is moto."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.heads = 0

    def head_object(self, **params: Any) -> Any:
        self.heads += 1
        if self.heads == 1:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")
        return self._s3.head_object(**params)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return getattr(self._s3, name)


def test_upload_refused_head_uploads_rather_than_risk_losing_the_zip(
    s3: Any, puts: list[str], dist: Dist
) -> None:
    # GIVEN a HEAD that S3 refuses (403)
    dist.build("ns_create", "A")
    logged: list[str] = []
    # WHEN the step runs
    outcomes = upload_zips(RefusingHead(s3), MAIN, dist.zips(("ns_create",)), log=logged.append)
    # THEN the zip is uploaded, and the log says why
    assert _actions(outcomes) == {"ns_create": "uploaded"}
    assert puts == ["ns_create.zip"]
    assert any("403" in line and "s3:GetObject" in line for line in logged)


def test_upload_other_s3_error_stops_the_step(s3: Any, dist: Dist) -> None:
    dist.build("ns_create", "A")
    with pytest.raises(UploadError, match="NoSuchBucket|404"):
        upload_zips(s3, Destination("no-such-bucket"), dist.zips(("ns_create",)), log=quiet)


# --- the command line the workflow runs ------------------------------------------------------


def test_destinations_map_main_and_dev_to_their_buckets_and_keys() -> None:
    destinations = load_destinations(ROOT)
    assert destinations == {
        "main": Destination("tops-lambda-bucket", ""),
        "dev": Destination("tops-lambda-bucket-dev", "_dev"),
    }
    assert destinations["dev"].key("apilab-pre") == "apilab-pre_dev.zip"
    assert destinations["main"].key("ns_create") == "ns_create.zip"


def test_upload_cli_dev_branch_uploads_every_deployable_under_dev_keys(
    s3: Any, dist: Dist, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a dist/ with every deployable's zip, and one of them already in the dev bucket
    names = [d.name for d in load_manifest(ROOT)]
    for name in names:
        dist.build(name, "A")
    main(["--branch", "dev", "--dist", str(dist.folder), "ns_create"], s3=s3)
    report = tmp_path / "outcomes.json"
    # WHEN the workflow's command runs for the dev branch
    status = main(["--branch", "dev", "--dist", str(dist.folder), "--json", str(report)], s3=s3)
    # THEN every zip is in the dev bucket under <name>_dev.zip, and the report says what moved
    assert status == 0
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="tops-lambda-bucket-dev")["Contents"]}
    assert keys == {f"{name}_dev.zip" for name in names}
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    actions = {item["name"]: item["action"] for item in json.loads(report.read_text())}
    assert actions == {name: "unchanged" if name == "ns_create" else "uploaded" for name in names}
    assert f"s3://tops-lambda-bucket-dev: uploaded {len(names) - 1}, unchanged 1" in capsys.readouterr().out


def test_upload_cli_branch_without_a_bucket_is_refused(
    s3: Any, dist: Dist, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--branch", "feature-x", "--dist", str(dist.folder)], s3=s3)
    assert exit_info.value.code == 2
    assert "branch 'feature-x' uploads nowhere" in capsys.readouterr().err


def test_upload_cli_missing_zip_exits_1(s3: Any, dist: Dist, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--branch", "main", "--dist", str(dist.folder)], s3=s3) == 1
    assert "not built" in capsys.readouterr().err
