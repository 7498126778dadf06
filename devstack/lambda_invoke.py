"""A loopback endpoint speaking the Lambda Invoke API, running the named handler in this process.

Point boto3 at it with `AWS_ENDPOINT_URL_LAMBDA=<server.url>`; the workers' real `lambda.invoke`
path is then exercised end to end (request signing, payload encoding, `FunctionError`).

- `POST /2015-03-31/functions/{FunctionName}/invocations`, FunctionName a name or an ARN (a
  qualifier is accepted and ignored). `X-Amz-Invocation-Type`: `RequestResponse` (default: 200 with
  the handler's JSON result), `Event` (202, run in a thread), `DryRun` (204).
- A handler that raises answers 200 with `X-Amz-Function-Error: Unhandled` and
  `{errorMessage, errorType, stackTrace}`, as Lambda does; one that runs past its timeout answers a
  "Task timed out" error the same way (after it finished: the handler is not interrupted).
- An unknown function answers 404 `ResourceNotFoundException`; a payload that is not JSON 400
  `InvalidRequestContentException`.

Routes map a function name to a handler module path (`"ns_create.function"`) or to a callable
`handler(event, context)`. A name is resolved exactly, then with trailing `-<word>` parts removed one
at a time, so `tops-ns-create-dev` and `tops-acme-client-mcn` find `tops-ns-create` and
`tops-acme-client`. `default_routes()` builds them from deployables.toml and the deployed names
(docs/deployment.md §2). Handlers share this process's environment variables.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import tomllib
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from devstack.serving import serve_in_background, stop_serving

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]
Route = str | Handler

INVOKE_PREFIX: Final = "/2015-03-31/functions/"
DEFAULT_ACCOUNT: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
MANIFEST: Final = Path(__file__).resolve().parent.parent / "deployables.toml"
# Deployed function names that are not `tops-` + the deployable name with '-' for '_'.
_DEPLOYED_NAMES: Final = {"udf_clean": "tops-udf-cleaner"}
_PER_TENANT: Final = frozenset({"acme_client", "cert_mgmt", "token_refresh"})
_LONG_TIMEOUTS: Final = {"acme_client": 180.0}


def function_name_for(deployable: str) -> str:
    """The deployed prod function name of a deployable (per-tenant ones without their `-<t>`)."""
    if deployable in _DEPLOYED_NAMES:
        return _DEPLOYED_NAMES[deployable]
    if deployable.endswith("-pre"):
        return f"tops-udf-helper-{deployable}"
    return "tops-" + deployable.replace("_", "-")


def default_routes(manifest: Path = MANIFEST) -> dict[str, str]:
    """Function name -> handler module, for every deployable in the manifest."""
    data = tomllib.loads(manifest.read_text())
    return {function_name_for(d["name"]): d["module"] for d in data.get("deployable", [])}


def default_timeouts(manifest: Path = MANIFEST) -> dict[str, float]:
    data = tomllib.loads(manifest.read_text())
    return {
        function_name_for(d["name"]): _LONG_TIMEOUTS[d["name"]]
        for d in data.get("deployable", [])
        if d["name"] in _LONG_TIMEOUTS
    }


def split_function(function: str) -> tuple[str, str | None]:
    """(name, qualifier) of a function name or ARN (`arn:aws:lambda:<region>:<acct>:function:<name>[:q]`)."""
    if function.startswith("arn:"):
        parts = function.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6], (parts[7] if len(parts) > 7 else None)
    name, _, qualifier = function.partition(":")
    return name, qualifier or None


@dataclass
class InvokeContext:
    """The Lambda context a handler gets: its remaining time counts down from `timeout_s`."""

    function_name: str
    timeout_s: float = 60.0
    memory_limit_in_mb: int = 128
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"devstack/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True, slots=True)
class Invocation:
    """One handled invoke, for assertions: `error` is the errorType and `message` the errorMessage
    when the handler failed."""

    function: str
    route: str
    payload: Any
    result: Any
    error: str | None
    duration_s: float
    message: str | None = None


class UnknownFunctionError(LookupError):
    pass


class Registry:
    """Resolves function names to handlers, importing modules on first use."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        timeout_s: float = 60.0,
        timeouts: Mapping[str, float] | None = None,
    ) -> None:
        self._routes = dict(routes)
        self._timeout_s = timeout_s
        self._timeouts = dict(timeouts or {})
        self._loaded: dict[str, Handler] = {}
        self._lock = threading.Lock()

    def set(self, name: str, target: Route) -> None:
        """Route `name` to another handler from now on (a test wraps a worker to misbehave)."""
        with self._lock:
            self._routes[name] = target
            self._loaded.pop(name, None)

    def route(self, function: str) -> tuple[str, float]:
        """(route name, timeout) for a function name or ARN. Raises UnknownFunctionError."""
        name, _ = split_function(function)
        candidate = name
        while True:
            if candidate in self._routes:
                return candidate, self._timeouts.get(candidate, self._timeout_s)
            head, sep, _ = candidate.rpartition("-")
            if not sep or not head:
                raise UnknownFunctionError(function)
            candidate = head

    def handler(self, route: str) -> Handler:
        """The route's handler, importing its module on first use (an ImportError propagates)."""
        with self._lock:
            if route not in self._loaded:
                target = self._routes[route]
                if isinstance(target, str):
                    module = importlib.import_module(target)
                    handler: Handler = module.lambda_handler
                else:
                    handler = target
                self._loaded[route] = handler
            return self._loaded[route]


