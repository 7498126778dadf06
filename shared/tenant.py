"""Calling a tenant with the URL and token from SSM, re-reading a token that was refused once.

Every worker that talks to XC does it through `call_with_tenant`: read the tenant from SSM (cached
for 300 s), build an `XCClient`, run the worker's call, close the client. A 401 may mean the token
was rotated (token_refresh, an operator) while the old one sat in the cache, so SSM is read again,
bypassing the cache, and the call is made once more when the token changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from shared.config import Tenant, load_tenant
from shared.xc.client import XCClient
from shared.xc.errors import XCAuthError

log = logging.getLogger(__name__)

T = TypeVar("T")


def call_with_tenant(
    base_path: str,
    call: Callable[[Tenant, XCClient], T],
    *,
    extra: Sequence[str] = (),
    force_fetch: bool = False,
) -> T:
    """Run `call(tenant, xc)` for the tenant under `base_path`; return what it returns.

    `extra` names further SSM parameters to read (in `tenant.params`); `force_fetch` bypasses the
    cache on the first read too. After a 401, SSM is read again with `force_fetch=True` and `call`
    runs once more with a new client, but only when the token changed (the same token would be
    refused again). Raises ConfigError from the SSM reads,
    and whatever `call` raises: the second 401, or the first one when no new token was found.
    """
    tenant = load_tenant(base_path, extra, force_fetch=force_fetch)
    try:
        return _run(tenant, call)
    except XCAuthError as exc:
        if exc.status != 401:
            raise
        log.warning("401 from the tenant; reading the token from SSM again")
        fresh = load_tenant(base_path, extra, force_fetch=True)
        if fresh.token == tenant.token:
            raise
        return _run(fresh, call)


def _run(tenant: Tenant, call: Callable[[Tenant, XCClient], T]) -> T:
    with XCClient(tenant.url, tenant.token) as xc:
        return call(tenant, xc)
