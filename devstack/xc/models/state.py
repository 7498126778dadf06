"""``XCState``: one fake XC tenant, the families of ``models/`` mixed over one base.

The public methods are named after the XC API operations, take parsed JSON bodies and return
JSON-ready dicts; they raise the typed errors of ``devstack.xc.errors``. Facts come from
``docs/xc-api.md``; behaviour tagged [inferred] there is a switch or a value in ``XCConfig``.
What spans families (``whoami``, ``dump``) lives here.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from devstack.xc.models.base import _role_map
from devstack.xc.models.credentials import CredentialsMixin, Identity
from devstack.xc.models.objects import ObjectsMixin
from devstack.xc.models.users import UsersMixin


class XCState(CredentialsMixin, UsersMixin, ObjectsMixin):
    """One fake XC tenant: all state and rules, thread-safe (one lock), no HTTP."""

    def whoami(self, identity: Identity) -> dict[str, Any]:
        """``GET /api/web/custom/namespaces/system/whoami``: the caller's user detail."""
        with self._lock:
            user = self._users.get(identity.email.lower())
            roles: list[dict[str, str]]
            if user is not None:
                roles = copy.deepcopy(user.namespace_roles)
                groups = list(user.group_names)
                first, last, idm = user.first_name, user.last_name, user.idm_type
            elif identity.credential and identity.credential[0] == "service_credentials":
                credential = self._credentials[identity.credential]
                roles = copy.deepcopy(credential.namespace_roles)
                groups = list(credential.user_group_names)
                first, last, idm = "", "", "VOLTERRA_MANAGED"
            else:
                roles = [{"namespace": "system", "role": "ves-io-admin-role"}]
                groups = []
                first, last, idm = "Devstack", "Admin", "VOLTERRA_MANAGED"
        return {
            "email": identity.email,
            "name": identity.email,
            "first_name": first,
            "last_name": last,
            "tenant": self.tenant,
            "tenant_type": "ENTERPRISE",
            "namespace_roles": roles,
            "namespace_access": {"namespace_role_map": _role_map(roles)},
            "group_names": groups,
            "idm_type": idm,
            "type": identity.user_type,
            "state": "StateActive",
            "plan_type": "ENTERPRISE",
        }

    def dump(self) -> dict[str, Any]:
        """Everything except tokens and key material, for ``GET /_emulator/state``."""
        with self._lock:
            mono = self._mono()
            return {
                "tenant": self.tenant,
                "namespaces": [
                    {
                        "name": ns.name,
                        "uid": ns.uid,
                        "builtin": ns.builtin,
                        "visible": mono >= ns.visible_at,
                        "deleting": ns.deleting_since is not None,
                    }
                    for ns in self._namespaces.values()
                ],
                "objects": {
                    ns: {
                        plural: [
                            {
                                "name": o.name,
                                "uid": o.uid,
                                "visible": mono >= o.visible_at,
                                "spec": copy.deepcopy(o.spec),
                            }
                            for o in objects.values()
                        ]
                        for plural, objects in by_plural.items()
                        if objects
                    }
                    for ns, by_plural in self._objects.items()
                },
                "users": [self._user_item(u) for u in self._users.values()],
                "credentials": [
                    {"kind": c.kind, **self._credential_item(c)} for c in self._credentials.values()
                ],
                "config": dataclasses.asdict(self.config),
            }
