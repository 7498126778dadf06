from __future__ import annotations

import pytest

from cert_mgmt.config import load_config
from shared.errors import ConfigError

ENV = {
    "SSM_BASE_PATH": "/tenantOps/sec-lab",
    "S3_BUCKET": "tops-cert-bucket",
    "CERT_NAME": "lab-sec-wildcard",
}


def test_load_config_deployed_variables_read():
    # GIVEN the three deployed variables / WHEN
    config = load_config(ENV)
    # THEN
    assert (config.ssm_base_path, config.bucket, config.cert_name) == (
        "/tenantOps/sec-lab",
        "tops-cert-bucket",
        "lab-sec-wildcard",
    )


def test_load_config_all_missing_named_together():
    # GIVEN nothing set
    with pytest.raises(ConfigError) as caught:
        load_config({})
    # THEN each variable is named
    assert len(caught.value.problems) == 3
    for name in ENV:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SSM_BASE_PATH", "tenantOps/sec-lab"),
        ("S3_BUCKET", "Tops_Cert_Bucket"),
        ("CERT_NAME", "Lab.Sec"),
    ],
)
def test_load_config_bad_value_names_variable(name, value):
    # GIVEN one bad value
    with pytest.raises(ConfigError) as caught:
        load_config({**ENV, name: value})
    # THEN the problem names that variable only
    assert len(caught.value.problems) == 1
    assert name in caught.value.problems[0]
