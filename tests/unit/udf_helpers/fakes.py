"""A fake XCRequester for engine tests: config objects in memory, scripted visibility and errors."""

from __future__ import annotations

import copy
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from shared.deadline import Deadline
from shared.xc.errors import XCHTTPError, from_status

PREFIX = "/api/config/namespaces/"


@dataclass
class Call:
    method: str
    path: str
    json: Any
    idempotent: bool | None
    deadline: Deadline | None


@dataclass
class FakeXC:
    """Stores objects by (namespace, plural, name). `hidden[name] = n` makes the next n GETs of that
    object answer 404 after it exists; `errors[(method, name)]` queues statuses to answer instead."""

    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    hidden: dict[str, int] = field(default_factory=dict)
    errors: dict[tuple[str, str], deque[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def fail(self, method: str, name: str, status: int, *, code: int | None = None, times: int = 1) -> None:
        body = {"code": code, "details": [], "message": "injected"} if code is not None else {}
        self.errors.setdefault((method, name), deque()).extend([(status, body)] * times)

    def seed(self, namespace: str, plural: str, body: dict[str, Any]) -> None:
        self.objects[(namespace, plural, body["metadata"]["name"])] = self._stored(namespace, body)

    def ops(self) -> list[tuple[str, str]]:
        """(method, last path segment) of every call, for order assertions."""
        return [(c.method, c.path.rsplit("/", 1)[-1]) for c in self.calls]

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                idempotent: bool | None = None, timeout: Any = None, deadline: Deadline | None = None) -> Any:
        self.calls.append(Call(method, path, copy.deepcopy(json), idempotent, deadline))
        assert path.startswith(PREFIX), path
        parts = path[len(PREFIX):].split("/")
        namespace, plural = parts[0], parts[1]
        name = parts[2] if len(parts) > 2 else json["metadata"]["name"]
        queued = self.errors.get((method, name))
        if queued:
            status, body = queued.popleft()
            raise self._error(status, method, path, body)
        key = (namespace, plural, name)
        if method == "POST":
            if key in self.objects:
                raise self._error(409, method, path, {"code": 6, "message": "Object already exists"})
            self.objects[key] = self._stored(namespace, json)
            return copy.deepcopy(self.objects[key])
        if key not in self.objects:
            raise self._error(404, method, path, {"code": 5, "message": "not found"})
        if method == "GET":
            if self.hidden.get(name, 0) > 0:
                self.hidden[name] -= 1
                raise self._error(404, method, path, {"code": 5, "message": "not found"})
            found = copy.deepcopy(self.objects[key])
            found["system_metadata"] = {"uid": "u-1", "tenant": "t-1"}
            found["referring_objects"] = []
            return found
        if method == "PUT":
            self.objects[key] = self._stored(namespace, json)
            return copy.deepcopy(self.objects[key])
        if method == "DELETE":
            del self.objects[key]
            return {}
        raise AssertionError(method)

    @staticmethod
    def _stored(namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        metadata = {"labels": {}, "annotations": {}, "description": "", **copy.deepcopy(body["metadata"])}
        metadata["namespace"] = namespace
        return {"metadata": metadata, "spec": copy.deepcopy(body["spec"])}

    @staticmethod
    def _error(status: int, method: str, path: str, body: dict[str, Any]) -> XCHTTPError:
        url = "https://xc" + path
        return from_status(status)(status=status, method=method, url=url, body=json.dumps(body))
