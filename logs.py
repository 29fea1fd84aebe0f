"""JSON logs without personal data: no IPs, no query strings (they carry JWTs), no tokens, secrets or names.

One line per request. Under the production server its access line is that line: the server marks the request
(`SERVER_LOGS_REQUEST` in the WSGI environ) and reads the app's fields back from `REQUEST_FIELDS` after the
response, so a request costs one log write instead of two (deploy/gunicorn_logging.py). Elsewhere (`flask run`,
tests) the app writes the line itself.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

# Only these `extra` fields reach the log line; anything else a caller passes is dropped.
SAFE_FIELDS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "tenant_id",
    "error",
    "error_code",
    "event",
    "attempt",
    "mails",
    "recipients",
    "stage",
)
QUERY = re.compile(r"\?[^\s\"]*")
LEADING_ADDRESS = re.compile(r"^\S+ - - \[[^\]]*\] ")
BEARER = re.compile(r"(JWT|Bearer)\s+[A-Za-z0-9._~+/=-]+")
# WSGI environ keys shared with the server that writes the access line (deploy/gunicorn_logging.py).
SERVER_LOGS_REQUEST = "pagemail.server_logs_request"
REQUEST_FIELDS = "pagemail.request_fields"
REQUEST_LOG = logging.getLogger("pagemail.request")


def scrub(text: str) -> str:
    return BEARER.sub(r"\1 [redacted]", QUERY.sub("", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for name in SAFE_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            # The class only: tracebacks may quote values (tokens, addresses) from local variables.
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, separators=(",", ":"))


class AccessLogFilter(logging.Filter):
    """Rewrites werkzeug's request lines: drops the client address and every query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = LEADING_ADDRESS.sub("", record.getMessage())
        record.msg, record.args = scrub(message), ()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_pagemail", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._pagemail = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, AccessLogFilter) for f in werkzeug.filters):
        werkzeug.addFilter(AccessLogFilter())
    werkzeug.propagate = True
    werkzeug.handlers.clear()


def write_request_line(
    environ: dict[str, Any],
    method: str,
    route: str,
    status: int,
    *,
    tenant_id: int | None,
    started: float | None,
    error_code: str | None = None,
) -> None:
    """The request's log line, or its fields handed to the server that writes it (see above)."""
    fields: dict[str, Any] = {"route": route, "tenant_id": tenant_id, "error_code": error_code}
    if environ.get(SERVER_LOGS_REQUEST):
        environ[REQUEST_FIELDS] = fields  # the server's access line carries them, with its own timing
        return
    fields["method"] = method
    fields["status"] = status
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1) if started else None
    REQUEST_LOG.info("request", extra=fields)


def install_request_logging(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        identity = g.get("identity")
        rule = request.url_rule
        write_request_line(
            request.environ,
            request.method,
            rule.endpoint if rule else "unmatched",
            response.status_code,
            tenant_id=identity.tenant.id if identity else None,
            started=g.get("request_started"),
            error_code=g.get("error_code"),
        )
        return response
