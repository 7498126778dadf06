"""acme_client settings: deployed names, safe defaults, and errors that name the variable."""

from __future__ import annotations

import pytest

from acme_client.config import (
    GOOGLE,
    GOOGLE_STAGING,
    LE_PRODUCTION,
    LE_STAGING,
    ZEROSSL,
    DnsServer,
    directory_kind,
    load_config,
    parse_dns_servers,
)
from shared.errors import ConfigError

DEPLOYED = {
    "CERT_NAME": "lab-mcn-wildcard",
    "DOMAIN": "lab-mcn.f5demos.com",
    "S3_BUCKET": "tops-cert-bucket",
    "EMAIL": "ops@example.com",
    "CHALLENGE_RECORD": "lab-mcn.challenge.f5demos.com",
    "CHALLENGE_ZONE_ID": "Z0123456789",
}


def test_load_config_deployed_variables_only_gives_drop_in_defaults():
    # GIVEN exactly the deployed environment WHEN loading
    config = load_config(DEPLOYED)
    # THEN the defaults keep the deployed behaviour
    assert config.names == ("*.lab-mcn.f5demos.com",)
    assert config.directory_url == LE_PRODUCTION
    assert config.directory_kind == "production"
    assert config.key_type == "ec256"
    assert config.challenge_record == "lab-mcn.challenge.f5demos.com"
    assert config.challenge_zone_id == "Z0123456789"
    assert config.delegation_source == "_acme-challenge.lab-mcn.f5demos.com"
    assert config.renew_fraction == pytest.approx(1 / 3)
    assert config.state_prefix == "_acme/"
    assert config.txt_ttl == 10
    assert config.dns_check == "auto"
    assert config.dns_servers == ()
    assert config.eab_kid is None and config.eab_hmac_key is None
    assert config.metrics_namespace == "TenantOps"


def test_load_config_apex_and_staging_by_name():
    config = load_config({**DEPLOYED, "ACME_INCLUDE_APEX": "true", "ACME_DIRECTORY_URL": "staging"})
    assert config.names == ("*.lab-mcn.f5demos.com", "lab-mcn.f5demos.com")
    assert config.directory_url == LE_STAGING
    assert config.directory_kind == "staging"


def test_load_config_without_challenge_record_uses_acme_challenge_name():
    env = {k: v for k, v in DEPLOYED.items() if k not in ("CHALLENGE_RECORD", "CHALLENGE_ZONE_ID")}
    config = load_config(env)
    assert config.challenge_record == "_acme-challenge.lab-mcn.f5demos.com"
    assert config.challenge_zone_id is None


def test_load_config_zone_id_with_hostedzone_prefix_is_stripped():
    assert load_config({**DEPLOYED, "CHALLENGE_ZONE_ID": "/hostedzone/Z9"}).challenge_zone_id == "Z9"


def test_load_config_missing_required_names_each_variable():
    # GIVEN nothing WHEN loading THEN one error lists every missing variable by name
    with pytest.raises(ConfigError) as caught:
        load_config({})
    text = str(caught.value)
    for name in ("CERT_NAME", "DOMAIN", "S3_BUCKET"):
        assert name in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACME_KEY_TYPE", "ed25519"),
        ("ACME_RENEW_FRACTION", "2"),
        ("ACME_RENEW_FRACTION", "a third"),
        ("ACME_INCLUDE_APEX", "maybe"),
        ("ACME_DIRECTORY_URL", "http://insecure.example/dir"),
        ("ACME_DNS_SERVERS", "ns1.example.com"),
        ("ACME_DNS_CHECK", "never"),
        ("ACME_CA_BUNDLE", "/nonexistent/ca.pem"),
        ("ACME_STATE_PREFIX", "lab-mcn-wildcard/state/"),
        ("ACME_STATE_PREFIX", "_acme"),
        ("ACME_TXT_TTL", "0"),
        ("DOMAIN", "not a domain"),
        ("EMAIL", "nobody"),
    ],
)
def test_load_config_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError) as caught:
        load_config({**DEPLOYED, name: value})
    assert any(problem.startswith(name) for problem in caught.value.problems)


def test_load_config_eab_needs_both_and_never_echoes_the_key():
    # GIVEN an HMAC key without a key id
    secret = "c2VjcmV0LWhtYWMta2V5LWNhbmFyeS0xMjM0NQ"
    with pytest.raises(ConfigError) as caught:
        load_config({**DEPLOYED, "ACME_EAB_HMAC_KEY": secret})
    # THEN the error names both variables and does not contain the key
    assert "ACME_EAB_KID" in str(caught.value)
    assert secret not in str(caught.value)


def test_load_config_eab_pair_is_kept_as_a_secret():
    secret = "c2VjcmV0LWhtYWMta2V5LWNhbmFyeS0xMjM0NQ"
    config = load_config({**DEPLOYED, "ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC_KEY": secret})
    assert config.eab_kid == "kid-1"
    assert config.eab_hmac_key is not None and config.eab_hmac_key.reveal() == secret
    assert secret not in repr(config)


