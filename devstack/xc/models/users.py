"""Users (docs/xc-api.md §7.2): ``user_roles`` create, list and update, groups, cascade_delete.

Users are keyed by email, case-insensitively; an update replaces the whole role set and group set.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.xc.errors import InvalidArgumentError, NotFoundError, error_for_status
from devstack.xc.models.base import _deleted_item, _parse_roles, _require_str, rfc3339
from devstack.xc.models.namespaces import NamespacesMixin

USER_IDM_TYPES: frozenset[str] = frozenset({"SSO", "VOLTERRA_MANAGED", "UNDEFINED"})
USER_TYPES: frozenset[str] = frozenset({"USER", "SERVICE", "DEBUG"})


@dataclass(slots=True)
class _User:
    email: str
    name: str
    first_name: str
    last_name: str
    idm_type: str
    user_type: str
    group_names: list[str]
    namespace_roles: list[dict[str, str]]
    uid: str
    created_at: float
    modified_at: float


class UsersMixin(NamespacesMixin):
    """The tenant's users; roles may name namespaces, checked when the settings ask for it."""

    _users: dict[str, _User]

    def _clear(self) -> None:
        super()._clear()
        self._users = {}

    def _parse_user_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        email = _require_str(body, "email")
        if "@" not in email:
            raise InvalidArgumentError("email", f"{email!r} is not an email address")
        first = _require_str(body, "first_name")
        last = _require_str(body, "last_name")
        idm_type = body.get("idm_type") or "SSO"
        if idm_type not in USER_IDM_TYPES:
            raise InvalidArgumentError("idm_type", f"{idm_type!r} is not one of {sorted(USER_IDM_TYPES)}")
        user_type = body.get("type") or "USER"
        if user_type not in USER_TYPES:
            raise InvalidArgumentError("type", f"{user_type!r} is not one of {sorted(USER_TYPES)}")
        roles = _parse_roles(body.get("namespace_roles"), "namespace_roles")
        groups = body.get("group_names") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise InvalidArgumentError("group_names", "must be a list of non-empty strings")
        name = body.get("name") or email
        if not isinstance(name, str):
            raise InvalidArgumentError("name", "must be a string")
        return {
            "email": email,
            "name": name,
            "first_name": first,
            "last_name": last,
            "idm_type": idm_type,
            "user_type": user_type,
            "namespace_roles": roles,
            "group_names": list(dict.fromkeys(groups)),
        }

    def _check_role_namespaces(self, roles: list[dict[str, str]]) -> None:
        if not self.config.validate_user_role_namespaces:
            return
        for index, role in enumerate(roles):
            if role["namespace"] not in self._namespaces:
                raise InvalidArgumentError(
                    f"namespace_roles[{index}].namespace", f"namespace {role['namespace']!r} does not exist"
                )

    def _user_item(self, user: _User) -> dict[str, Any]:
        return {
            "email": user.email,
            "name": user.name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "namespace": "system",
            "tenant": self.tenant,
            "tenant_type": "ENTERPRISE",
            "idm_type": user.idm_type,
            "type": user.user_type,
            "group_names": list(user.group_names),
            "namespace_roles": copy.deepcopy(user.namespace_roles),
            "disabled": False,
            "domain_owner": False,
            "otp_enabled": False,
            "sync_mode": "SELF",
            "creation_timestamp": rfc3339(user.created_at),
            "last_login_timestamp": None,
        }

    def _user_object(self, user: _User) -> dict[str, Any]:
        return {
            "metadata": self._stored_metadata({"name": user.name, "uid": user.uid}, "system"),
            "spec": {
                "gc_spec": {
                    "email": user.email,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "idm_type": user.idm_type,
                    "type": user.user_type,
                    "groups": list(user.group_names),
                    "namespace_roles": copy.deepcopy(user.namespace_roles),
                }
            },
            "system_metadata": self._system_metadata(user.uid, user.created_at, user.modified_at, ""),
        }

    def _find_user(self, email: str) -> _User:
        user = self._users.get(email.lower())
        if user is None:
            raise NotFoundError(f"user {email} not found")
        return user

    def list_user_roles(self) -> dict[str, Any]:
        """``GET /api/web/custom/namespaces/system/user_roles``: every user, consistent at once."""
        with self._lock:
            return {"items": [self._user_item(u) for u in self._users.values()], "errors": []}

    def create_user_roles(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../user_roles``: duplicate email answers ``duplicate_user_status`` with a
        message containing "already exist" (``duplicate_user_message``)."""
        request = self._parse_user_request(body)
        with self._lock:
            key = request["email"].lower()
            if key in self._users:
                message = self.config.duplicate_user_message.format(email=request["email"])
                raise error_for_status(self.config.duplicate_user_status, message)
            self._check_role_namespaces(request["namespace_roles"])
            now = self._now()
            user = _User(uid=str(uuid.uuid4()), created_at=now, modified_at=now, **request)
            self._users[key] = user
            return self._user_object(user)

    def update_user_roles(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../user_roles``: replaces names, the role set and the group set; 404 if unknown."""
        request = self._parse_user_request(body)
        with self._lock:
            user = self._find_user(request["email"])
            self._check_role_namespaces(request["namespace_roles"])
            user.first_name = request["first_name"]
            user.last_name = request["last_name"]
            user.idm_type = request["idm_type"]
            user.user_type = request["user_type"]
            user.namespace_roles = request["namespace_roles"]
            user.group_names = request["group_names"]
            user.modified_at = self._now()
            return self._user_object(user)

    def _user_by_username(self, username: str) -> _User:
        for user in self._users.values():
            if user.name == username or user.email.lower() == username.lower():
                return user
        raise NotFoundError(f"user {username} not found")

    def add_user_groups(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../users/group_add`` ``{username, group_names}``."""
        username = _require_str(body, "username")
        groups = body.get("group_names") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise InvalidArgumentError("group_names", "must be a list of strings")
        with self._lock:
            user = self._user_by_username(username)
            user.group_names = list(dict.fromkeys([*user.group_names, *groups]))
            user.modified_at = self._now()
            return {}

    def remove_user_groups(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../users/group_remove`` ``{username, group_names}``."""
        username = _require_str(body, "username")
        groups = body.get("group_names") or []
        if not isinstance(groups, list):
            raise InvalidArgumentError("group_names", "must be a list of strings")
        with self._lock:
            user = self._user_by_username(username)
            user.group_names = [g for g in user.group_names if g not in groups]
            user.modified_at = self._now()
            return {}

    def cascade_delete_user(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../users/cascade_delete`` ``{email, namespace}``.

        An unknown email answers ``unknown_user_delete_status`` (404/5 by default); set it
        to 200 to answer ``{delete_ok: false, items: []}`` instead.
        """
        email = _require_str(body, "email")
        with self._lock:
            user = self._users.pop(email.lower(), None)
            if user is None:
                status = self.config.unknown_user_delete_status
                if status == 200:
                    return {"delete_ok": False, "items": []}
                raise error_for_status(status, f"user {email} not found")
            return {"delete_ok": True, "items": [_deleted_item(user.name, "user", user.uid)]}

    def user(self, email: str) -> dict[str, Any] | None:
        """Test helper: a user's list item, or None."""
        with self._lock:
            user = self._users.get(email.lower())
            return self._user_item(user) if user else None