def _error_body(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


class LambdaInvokeServer:
    """The Invoke API on `http://<host>:<port>` (port 0 picks a free one); see the module docstring."""

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout_s: float = 60.0,
        timeouts: Mapping[str, float] | None = None,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        if routes is None:
            routes = default_routes()
            timeouts = {**default_timeouts(), **(timeouts or {})}
        self.registry = Registry(routes, timeout_s=timeout_s, timeouts=timeouts)
        self.host = host
        self.region = region
        self.account = account
        self._requested_port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self._invocations: list[Invocation] = []
        # Called with each Invocation once it is recorded (the local stack prints a line from it).
        self.on_invocation: Callable[[Invocation], None] | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LambdaInvokeServer is not running")
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def invocations(self) -> list[Invocation]:
        """Every handled invoke, oldest first (a copy)."""
        with self._log_lock:
            return list(self._invocations)

    def clear(self) -> None:
        with self._log_lock:
            self._invocations.clear()

    def start(self) -> LambdaInvokeServer:
        if self._server is not None:
            raise RuntimeError("LambdaInvokeServer is already running")
        owner = self

        class _Handler(_InvokeRequestHandler):
            server_owner = owner

        server = ThreadingHTTPServer((self.host, self._requested_port), _Handler)
        server.daemon_threads = True
        thread = serve_in_background(server, f"lambda-invoke-{server.server_port}")
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stop_serving(server, thread)

    def __enter__(self) -> LambdaInvokeServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def run(self, function: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        """Run a handler as an invoke would: (result, None) or (None, error body).

        Raises UnknownFunctionError.
        """
        route, timeout = self.registry.route(function)
        name, _ = split_function(function)
        context = InvokeContext(
            function_name=name, timeout_s=timeout, region=self.region, account=self.account
        )
        started = time.monotonic()
        result: Any = None
        error: dict[str, Any] | None = None
        try:
            handler = self.registry.handler(route)
        except Exception as exc:  # as Lambda reports a module that does not import
            error = _error_body(exc)
            error.update(
                errorType="Runtime.ImportModuleError",
                requestId=context.aws_request_id,
                errorMessage=f"Unable to import module for {route}: {exc}",
            )
        else:
            try:
                result = handler(event, context)
            except Exception as exc:  # the handler's failure is the caller's answer, not ours
                error = _error_body(exc)
                error["requestId"] = context.aws_request_id
            else:
                try:
                    json.dumps(result)
                except (TypeError, ValueError) as exc:
                    error = {
                        "errorMessage": f"Unable to marshal response: {exc}",
                        "errorType": "Runtime.MarshalError",
                        "requestId": context.aws_request_id,
                        "stackTrace": [],
                    }
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            error = {
                "errorMessage": f"Task timed out after {elapsed:.2f} seconds",
                "errorType": "Sandbox.Timedout",
                "requestId": context.aws_request_id,
                "stackTrace": [],
            }
        invocation = Invocation(
            function=function,
            route=route,
            payload=event,
            result=None if error else result,
            error=error["errorType"] if error else None,
            duration_s=elapsed,
            message=error["errorMessage"] if error else None,
        )
        with self._log_lock:
            self._invocations.append(invocation)
        if self.on_invocation is not None:
            try:
                self.on_invocation(invocation)
            except Exception:  # an observer must not turn a handled invoke into a failed one
                log.exception("on_invocation failed")
        return (None, error) if error else (result, None)


class _InvokeRequestHandler(BaseHTTPRequestHandler):
    server_owner: LambdaInvokeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not (path.startswith(INVOKE_PREFIX) and path.endswith("/invocations")):
            self._api_error(HTTPStatus.NOT_FOUND, "UnknownOperationException", f"unknown operation {path}")
            return
        function = unquote(path[len(INVOKE_PREFIX) : -len("/invocations")])
        owner = self.server_owner
        try:
            owner.registry.route(function)
        except UnknownFunctionError:
            arn = (
                function
                if function.startswith("arn:")
                else (f"arn:aws:lambda:{owner.region}:{owner.account}:function:{function}")
            )
            self._api_error(HTTPStatus.NOT_FOUND, "ResourceNotFoundException", f"Function not found: {arn}")
            return
        try:
            event = json.loads(raw) if raw.strip() else {}
        except ValueError:
            self._api_error(
                HTTPStatus.BAD_REQUEST,
                "InvalidRequestContentException",
                "Could not parse request body into json",
            )
            return
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            self._send(HTTPStatus.NO_CONTENT, b"")
            return
        if kind == "Event":
            threading.Thread(target=owner.run, args=(function, event), daemon=True).start()
            self._send(HTTPStatus.ACCEPTED, b"")
            return
        result, error = owner.run(function, event)
        if error is not None:
            self._send(HTTPStatus.OK, json.dumps(error).encode(), {"X-Amz-Function-Error": "Unhandled"})
        else:
            self._send(HTTPStatus.OK, json.dumps(result).encode())

    def _api_error(self, status: HTTPStatus, code: str, message: str) -> None:
        body = json.dumps({"__type": code, "Type": "User", "message": message}).encode()
        self._send(status, body, {"x-amzn-ErrorType": code})

    def _send(self, status: HTTPStatus, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Amz-Executed-Version", "$LATEST")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)
