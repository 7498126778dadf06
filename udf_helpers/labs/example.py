"""Example lab (`example-pre`): the same objects as the WAAP lab, a TLS pool to appedge.one and an
HTTPS load balancer at `https://<petname>.<domain>`.

Tenant decision. The example lab's configuration row points at the MCN tenant (`/tenantOps/mcn-lab`),
yet the original helper served the sec tenant's domain with the sec tenant's certificate and wrote the
sec tenant's id into both references. The defaults here keep today's names (`lab-sec[-dev].f5demos.com`,
`shared/lab-sec-wildcard[-dev]`) so that the drop-in changes nothing; the references no longer name a
tenant, so they resolve in the tenant that runs the lab. To make the lab consistent with the MCN tenant,
set `LAB_DOMAIN=lab-mcn[-dev].f5demos.com` and `LAB_CERT_NAME=lab-mcn-wildcard[-dev]` on
`tops-udf-helper-example-pre[-dev]` (cert_mgmt uploads that certificate to the MCN tenant's `shared`).
"""

from __future__ import annotations

from udf_helpers.engine import LabDefinition
from udf_helpers.function import lab_handler
from udf_helpers.labs import SEC_CERTIFICATE, SEC_DOMAIN, appedge_https_objects

DEFINITION = LabDefinition(
    name="example", domain=SEC_DOMAIN, certificate=SEC_CERTIFICATE, objects=appedge_https_objects
)
lambda_handler = lab_handler(DEFINITION)
