"""Settings of the lab helpers, read from the function's environment.

`ENV` is the deployed variable (`prod` or `dev`; only `dev` changes names: `-dev` domains and
certificates). `LAB_DOMAIN` and `LAB_CERT_NAME` are new and optional: they replace the lab's domain
base and certificate name verbatim (no `-dev` is added), for a lab that runs on a tenant other than
the one its default names belong to. Unset, every lab keeps the names the original helpers used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from shared import names
from shared.config import ENV, EnvReader

LAB_DOMAIN: Final = "LAB_DOMAIN"
LAB_CERT_NAME: Final = "LAB_CERT_NAME"

ENVIRONMENTS: Final = ("prod", "dev")


@dataclass(frozen=True, slots=True)
class HelperConfig:
    """`dev` picks the `-dev` names; `domain` and `cert_name`, when set, override the lab's defaults."""

    env: str
    domain: str | None = None
    cert_name: str | None = None

    @property
    def dev(self) -> bool:
        return self.env == "dev"


def load_config(environ: Mapping[str, str]) -> HelperConfig:
    """Read and validate the settings. Raises ConfigError listing every problem.

    `ENV` is required, as it was for the original helpers: guessing `prod` in a dev function would
    create objects under the production domain.
    """
    reader = EnvReader(environ)
    env = reader.text(ENV).lower()
    if env and env not in ENVIRONMENTS:
        reader.problems.append(f"{ENV} must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    domain = reader.text(LAB_DOMAIN, "").lower() or None
    reader.check(LAB_DOMAIN, domain, names.hostname)
    cert_name = reader.text(LAB_CERT_NAME, "") or None
    reader.check(LAB_CERT_NAME, cert_name, names.dns_label)
    reader.done()
    return HelperConfig(env=env, domain=domain, cert_name=cert_name)
