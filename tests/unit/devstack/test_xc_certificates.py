"""Certificates (``devstack.xc.models.certificates`` through ``create_object``), without HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography import x509

from devstack.pki import certificate_body, self_signed, string_url
from devstack.xc.errors import InvalidArgumentError
from devstack.xc.models import REDACTED_SECRET_URL, XCState, rfc3339

# --------------------------------------------------------------------------- certificates


@pytest.fixture(scope="module")
def cert_pair() -> tuple[bytes, bytes]:
    return self_signed(
        "lab.example.com", ["lab.example.com", "*.lab.example.com", "10.1.2.3"], organization="Devstack Lab"
    ).pem_pair


def test_create_certificate_valid_pem_fills_infos_from_leaf(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN a self-signed EC certificate and key encoded as cert_mgmt does
    cert_pem, key_pem = cert_pair
    expected_expiry = x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc.timestamp()
    # WHEN it is uploaded and read back
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    infos = xc_state.get_object("shared", "certificates", "lab-sec-wildcard")["spec"]["infos"]
    # THEN infos describes the leaf
    assert infos == [
        {
            "common_name": "lab.example.com",
            "issuer": "O=Devstack Lab,CN=lab.example.com",
            "expiry": rfc3339(expected_expiry),
            "subject_alternative_names": ["lab.example.com", "*.lab.example.com", "10.1.2.3"],
            "organization": "Devstack Lab",
            "public_key_algorithm": "ECDSA",
        }
    ]


def test_create_certificate_rsa_chain_reports_rsa_and_each_cert(xc_state: XCState) -> None:
    # GIVEN an RSA leaf followed by a second certificate in the chain
    leaf, key = self_signed("leaf.example.com", ["leaf.example.com"], key_type="rsa").pem_pair
    other, _ = self_signed("ca.example.com", [], organization="CA").pem_pair
    # WHEN the chain is uploaded
    result = xc_state.create_object("shared", "certificates", certificate_body("chain", leaf + other, key))
    # THEN one info per certificate, leaf first
    assert [i["common_name"] for i in result["spec"]["infos"]] == ["leaf.example.com", "ca.example.com"]
    assert result["spec"]["infos"][0]["public_key_algorithm"] == "RSA"
    assert result["spec"]["infos"][1]["subject_alternative_names"] == []


def test_create_certificate_key_never_returned_anywhere(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN an uploaded certificate
    cert_pem, key_pem = cert_pair
    body = certificate_body("lab-sec-wildcard", cert_pem, key_pem)
    key_url = body["spec"]["private_key"]["clear_secret_info"]["url"]
    key_b64 = key_url.removeprefix("string:///")
    # WHEN it is created, read, listed with full fields, replaced and dumped
    outputs = [
        xc_state.create_object("shared", "certificates", body),
        xc_state.get_object("shared", "certificates", "lab-sec-wildcard"),
        xc_state.list_objects("shared", "certificates", report_fields=True),
        xc_state.replace_object("shared", "certificates", "lab-sec-wildcard", body),
        xc_state.dump(),
    ]
    # THEN the key appears in none of them, and the URL is redacted
    for output in outputs:
        text = json.dumps(output)
        assert key_b64 not in text
        assert "PRIVATE KEY" not in text
    assert outputs[1]["spec"]["private_key"]["clear_secret_info"]["url"] == REDACTED_SECRET_URL
    # AND the caller's body was not modified
    assert body["spec"]["private_key"]["clear_secret_info"]["url"] == key_url


def test_certificate_material_after_upload_returns_decoded_bytes(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN an uploaded certificate
    cert_pem, key_pem = cert_pair
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    # WHEN the test helper reads the material
    # THEN it is exactly what was uploaded
    assert xc_state.certificate_material("shared", "lab-sec-wildcard") == (cert_pem, key_pem)


def test_replace_certificate_new_material_updates_material_and_infos(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN an uploaded certificate
    cert_pem, key_pem = cert_pair
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    new_cert, new_key = self_signed("renewed.example.com", ["renewed.example.com"]).pem_pair
    # WHEN it is replaced with a renewed pair (the body may echo read-only infos)
    body = certificate_body("lab-sec-wildcard", new_cert, new_key)
    body["spec"]["infos"] = [{"common_name": "stale"}]
    xc_state.replace_object("shared", "certificates", "lab-sec-wildcard", body)
    # THEN the stored material and infos are the new ones
    assert xc_state.certificate_material("shared", "lab-sec-wildcard") == (new_cert, new_key)
    got = xc_state.get_object("shared", "certificates", "lab-sec-wildcard")
    assert [i["common_name"] for i in got["spec"]["infos"]] == ["renewed.example.com"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s, c, k: s.update(certificate_url=c.decode()), "spec.certificate_url"),
        (lambda s, c, k: s.update(certificate_url="string:///not*base64"), "spec.certificate_url"),
        (
            lambda s, c, k: s.update(certificate_url="string:///" + base64.b64encode(c).decode()[:-2]),
            "spec.certificate_url",
        ),
        (
            lambda s, c, k: s.update(certificate_url="string:///" + base64.encodebytes(c).decode()),
            "spec.certificate_url",
        ),
        (
            lambda s, c, k: s.update(certificate_url="data:///" + base64.b64encode(c).decode()),
            "spec.certificate_url",
        ),
        (lambda s, c, k: s.update(certificate_url=string_url(b"hello")), "spec.certificate_url"),
        (lambda s, c, k: s.update(certificate_url=string_url(b"A" * 100_000)), "spec.certificate_url"),
        (lambda s, c, k: s.pop("certificate_url"), "spec.certificate_url"),
        (lambda s, c, k: s.pop("private_key"), "spec.private_key"),
        (lambda s, c, k: s.update(private_key={}), "spec.private_key"),
        (
            lambda s, c, k: s["private_key"]["clear_secret_info"].update(url=k.decode()),
            "spec.private_key.clear_secret_info.url",
        ),
        (
            lambda s, c, k: s["private_key"]["clear_secret_info"].update(url=string_url(c)),
            "spec.private_key.clear_secret_info.url",
        ),
        (
            lambda s, c, k: s["private_key"]["clear_secret_info"].update(
                url=string_url(self_signed().key_pem)
            ),
            "spec.private_key.clear_secret_info.url",
        ),
    ],
    ids=[
        "raw-pem",
        "bad-base64",
        "bad-padding",
        "line-breaks",
        "wrong-scheme",
        "not-pem",
        "over-131072-bytes",
        "no-cert",
        "no-key",
        "empty-key-one-of",
        "raw-pem-key",
        "cert-as-key",
        "key-mismatch",
    ],
)
def test_create_certificate_invalid_field_raises_400_naming_field(
    xc_state: XCState, cert_pair: tuple[bytes, bytes], mutate: Any, field: str
) -> None:
    # GIVEN a certificate body broken in one way
    cert_pem, key_pem = cert_pair
    body = certificate_body("lab-sec-wildcard", cert_pem, key_pem)
    mutate(body["spec"], cert_pem, key_pem)
    # WHEN it is uploaded
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.create_object("shared", "certificates", body)
    # THEN 400/3 names the field and nothing is stored
    assert (info.value.status, info.value.code) == (400, 3)
    assert info.value.field == field
    assert xc_state.object_names("shared", "certificates") == []


def test_create_certificate_mismatched_key_with_check_off_accepted(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN the key-match check off
    xc_state.configure(check_certificate_key_match=False)
    cert_pem, _ = cert_pair
    other_key = self_signed().key_pem
    # WHEN a certificate is uploaded with a foreign key
    xc_state.create_object("shared", "certificates", certificate_body("c", cert_pem, other_key))
    # THEN it is stored
    assert xc_state.certificate_material("shared", "c") == (cert_pem, other_key)


def test_create_certificate_blindfold_location_accepted_without_key_material(
    xc_state: XCState, cert_pair: tuple[bytes, bytes]
) -> None:
    # GIVEN a body with a Blindfold-encrypted key location
    cert_pem, _ = cert_pair
    body = certificate_body("c", cert_pem, b"unused")
    body["spec"]["private_key"] = {"blindfold_secret_info": {"location": "string:///c2VjcmV0LWJsb2I="}}
    # WHEN it is uploaded and read
    xc_state.create_object("shared", "certificates", body)
    got = xc_state.get_object("shared", "certificates", "c")
    # THEN the location is redacted and no clear key is kept
    assert got["spec"]["private_key"]["blindfold_secret_info"]["location"] == REDACTED_SECRET_URL
    assert xc_state.certificate_material("shared", "c") == (cert_pem, None)


def test_get_certificate_referenced_by_lb_lists_back_references(
    xc_state: XCState, cert_pair: tuple[bytes, bytes], pet_ns: str
) -> None:
    # GIVEN a shared certificate referenced by an LB
    cert_pem, key_pem = cert_pair
    xc_state.create_object("shared", "certificates", certificate_body("lab-sec-wildcard", cert_pem, key_pem))
    lb = {
        "metadata": {"name": "pet-lb"},
        "spec": {
            "https": {
                "tls_cert_params": {
                    "certificates": [
                        {"namespace": "shared", "name": "lab-sec-wildcard", "kind": "certificate"}
                    ]
                }
            }
        },
    }
    xc_state.create_object(pet_ns, "http_loadbalancers", lb)
    # WHEN the certificate is read
    spec = xc_state.get_object("shared", "certificates", "lab-sec-wildcard")["spec"]
    # THEN the LB appears in http_loadbalancers
    assert [(r["namespace"], r["name"]) for r in spec["http_loadbalancers"]] == [(pet_ns, "pet-lb")]
    assert spec["tcp_loadbalancers"] == []
