"""cert_mgmt settings: the deployed `SSM_BASE_PATH`, `S3_BUCKET` and `CERT_NAME`; no new ones."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared import names
from shared.config import CERT_NAME, S3_BUCKET, SSM_BASE_PATH, EnvReader, ssm_base_path

# S3 bucket naming rules, loosely: 3-63 of lowercase letters, digits, '.', '-'.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class Config:
    ssm_base_path: str
    bucket: str  # the only bucket whose events are accepted
    cert_name: str  # the only certificate this function publishes (`<CERT_NAME>/` keys)


def load_config(environ: Mapping[str, str]) -> Config:
    """Read and check every setting; raise one ConfigError listing all problems."""
    env = EnvReader(environ)
    base = env.text(SSM_BASE_PATH)
    bucket = env.text(S3_BUCKET)
    cert_name = env.text(CERT_NAME)
    env.check(SSM_BASE_PATH, base, ssm_base_path)
    if bucket and not _BUCKET.match(bucket):
        env.problems.append(f"{S3_BUCKET} must be an S3 bucket name, got {bucket[:80]!r}")
    env.check(CERT_NAME, cert_name, names.dns_label)
    env.done()
    return Config(ssm_base_path=base, bucket=bucket, cert_name=cert_name)
