from __future__ import annotations

import pytest

from shared import config
from shared.errors import ConfigError, InputError
from tests.fixtures.lambda_context import seed_tenant


def test_env_reader_collects_every_problem():
    env = {"N": "x", "B": "maybe", "R": "9", "C": "blue"}
    reader = config.EnvReader(env)
    reader.text("MISSING")
    reader.integer("N", 1)
    reader.flag("B", False)
    reader.integer("R", 1, minimum=0, maximum=5)
    reader.choice("C", "red", ("red", "green"))
    with pytest.raises(ConfigError) as info:
        reader.done()
    text = str(info.value)
    for part in (
        "MISSING is required",
        "N must be an integer",
        "B must be true or false",
        "R must be between 0 and 5",
        "C must be one of red, green",
    ):
        assert part in text
    assert len(info.value.problems) == 5


def test_env_reader_defaults_and_values():
    reader = config.EnvReader({"A": " v ", "F": "yes", "X": "2.5"})
    assert reader.text("A") == "v"
    assert reader.text("B", "d") == "d"
    assert reader.flag("F", False) is True
    assert reader.number("X", 1.0) == 2.5
    reader.done()


@pytest.mark.parametrize("bad", ["", "tenantOps/x", "/tenantOps/", "/a b", None, "/a//b"])
def test_ssm_base_path_rejects(bad):
    with pytest.raises(InputError) as info:
        config.ssm_base_path("ssm_base_path", bad)
    assert info.value.field == "ssm_base_path"


def test_load_tenant_reads_and_decrypts(aws_mock):
    import boto3

    ssm = boto3.client("ssm")
    base = seed_tenant(ssm, "https://t.example.test/", "tok-secret-value", idm_type="SSO")
    tenant = config.load_tenant(base, extra=("idm-type",))
    assert tenant.url == "https://t.example.test"
    assert tenant.token.reveal() == "tok-secret-value"
    assert tenant.params == {"idm-type": "SSO"}
    assert "tok-secret-value" not in repr(tenant)


def test_load_tenant_missing_names_full_paths(aws_mock):
    import boto3

    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/tenantOps-test/x/tenant-url", Value="https://t.test", Type="String")
    with pytest.raises(ConfigError) as info:
        config.load_tenant("/tenantOps-test/x", extra=("token-name",))
    assert "/tenantOps-test/x/token-value" in str(info.value)
    assert "/tenantOps-test/x/token-name" in str(info.value)
    assert "tenant-url" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["ftp://nope", "http://tenant.console.ves.volterra.io", "https://", "http://10.0.0.5:8080"]
)
def test_load_tenant_rejects_bad_or_clear_text_url(aws_mock, url):
    import boto3

    base = seed_tenant(boto3.client("ssm"), url, "tok-secret-value")
    with pytest.raises(ConfigError, match="tenant-url must be an https URL"):
        config.load_tenant(base)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:1234",
        "http://[::1]:80",
        "https://f5-xc-lab-sec.console.ves.volterra.io",
    ],
)
def test_load_tenant_accepts_https_and_loopback_http(aws_mock, url):
    import boto3

    base = seed_tenant(boto3.client("ssm"), url, "tok-secret-value")
    assert config.load_tenant(base).url == url


@pytest.mark.parametrize("token", ["tokpart-one\ntokpart-two", "tok\tsecret-value", "tok\x00secret-value"])
def test_load_tenant_token_with_whitespace_is_a_config_error_that_does_not_quote_it(aws_mock, token):
    import boto3

    base = seed_tenant(boto3.client("ssm"), "https://t.test", token)
    with pytest.raises(ConfigError) as info:
        config.load_tenant(base)
    assert "token-value holds whitespace or control characters" in str(info.value)
    assert "secret-value" not in str(info.value) and "tokpart" not in str(info.value)


def test_load_tenant_caches_until_forced(aws_mock):
    import boto3

    ssm = boto3.client("ssm")
    base = seed_tenant(ssm, "https://t.test", "first-token-1")
    assert config.load_tenant(base).token.reveal() == "first-token-1"
    ssm.put_parameter(Name=f"{base}/token-value", Value="second-token-2", Type="SecureString", Overwrite=True)
    assert config.load_tenant(base).token.reveal() == "first-token-1"
    assert config.load_tenant(base, force_fetch=True).token.reveal() == "second-token-2"


