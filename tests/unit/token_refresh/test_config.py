from __future__ import annotations

import pytest

from shared.config import Tenant
from shared.errors import ConfigError
from shared.secret import Secret
from token_refresh.config import (
    DEFAULT_METRICS_NAMESPACE,
    credential_from,
    load_config,
    tenant_label,
)

BASE = "/tenantOps-dev/sec-lab"


def _tenant(**params: str) -> Tenant:
    return Tenant(
        base_path=BASE,
        url="https://f5-xc-lab-sec.console.ves.volterra.io",
        token=Secret("tok-123456"),
        params=params,
    )


def test_load_config_defaults_renew_below_six_days_to_seven():
    # GIVEN only the deployed variable
    # WHEN
    config = load_config({"SSM_BASE_PATH": BASE})
    # THEN the defaults match the 12-hour schedule
    assert config.ssm_base_path == BASE
    assert config.renewal.threshold_days == 6.0
    assert config.renewal.expiration_days == 7
    assert config.metrics_namespace == DEFAULT_METRICS_NAMESPACE == "TenantOps"


def test_load_config_optional_settings_read():
    # GIVEN every optional setting
    env = {
        "SSM_BASE_PATH": BASE,
        "TOKEN_RENEW_THRESHOLD_DAYS": "2.5",
        "TOKEN_EXPIRATION_DAYS": "30",
        "POWERTOOLS_METRICS_NAMESPACE": "Ops",
    }
    # WHEN
    config = load_config(env)
    # THEN
    assert (config.renewal.threshold_days, config.renewal.expiration_days) == (2.5, 30)
    assert config.metrics_namespace == "Ops"


def test_load_config_missing_base_path_names_it():
    # GIVEN no SSM_BASE_PATH
    with pytest.raises(ConfigError) as caught:
        load_config({})
    # THEN
    assert any("SSM_BASE_PATH" in p for p in caught.value.problems)


def test_load_config_bad_values_listed_together():
    # GIVEN a bad path and two bad numbers
    env = {"SSM_BASE_PATH": "tenantOps", "TOKEN_RENEW_THRESHOLD_DAYS": "soon", "TOKEN_EXPIRATION_DAYS": "0"}
    # WHEN
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    # THEN every problem is named at once
    text = str(caught.value)
    assert "SSM_BASE_PATH" in text
    assert "TOKEN_RENEW_THRESHOLD_DAYS" in text
    assert "TOKEN_EXPIRATION_DAYS" in text


def test_load_config_threshold_not_below_expiration_rejected():
    # GIVEN a threshold that every renewal would stay under
    env = {"SSM_BASE_PATH": BASE, "TOKEN_RENEW_THRESHOLD_DAYS": "7", "TOKEN_EXPIRATION_DAYS": "7"}
    # WHEN / THEN
    with pytest.raises(ConfigError, match="TOKEN_RENEW_THRESHOLD_DAYS .* must be less than"):
        load_config(env)


@pytest.mark.parametrize(
    ("token_type", "kind"), [("svccred", "service_credentials"), ("apicred", "api_credentials")]
)
def test_credential_from_token_type_maps_kind(token_type, kind):
    # GIVEN valid SSM parameters
    # WHEN
    params = {"token-name": "tenant-operations-abcdefgh", "token-type": token_type}
    credential = credential_from(_tenant(**params))
    # THEN
    assert credential.kind == kind
    assert credential.name == "tenant-operations-abcdefgh"
    assert credential.name_parameter == f"{BASE}/token-name"
    assert credential.value_parameter == f"{BASE}/token-value"


def test_credential_from_bad_type_names_parameter_path():
    # GIVEN an unknown token-type
    with pytest.raises(ConfigError) as caught:
        credential_from(_tenant(**{"token-name": "x-1", "token-type": "apitoken"}))
    # THEN the full parameter path and the allowed values are named
    assert f"{BASE}/token-type" in str(caught.value)
    assert "apicred, svccred" in str(caught.value)


def test_credential_from_empty_name_and_type_both_named():
    # GIVEN both parameters blank
    with pytest.raises(ConfigError) as caught:
        credential_from(_tenant(**{"token-name": " ", "token-type": ""}))
    # THEN both are listed
    assert len(caught.value.problems) == 2
    assert f"{BASE}/token-name is empty" in str(caught.value)


def test_credential_from_bad_name_rejected():
    # GIVEN a name with a slash (it would change the request path)
    with pytest.raises(ConfigError, match="token-name must be an XC credential name"):
        credential_from(_tenant(**{"token-name": "a/b", "token-type": "svccred"}))


def test_tenant_label_first_host_label():
    # GIVEN / WHEN / THEN
    assert tenant_label("https://f5-xc-lab-sec.console.ves.volterra.io") == "f5-xc-lab-sec"
    assert tenant_label("http://127.0.0.1:8080") == "127.0.0.1"
