"""What passes through the sandbox's API surface (REST, downloads, media, OAuth): the request log that tests
read, and the place where injected latency and faults apply (a WSGI middleware around the Flask app).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.faults import FaultPlan, FaultRule

TRACKED_PREFIXES = ("/wiki/rest/", "/wiki/download/", "/media/", "/oauth/", "/ex/", "/google/")
# Entra's endpoints start with the tenant (`/{tenant}/oauth2/v2.0/token`): tracked by what follows it.
TRACKED_PARTS = ("/oauth2/v2.0/", "/v2.0/.well-known/")


def tracked(path: str) -> bool:
    return path.startswith(TRACKED_PREFIXES) or any(part in path for part in TRACKED_PARTS)


_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def auth_kind(authorization: str) -> str:
    scheme = authorization.strip().split(" ", 1)[0].lower()
    if not scheme:
        return "none"
    return scheme if scheme in ("jwt", "bearer", "basic") else "other"


class RequestLog:
    """The most recent requests, newest last (bounded; in memory only; no credentials, no `jwt` parameter)."""

    def __init__(self, limit: int = 5000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class TrafficMiddleware:
    def __init__(self, app: WSGIApp, faults: FaultPlan, log: RequestLog) -> None:
        self.app = app
        self.faults = faults
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not tracked(path):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        query = [
            (key, value)
            for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            if key != "jwt"
        ]
        entry: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": method,
            "path": path,
            "query": urlencode(query),
            "auth": auth_kind(authorization),
            "hadAuthorization": bool(authorization),
            "status": None,
            "accountId": None,
        }
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        rule = self.faults.take(method, path)
        if rule is not None:
            entry["fault"] = True
            if rule.drop_connection:
                entry["dropped"] = True
                self.log.add(entry)
                self._drop(environ)
            entry["status"] = rule.status
            self.log.add(entry)
            return self._fault_response(rule, start_response)

        def recording_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            entry["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            entry["accountId"] = environ.get("sandbox.account_id")
            self.log.add(entry)

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # werkzeug's server treats a ConnectionError as a client that went away: nothing is sent or logged.
        raise ConnectionAbortedError("fault injection: connection dropped")

    @staticmethod
    def _fault_response(rule: FaultRule, start_response: StartResponse) -> Iterable[bytes]:
        status = rule.status or 500
        body = json.dumps({"statusCode": status, "message": rule.message}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if rule.retry_after is not None:
            headers.append(("Retry-After", str(rule.retry_after)))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]
