"""Thin Werkzeug routing: parse the request, call ``XCState``, serialise the answer.

``/api/...`` is the fake XC tenant (auth, faults, latency and the request log apply);
``/_emulator/...`` is the unauthenticated admin API for tests and devstack scripts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.xc.errors import (
    InvalidArgumentError,
    MethodNotAllowedError,
    NotFoundError,
    XCAPIError,
    error_body,
)
from devstack.xc.faults import FaultAction, Faults
from devstack.xc.models import Identity, XCState

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

AUTH_SCHEME = "APIToken "
CUSTOM_NAMESPACES = frozenset({"system", "shared"})
_CRED_KINDS = "any(api_credentials, service_credentials)"
# A transport with no socket (devstack/xc/inprocess.py) puts a callable under this WSGI environ key;
# a dropped connection calls it instead of closing the socket.
DROP_HOOK = "devstack.xc.drop"

Handler = Callable[..., Any]


def _rules() -> list[Rule]:
    custom = "/api/web/custom/namespaces/<ns>"
    web_ns = "/api/web/namespaces"
    config = "/api/config/namespaces/<ns>/<plural>"
    return [
        Rule(f"{custom}/whoami", endpoint="whoami", methods=["GET"]),
        Rule(f"{custom}/user_roles", endpoint="list_user_roles", methods=["GET"]),
        Rule(f"{custom}/user_roles", endpoint="create_user_roles", methods=["POST"]),
        Rule(f"{custom}/user_roles", endpoint="update_user_roles", methods=["PUT"]),
        Rule(f"{custom}/user_roles/<name>", endpoint="update_user_roles", methods=["POST"]),
        Rule(f"{custom}/users/cascade_delete", endpoint="cascade_delete_user", methods=["POST"]),
        Rule(f"{custom}/users/group_add", endpoint="add_user_groups", methods=["PUT"]),
        Rule(f"{custom}/users/group_remove", endpoint="remove_user_groups", methods=["PUT"]),
        Rule(web_ns, endpoint="list_namespaces", methods=["GET"]),
        Rule(web_ns, endpoint="create_namespace", methods=["POST"]),
        Rule(f"{web_ns}/<name>", endpoint="get_namespace", methods=["GET"]),
        Rule(f"{web_ns}/<name>/cascade_delete", endpoint="cascade_delete_namespace", methods=["POST"]),
        Rule(f"{web_ns}/<ns>/<{_CRED_KINDS}:kind>", endpoint="list_credentials", methods=["GET"]),
        Rule(f"{web_ns}/<ns>/<{_CRED_KINDS}:kind>", endpoint="create_credential", methods=["POST"]),
        Rule(f"{web_ns}/<ns>/<{_CRED_KINDS}:kind>/<name>", endpoint="get_credential", methods=["GET"]),
        Rule(
            f"{web_ns}/<ns>/<any(renew, revoke, activate):action>/<{_CRED_KINDS}:kind>",
            endpoint="credential_action",
            methods=["POST"],
        ),
        Rule(config, endpoint="list_objects", methods=["GET"]),
        Rule(config, endpoint="create_object", methods=["POST"]),
        Rule(f"{config}/<name>", endpoint="get_object", methods=["GET"]),
        Rule(f"{config}/<name>", endpoint="replace_object", methods=["PUT"]),
        Rule(f"{config}/<name>", endpoint="delete_object", methods=["DELETE"]),
    ]


def _admin_rules() -> list[Rule]:
    return [
        Rule("/_emulator/health", endpoint="health", methods=["GET"]),
        Rule("/_emulator/faults", endpoint="list_faults", methods=["GET"]),
        Rule("/_emulator/faults", endpoint="add_faults", methods=["POST"]),
        Rule("/_emulator/faults", endpoint="clear_faults", methods=["DELETE"]),
        Rule("/_emulator/config", endpoint="get_config", methods=["GET"]),
        Rule("/_emulator/config", endpoint="set_config", methods=["POST"]),
        Rule("/_emulator/requests", endpoint="list_requests", methods=["GET"]),
        Rule("/_emulator/requests", endpoint="clear_requests", methods=["DELETE"]),
        Rule("/_emulator/state", endpoint="dump_state", methods=["GET"]),
        Rule("/_emulator/reset", endpoint="reset", methods=["POST"]),
        Rule("/_emulator/tokens", endpoint="add_token", methods=["POST"]),
        Rule("/_emulator/credentials", endpoint="seed_credential", methods=["POST"]),
    ]


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


def _error_response(error: XCAPIError) -> Response:
    return json_response(error.status, error.body(), error.headers)


def _fault_response(action: FaultAction) -> Response:
    if isinstance(action.body, str):
        return Response(action.body, status=action.status, headers=action.headers, mimetype="text/plain")
    return json_response(action.status, action.body, action.headers)


def _parse_json(request: Request) -> Any:
    """The JSON body, None when empty; 400 when it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidArgumentError("body", "is not valid JSON") from exc