def test_parse_dns_servers_ip_port_forms():
    assert parse_dns_servers("127.0.0.1:5053, 10.0.0.2 [::1]:53") == (
        DnsServer("127.0.0.1", 5053),
        DnsServer("10.0.0.2", 53),
        DnsServer("::1", 53),
    )
    assert str(DnsServer("::1", 53)) == "[::1]:53"
    assert parse_dns_servers("") == ()


# --- the CA list ---


def test_load_config_ca_list_is_the_directory_then_the_fallbacks_in_order():
    # GIVEN production first and two fallbacks, by name and by URL, the second with its own EAB
    secret = "c2Vjb25kLWNhLWhtYWMta2V5LTEyMzQ1"
    config = load_config(
        {
            **DEPLOYED,
            "ACME_FALLBACK_DIRECTORY_URLS": "google, https://acme.example.net/directory",
            "ACME_FALLBACK_EAB_KID_2": "kid-example",
            "ACME_FALLBACK_EAB_HMAC_KEY_2": secret,
        }
    )
    # THEN the CAs are in that order, each with its own binding, and the secret is not in any repr
    assert [ca.directory_url for ca in config.cas] == [
        LE_PRODUCTION,
        GOOGLE,
        "https://acme.example.net/directory",
    ]
    assert [ca.eab_kid for ca in config.cas] == [None, None, "kid-example"]
    assert config.cas[2].eab_hmac_key is not None and config.cas[2].eab_hmac_key.reveal() == secret
    assert secret not in repr(config) and secret not in repr(config.cas)


def test_load_config_without_fallbacks_has_one_ca():
    config = load_config(DEPLOYED)
    assert [ca.directory_url for ca in config.cas] == [LE_PRODUCTION]


@pytest.mark.parametrize(
    ("first", "fallbacks"),
    [
        ("production", "staging"),
        ("production", "google-staging"),
        ("zerossl", "https://ca.example.net/staging/directory"),
        ("staging", "production"),
    ],
)
def test_load_config_never_mixes_staging_and_production_cas(first, fallbacks):
    with pytest.raises(ConfigError) as caught:
        load_config({**DEPLOYED, "ACME_DIRECTORY_URL": first, "ACME_FALLBACK_DIRECTORY_URLS": fallbacks})
    assert any(p.startswith("ACME_FALLBACK_DIRECTORY_URLS") and "staging" in p for p in caught.value.problems)


def test_load_config_staging_may_fall_back_to_staging():
    config = load_config(
        {**DEPLOYED, "ACME_DIRECTORY_URL": "staging", "ACME_FALLBACK_DIRECTORY_URLS": "google-staging"}
    )
    assert [ca.kind for ca in config.cas] == ["staging", "staging"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"ACME_FALLBACK_DIRECTORY_URLS": "production"}, "ACME_FALLBACK_DIRECTORY_URLS"),  # repeats the first
        ({"ACME_FALLBACK_DIRECTORY_URLS": "http://plain.example/dir"}, "ACME_FALLBACK_DIRECTORY_URLS"),
        (
            {"ACME_FALLBACK_DIRECTORY_URLS": "zerossl", "ACME_FALLBACK_EAB_KID_1": "kid"},
            "ACME_FALLBACK_EAB_KID_1",
        ),
        (
            {
                "ACME_FALLBACK_DIRECTORY_URLS": "zerossl",
                "ACME_FALLBACK_EAB_KID_2": "kid",
                "ACME_FALLBACK_EAB_HMAC_KEY_2": "a2V5",
            },
            "ACME_FALLBACK_EAB_KID_2",
        ),  # no second fallback
    ],
)
def test_load_config_bad_fallback_settings_name_the_variable(extra, named):
    with pytest.raises(ConfigError) as caught:
        load_config({**DEPLOYED, **extra})
    assert any(problem.startswith(named) for problem in caught.value.problems)


def test_load_config_bad_fallback_hmac_key_is_never_echoed():
    secret = "not base64url: s3cr3t!"
    with pytest.raises(ConfigError) as caught:
        load_config(
            {
                **DEPLOYED,
                "ACME_FALLBACK_DIRECTORY_URLS": "zerossl",
                "ACME_FALLBACK_EAB_KID_1": "kid",
                "ACME_FALLBACK_EAB_HMAC_KEY_1": secret,
            }
        )
    assert "ACME_FALLBACK_EAB_HMAC_KEY_1" in str(caught.value)
    assert secret not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (LE_PRODUCTION, "production"),
        (LE_STAGING, "staging"),
        (GOOGLE_STAGING, "staging"),
        (ZEROSSL, "custom"),
        ("https://127.0.0.1:14000/dir", "custom"),
    ],
)
def test_directory_kind_recognises_staging_cas(url, kind):
    assert directory_kind(url) == kind