def test_env_reader_check_turns_input_error_into_a_problem():
    # GIVEN one bad and one good value, and one unset
    reader = config.EnvReader({})
    # WHEN each is checked with a shared validator
    reader.check("SSM_BASE_PATH", "not-a-path", config.ssm_base_path)
    reader.check("OTHER", "/tenantOps/sec-lab", config.ssm_base_path)
    reader.check("UNSET", "", config.ssm_base_path)
    reader.check("NONE", None, config.ssm_base_path)
    # THEN only the bad one is a problem, with the validator's message
    assert reader.problems == [
        "SSM_BASE_PATH must be an SSM path like '/tenantOps/sec-lab', got 'not-a-path'"
    ]


def test_load_tenant_ssm_failure_is_retryable(aws_mock):
    # GIVEN SSM throttling every read (after the SDK's own retries)
    from botocore.stub import Stubber

    from shared import aws
    from shared.errors import RetryableError

    stubber = Stubber(aws.client("ssm"))
    for _ in range(2):
        stubber.add_client_error("get_parameters", "ThrottlingException", "slow")
    # WHEN / THEN both readers raise a retryable error naming the base path
    with stubber, pytest.raises(RetryableError, match="/tenantOps-test/x"):
        config.load_tenant("/tenantOps-test/x")
    with stubber, pytest.raises(RetryableError, match="/tenantOps-test/x"):
        config.load_tenant_url("/tenantOps-test/x")


def _count_reads() -> list[list[str]]:
    """The Names of every GetParameters call the shared SSM client makes from now on."""
    from shared import aws

    calls: list[list[str]] = []
    aws.client("ssm").meta.events.register(
        "before-parameter-build.ssm.GetParameters", lambda params, **_: calls.append(list(params["Names"]))
    )
    return calls


def test_load_tenant_reads_every_name_in_one_call_then_from_the_cache(aws_mock, monkeypatch):
    import boto3

    base = seed_tenant(boto3.client("ssm"), "https://t.test", "tok-secret-value", idm_type="SSO")
    calls = _count_reads()
    now = [1000.0]
    monkeypatch.setattr(config, "_clock", lambda: now[0])
    # WHEN read twice inside the 300 s, then once after
    config.load_tenant(base, extra=("idm-type",))
    now[0] += config.SSM_CACHE_SECONDS - 1
    assert config.load_tenant(base, extra=("idm-type",)).params == {"idm-type": "SSO"}
    assert len(calls) == 1
    now[0] += 2
    config.load_tenant(base, extra=("idm-type",))
    # THEN one GetParameters per read that missed the cache, with every name at once
    every_name = sorted(f"{base}/{n}" for n in ("tenant-url", "token-value", "idm-type"))
    assert [sorted(c) for c in calls] == [every_name] * 2


def test_load_tenant_reads_only_the_names_not_cached(aws_mock, monkeypatch):
    import boto3

    base = seed_tenant(boto3.client("ssm"), "https://t.test", "tok-secret-value", idm_type="SSO")
    config.load_tenant(base)
    calls = _count_reads()
    assert config.load_tenant(base, extra=("idm-type",)).params == {"idm-type": "SSO"}
    assert calls == [[f"{base}/idm-type"]]


def test_load_tenant_url_and_decrypted_reads_are_cached_apart(aws_mock, monkeypatch):
    # GIVEN the URL read without decryption (udf_worker), then the tenant with it (a callee, warm)
    import boto3

    base = seed_tenant(boto3.client("ssm"), "https://t.test", "tok-secret-value")
    calls = _count_reads()
    config.load_tenant_url(base)
    config.load_tenant(base)
    config.load_tenant_url(base)
    # THEN a value read one way never answers the other
    assert calls == [[f"{base}/tenant-url"], [f"{base}/tenant-url", f"{base}/token-value"]]


def test_read_more_than_ten_names_takes_batches(aws_mock, monkeypatch):
    import boto3

    ssm = boto3.client("ssm")
    names = [f"p{i:02d}" for i in range(12)]
    for name in names:
        ssm.put_parameter(Name=f"/tenantOps-test/many/{name}", Value=name, Type="String")
    calls = _count_reads()
    read = config._read("/tenantOps-test/many", names, decrypt=False, force_fetch=False)
    assert read == {n: n for n in names}
    assert [len(c) for c in calls] == [10, 2]


def test_load_tenant_url_reads_only_the_url(aws_mock):
    import boto3

    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/tenantOps-test/y/tenant-url", Value=" https://t.test/ ", Type="String")
    # no token parameter exists: the URL alone is enough
    assert config.load_tenant_url("/tenantOps-test/y") == "https://t.test"