def _body_object(request: Request) -> dict[str, Any]:
    body = _parse_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidArgumentError("body", "must be a JSON object")
    return body


def _log_body(request: Request) -> Any:
    """The body for the request log: its JSON, or its text when it is not JSON."""
    try:
        return _parse_json(request)
    except InvalidArgumentError:
        return request.get_data(cache=True).decode("utf-8", errors="replace")


def _token(request: Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None or not header.startswith(AUTH_SCHEME):
        return None
    return header[len(AUTH_SCHEME) :] or None


def _custom_namespace(ns: str) -> None:
    # Namespace-slug enforcement on custom endpoints (docs/xc-api.md §1.2).
    if ns not in CUSTOM_NAMESPACES:
        raise InvalidArgumentError("namespace", f"custom APIs accept only 'system' or 'shared', not {ns!r}")


def _drop_connection(request: Request) -> None:
    hook = request.environ.get(DROP_HOOK)
    if callable(hook):  # in process: no socket to close, the transport raises instead
        hook()
        return
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class XCApp:
    """The WSGI application over one ``XCState`` and one ``Faults``."""

    def __init__(self, state: XCState, faults: Faults) -> None:
        self.state = state
        self.faults = faults
        self._api = Map(_rules(), strict_slashes=False, merge_slashes=False)
        self._admin = Map(_admin_rules(), strict_slashes=False)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/api/"):
            response = self._serve_api(request)
        elif request.path.startswith("/_emulator"):
            response = self._serve_admin(request)
        else:
            response = _error_response(NotFoundError(f"no route for {request.path}"))
        return response(environ, start_response)

    # ------------------------------------------------------------------ /api

    def _serve_api(self, request: Request) -> Response:
        clock = self.state.clock
        started_wall = clock.time()
        started = clock.monotonic()
        logged_body = _log_body(request)
        self.faults.apply_latency()
        action = self.faults.check(request.method, request.path)
        fault: str | None = None
        if action is not None and action.drop:
            _drop_connection(request)
            response = Response(b"", status=500)
            status, fault = 0, action.reason
        elif action is not None and not action.after:
            response = _fault_response(action)
            status, fault = action.status, action.reason
        else:
            response = self._handle_api(request)
            status = response.status_code
            if action is not None:
                response = _fault_response(action)
                status, fault = action.status, action.reason
        self.faults.record(
            request.method,
            request.path,
            dict(request.args.items()),
            logged_body,
            status,
            started=started_wall,
            duration_ms=(clock.monotonic() - started) * 1000,
            fault=fault,
        )
        return response

    def _handle_api(self, request: Request) -> Response:
        try:
            identity = self.state.authenticate(_token(request))
            endpoint, values = self._api.bind_to_environ(request.environ).match()
            handler: Handler = getattr(self, f"_api_{endpoint}")
            return json_response(200, handler(request, identity, **values))
        except XCAPIError as exc:
            return _error_response(exc)
        except MethodNotAllowed:
            return _error_response(MethodNotAllowedError(f"{request.method} not allowed on {request.path}"))
        except NotFound:
            return _error_response(NotFoundError(f"no route for {request.method} {request.path}"))
        except Exception as exc:  # a bug in the emulator must still answer like XC
            log.exception("XC emulator failed on %s %s", request.method, request.path)
            return json_response(500, error_body(500, f"emulator error: {type(exc).__name__}: {exc}"))

    # users and whoami

    def _api_whoami(self, request: Request, identity: Identity, ns: str) -> Any:
        _custom_namespace(ns)
        return self.state.whoami(identity)

    def _api_list_user_roles(self, request: Request, identity: Identity, ns: str) -> Any:
        _custom_namespace(ns)
        return self.state.list_user_roles()

    def _api_create_user_roles(self, request: Request, identity: Identity, ns: str) -> Any:
        _custom_namespace(ns)
        return self.state.create_user_roles(_body_object(request))

    def _api_update_user_roles(self, request: Request, identity: Identity, ns: str, name: str = "") -> Any:
        _custom_namespace(ns)
        return self.state.update_user_roles(_body_object(request))

    def _api_cascade_delete_user(self, request: Request, identity: Identity, ns: str) -> Any:
        _custom_namespace(ns)
        return self.state.cascade_delete_user(_body_object(request))

    def _api_add_user_groups(self, request: Request, identity: Identity, ns: str) -> Any:
        _custom_namespace(ns)
        return self.state.add_user_groups(_body_object(request))

    def _api_remove_user_groups(self, request: Request, identity: Identity, ns: str) -> Any:
        _custom_namespace(ns)
        return self.state.remove_user_groups(_body_object(request))

    # namespaces

    def _api_list_namespaces(self, request: Request, identity: Identity) -> Any:
        return self.state.list_namespaces(report_fields=_wants_full(request))

    def _api_create_namespace(self, request: Request, identity: Identity) -> Any:
        return self.state.create_namespace(_body_object(request), creator=identity.email)

    def _api_get_namespace(self, request: Request, identity: Identity, name: str) -> Any:
        return self.state.get_namespace(name)

    def _api_cascade_delete_namespace(self, request: Request, identity: Identity, name: str) -> Any:
        # The name comes from the path; the body (the original client sends {"name:": ...}) is ignored.
        return self.state.cascade_delete_namespace(name)

    # credentials

    def _api_list_credentials(self, request: Request, identity: Identity, ns: str, kind: str) -> Any:
        return self.state.list_credentials(kind)

    def _api_create_credential(self, request: Request, identity: Identity, ns: str, kind: str) -> Any:
        return self.state.create_credential(kind, _body_object(request), caller=identity)

    def _api_get_credential(self, request: Request, identity: Identity, ns: str, kind: str, name: str) -> Any:
        return self.state.get_credential(kind, name)

    def _api_credential_action(
        self, request: Request, identity: Identity, ns: str, action: str, kind: str
    ) -> Any:
        body = _body_object(request)
        if action == "renew":
            return self.state.renew_credential(kind, body)
        if action == "revoke":
            return self.state.revoke_credential(kind, body)
        return self.state.activate_credential(kind, body)

    # config objects

    def _api_list_objects(self, request: Request, identity: Identity, ns: str, plural: str) -> Any:
        return self.state.list_objects(ns, plural, report_fields=_wants_full(request))

    def _api_create_object(self, request: Request, identity: Identity, ns: str, plural: str) -> Any:
        return self.state.create_object(ns, plural, _body_object(request), creator=identity.email)

    def _api_get_object(self, request: Request, identity: Identity, ns: str, plural: str, name: str) -> Any:
        return self.state.get_object(ns, plural, name)

    def _api_replace_object(
        self, request: Request, identity: Identity, ns: str, plural: str, name: str
    ) -> Any:
        return self.state.replace_object(ns, plural, name, _body_object(request))

    def _api_delete_object(
        self, request: Request, identity: Identity, ns: str, plural: str, name: str
    ) -> Any:
        return self.state.delete_object(ns, plural, name, _body_object(request) or None)

    # ------------------------------------------------------------------ /_emulator

    def _serve_admin(self, request: Request) -> Response:
        try:
            endpoint, values = self._admin.bind_to_environ(request.environ).match()
            handler: Handler = getattr(self, f"_admin_{endpoint}")
            return json_response(200, handler(request, **values))
        except XCAPIError as exc:
            return _error_response(exc)
        except (ValueError, TypeError, KeyError) as exc:
            return _error_response(InvalidArgumentError("body", str(exc)))
        except MethodNotAllowed:
            return _error_response(MethodNotAllowedError(f"{request.method} not allowed on {request.path}"))
        except NotFound:
            return _error_response(NotFoundError(f"no admin route {request.path}"))

    def _admin_health(self, request: Request) -> Any:
        return {"status": "ok", "tenant": self.state.tenant}

    def _admin_list_faults(self, request: Request) -> Any:
        return {"items": self.faults.pending()}

    def _admin_add_faults(self, request: Request) -> Any:
        body = _body_object(request)
        specs = body.get("faults", [body])
        rules = []
        for spec in specs:
            status = spec.get("status")
            if status == "drop":
                status = 0
            elif isinstance(status, list):
                status = [0 if s == "drop" else s for s in status]
            rules.append(
                self.faults.add(
                    spec.get("method", "*"),
                    spec.get("path", ".*"),
                    status,
                    count=spec.get("count", 1),
                    retry_after=spec.get("retry_after"),
                    body=spec.get("body"),
                    after=bool(spec.get("after", False)),
                ).to_dict()
            )
        return {"items": rules}

    def _admin_clear_faults(self, request: Request) -> Any:
        self.faults.clear()
        return {}

    def _config(self) -> dict[str, Any]:
        rate = self.faults.rate_limit
        return {
            **dataclasses.asdict(self.state.config),
            "latency_ms": self.faults.latency_ms,
            "rate_limit": None if rate is None else {"calls": rate[0], "window_s": rate[1]},
        }

    def _admin_get_config(self, request: Request) -> Any:
        return self._config()

    def _admin_set_config(self, request: Request) -> Any:
        body = _body_object(request)
        latency = body.pop("latency_ms", None)
        has_rate = "rate_limit" in body
        rate = body.pop("rate_limit", None)
        if rate is not None and not isinstance(rate, dict):
            raise InvalidArgumentError("rate_limit", "must be {calls, window_s} or null")
        self.state.configure(**body)
        if latency is not None:
            self.faults.latency_ms = latency
        if has_rate:
            if rate is None:
                self.faults.set_rate_limit(None)
            else:
                self.faults.set_rate_limit(rate["calls"], float(rate.get("window_s", 1.0)))
        return self._config()

    def _admin_list_requests(self, request: Request) -> Any:
        return {"items": [dataclasses.asdict(entry) for entry in self.faults.requests]}

    def _admin_clear_requests(self, request: Request) -> Any:
        self.faults.clear_requests()
        return {}

    def _admin_dump_state(self, request: Request) -> Any:
        return self.state.dump()

    def _admin_reset(self, request: Request) -> Any:
        self.state.reset()
        self.faults.reset()
        return {}

    def _admin_add_token(self, request: Request) -> Any:
        body = _body_object(request)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise InvalidArgumentError("token", "is required")
        email = body.get("email")
        if email is None:
            self.state.add_token(token)
        else:
            self.state.add_token(token, email=str(email))
        return {}

    def _admin_seed_credential(self, request: Request) -> Any:
        body = _body_object(request)
        kwargs: dict[str, Any] = {}
        if body.get("type"):
            kwargs["cred_type"] = body["type"]
        if body.get("user_email"):
            kwargs["user_email"] = body["user_email"]
        self.state.seed_credential(
            body["kind"],
            body["name"],
            body.get("token"),
            float(body["expires_at"]),
            bool(body.get("active", True)),
            **kwargs,
        )
        info = self.state.credential(body["kind"], body["name"])
        return {"name": info.name, "kind": info.kind, "active": info.active, "expires_at": info.expires_at}


def _wants_full(request: Request) -> bool:
    return "report_fields" in request.args or "report_status_fields" in request.args
