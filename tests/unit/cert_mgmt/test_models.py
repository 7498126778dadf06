from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from cert_mgmt.models import CertTarget, EventResult, PushResult, parse_event
from shared.errors import InputError
from tests.fixtures.events import load_event

OWN = {"bucket": "tops-cert-bucket", "cert_name": "lab-sec-wildcard"}


@pytest.mark.parametrize(
    "file", ["cert.pem", "chain.pem", "archive/fullchain.pem", "fullchain.pem.bak", "privkey.pem/x", ""]
)
def test_parse_event_only_the_two_pair_files_count(file):
    # GIVEN an object created under this function's prefix that is not one of the pair's two files
    event = copy.deepcopy(load_event("cert_mgmt_fullchain"))
    event["Records"][0]["s3"]["object"]["key"] = f"lab-sec-wildcard/{file}"
    # WHEN
    request = parse_event(event, **OWN)
    # THEN nothing is pushed and the key is reported as skipped
    assert request.targets == () and request.skipped == (f"lab-sec-wildcard/{file}",)


@pytest.mark.parametrize("event_name", ["cert_mgmt_fullchain", "cert_mgmt_privkey"])
def test_parse_event_pair_file_targets_own_certificate(event_name):
    # GIVEN an S3 notification for one half of the pair
    # WHEN
    request = parse_event(load_event(event_name), **OWN)
    # THEN this function's certificate in its bucket is the target
    assert request.targets == (CertTarget(bucket="tops-cert-bucket", name="lab-sec-wildcard"),)
    assert request.skipped == ()


def test_parse_event_url_encoded_key_decoded():
    # GIVEN a key S3 sent percent-encoded
    event = load_event("cert_mgmt_fullchain")
    event["Records"][0]["s3"]["object"]["key"] = "lab%2Dsec%2Dwildcard%2Ffullchain.pem"
    # WHEN / THEN it is decoded before matching
    assert parse_event(event, **OWN).targets[0].name == "lab-sec-wildcard"


def test_parse_event_encoded_unrelated_key_skipped_decoded():
    # GIVEN an archived copy whose key has encoded ':' and a '+' for a space
    # WHEN
    request = parse_event(load_event("cert_mgmt_encoded_key"), **OWN)
    # THEN nothing is pushed and the decoded key is reported
    assert request.targets == ()
    assert request.skipped == ("lab-sec-wildcard/archive/2025-03-01T06:00:12Z fullchain.pem",)


def test_parse_event_unrelated_object_in_own_prefix_skipped():
    # GIVEN a file in the prefix that is not part of the pair
    request = parse_event(load_event("cert_mgmt_unrelated"), **OWN)
    # THEN
    assert request.targets == () and request.skipped == ("lab-sec-wildcard/cert.pem",)


def test_parse_event_two_records_same_cert_once():
    # GIVEN both halves in one event
    event = load_event("cert_mgmt_privkey")
    event["Records"] += load_event("cert_mgmt_fullchain")["Records"]
    # WHEN / THEN the certificate is handled once
    assert len(parse_event(event, **OWN).targets) == 1


@pytest.mark.parametrize(
    "key",
    [
        "other-cert/fullchain.pem",
        "lab-app-wildcard/privkey.pem",
        "lab-sec-wildcard-dev/fullchain.pem",
        "_acme/state/lab-sec-wildcard.json",
    ],
)
def test_parse_event_other_prefix_is_refused(key):
    # GIVEN a well-formed event for an object outside this function's own prefix (alone, or beside
    # a record for its own certificate)
    event = load_event("cert_mgmt_fullchain")
    other = copy.deepcopy(event["Records"][0])
    other["s3"]["object"]["key"] = key
    event["Records"].append(other)
    # WHEN it is parsed
    with pytest.raises(InputError) as caught:
        parse_event(event, **OWN)
    # THEN the whole event is refused, naming the record and what this function publishes
    assert caught.value.field == "Records[1].s3.object.key"
    assert key in str(caught.value) and "publishes certificate lab-sec-wildcard only" in str(caught.value)


def test_parse_event_other_bucket_is_refused():
    event = load_event("cert_mgmt_fullchain")
    event["Records"][0]["s3"]["bucket"]["name"] = "someone-elses-bucket"
    with pytest.raises(InputError) as caught:
        parse_event(event, **OWN)
    assert caught.value.field == "Records[0].s3.bucket.name"
    assert "someone-elses-bucket" in str(caught.value)


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": [{"body": "x"}]}, {"Records": {}}])
def test_parse_event_without_s3_record_is_an_error(event):
    # GIVEN an event with no S3 record (a manual invoke with an empty payload, a wrong event source)
    # WHEN / THEN it is refused naming Records, instead of pushing anything
    with pytest.raises(InputError) as caught:
        parse_event(event, **OWN)
    assert caught.value.field == "Records"
    assert "no S3 record" in str(caught.value)


@pytest.mark.parametrize("event", [None, [], "x"])
def test_parse_event_not_an_object_names_event(event):
    with pytest.raises(InputError) as caught:
        parse_event(event, **OWN)
    assert caught.value.field == "event"


def test_parse_event_s3_test_event_skipped():
    # GIVEN the test event S3 sends when the notification is configured
    event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2025-03-01T06:00:00.000Z",
        "Bucket": "tops-cert-bucket",
        "RequestId": "X",
        "HostId": "Y",
    }
    # WHEN / THEN nothing happens
    assert parse_event(event, **OWN).targets == ()


def test_parse_event_removed_object_skipped():
    # GIVEN an ObjectRemoved record for a pair file
    event = load_event("cert_mgmt_fullchain")
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    # WHEN / THEN it is not a reason to push
    request = parse_event(event, **OWN)
    assert request.targets == () and request.skipped == ("lab-sec-wildcard/fullchain.pem",)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["s3"]["object"].pop("key"), "Records[0].s3.object.key"),
        (lambda r: r["s3"]["object"].update(key=""), "Records[0].s3.object.key"),
        (lambda r: r["s3"]["bucket"].update(name=7), "Records[0].s3.bucket.name"),
        (lambda r: r["s3"].pop("bucket"), "Records[0].s3.bucket.name"),
        (lambda r: r.update(s3="x"), "Records[0].s3"),
    ],
)
def test_parse_event_malformed_record_names_field(mutate, field):
    # GIVEN a malformed S3 record
    event = load_event("cert_mgmt_fullchain")
    mutate(event["Records"][0])
    # WHEN
    with pytest.raises(InputError) as caught:
        parse_event(event, **OWN)
    # THEN the field is named
    assert caught.value.field == field


def test_event_result_body_single_certificate_mirrored_at_top():
    # GIVEN one result
    when = datetime(2025, 6, 1, tzinfo=UTC)
    result = EventResult(results=(PushResult("c", "unchanged", when, ("a.example",)),), skipped=())
    # WHEN
    body = result.body()
    # THEN its fields are at the top level as well as in the list
    assert body["certificate"] == "c" and body["action"] == "unchanged" and body["changed"] is False
    assert body["not_after"] == "2025-06-01T00:00:00+00:00" and body["names"] == ["a.example"]
    assert body["certificates"] == [
        {k: body[k] for k in ("certificate", "action", "changed", "not_after", "names")}
    ]


def test_event_result_body_skipped_only():
    # GIVEN nothing handled / WHEN / THEN
    assert EventResult(results=(), skipped=("x/cert.pem",)).body() == {
        "certificates": [],
        "skipped": ["x/cert.pem"],
    }
