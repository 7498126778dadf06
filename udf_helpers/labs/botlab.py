"""Bot lab (`botlab-pre`, sec tenant): a pool to the airline backend on port 80 and a plain-HTTP load
balancer at `http://<petname>.lab-sec[-dev].f5demos.com`.

The original sent the listener under the misspelt key `"http:"`, which the API ignores; this sends the
`http` one-of it meant. The certificate is unused (no TLS listener).
"""

from __future__ import annotations

from collections.abc import Sequence

from udf_helpers.engine import LabContext, LabDefinition, LabObject
from udf_helpers.function import lab_handler
from udf_helpers.labs import SEC_CERTIFICATE, SEC_DOMAIN, http_loadbalancer, public_pool


def _objects(lab: LabContext) -> Sequence[LabObject]:
    pool = public_pool(lab, "airline-backend.f5se.com", port=80)
    return [pool, http_loadbalancer(lab, pool, {"http": {"port": 80}})]


DEFINITION = LabDefinition(name="botlab", domain=SEC_DOMAIN, certificate=SEC_CERTIFICATE, objects=_objects)
lambda_handler = lab_handler(DEFINITION)
