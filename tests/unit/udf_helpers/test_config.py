"""Helper settings: ENV (required, prod or dev) and the optional LAB_DOMAIN / LAB_CERT_NAME."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from udf_helpers.config import HelperConfig, load_config


@pytest.mark.parametrize(("value", "dev"), [("prod", False), ("dev", True), ("DEV", True), (" Prod ", False)])
def test_load_config_env(value, dev):
    config = load_config({"ENV": value})
    assert config.dev is dev
    assert config.domain is None and config.cert_name is None


def test_load_config_overrides():
    config = load_config(
        {"ENV": "dev", "LAB_DOMAIN": "Lab-MCN-dev.f5demos.com", "LAB_CERT_NAME": "lab-mcn-wildcard"}
    )
    assert config == HelperConfig(env="dev", domain="lab-mcn-dev.f5demos.com", cert_name="lab-mcn-wildcard")


def test_load_config_empty_overrides_mean_defaults():
    assert load_config({"ENV": "prod", "LAB_DOMAIN": " ", "LAB_CERT_NAME": ""}) == HelperConfig(env="prod")


def test_load_config_missing_env():
    with pytest.raises(ConfigError, match="ENV is required"):
        load_config({})


def test_load_config_lists_every_problem():
    with pytest.raises(ConfigError) as info:
        load_config({"ENV": "staging", "LAB_DOMAIN": "no_dots", "LAB_CERT_NAME": "Bad_Name"})
    problems = " | ".join(info.value.problems)
    assert len(info.value.problems) == 3
    assert "ENV" in problems and "LAB_DOMAIN" in problems and "LAB_CERT_NAME" in problems
