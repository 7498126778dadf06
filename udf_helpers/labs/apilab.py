"""API lab (`apilab-pre`, sec tenant): a plain-HTTP pool to the bank API and an HTTPS load balancer
with malicious-user detection at `https://<petname>.lab-sec[-dev].f5demos.com`."""

from __future__ import annotations

from collections.abc import Sequence

from udf_helpers.engine import LabContext, LabDefinition, LabObject
from udf_helpers.function import lab_handler
from udf_helpers.labs import (
    POOL_DEFAULTS,
    SEC_CERTIFICATE,
    SEC_DOMAIN,
    http_loadbalancer,
    https_listener,
    public_pool,
)


def _objects(lab: LabContext) -> Sequence[LabObject]:
    pool = public_pool(lab, "bankapi.lab-sec.f5demos.com", port=80, **POOL_DEFAULTS)
    https = {"https": https_listener(lab.certificate_ref())}
    return [pool, http_loadbalancer(lab, pool, https, enable_malicious_user_detection={})]


DEFINITION = LabDefinition(name="apilab", domain=SEC_DOMAIN, certificate=SEC_CERTIFICATE, objects=_objects)
lambda_handler = lab_handler(DEFINITION)
