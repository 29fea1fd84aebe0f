"""gunicorn's logs without personal data: JSON lines, no client addresses, no query strings, no tokens.

The access log is built only from safe atoms (method, path without query, status, size, duration, and the
app's route, tenant id and error code); the atoms that could carry an address, a query string, a referer or a
header (tokens, cookies) do not exist here, so even a changed `access_log_format` cannot bring them back (they
print as "-"). Every line of the error log is scrubbed, because gunicorn quotes the raw request line and the
client address when it refuses a request.

The access line is the request's only log line: `server_logs_requests` tells the app so, and the app hands its
fields back through the WSGI environ (logs.py), which saves a second JSON line per request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import traceback
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from logs import REQUEST_FIELDS, SERVER_LOGS_REQUEST

# One JSON object per request; %(U)s is the path without its query string (the query carries `jwt=`).
ACCESS_LOG_FORMAT = (
    '{"time":"%(t)s","level":"info","logger":"gunicorn.access","method":"%(m)s","path":"%(U)s",'
    '"status":%(s)s,"bytes":%(B)s,"duration_ms":%(M)s,"route":%(route)s,"tenant_id":%(tenant_id)s,'
    '"error_code":%(error_code)s}'
)

MAX_DETAIL = 500

_FROM_ADDRESS = re.compile(r" from ip=\S*?: ")
_QUERY = re.compile(r"\?(?=[^\s\"'<>]*=)[^\s\"'<>]*")
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
_AUTH_VALUE = re.compile(r"\b(JWT|Bearer|Basic)\s+\S+", re.IGNORECASE)
_TOKEN_PARAM = re.compile(r"\bjwt=[^\s&\"']*", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Text none of the patterns above can match (no '?', '=', '@', space, nor a token's "eyJ"): most paths.
_PLAIN = re.compile(r"[A-Za-z0-9/_.~-]*")


def scrub(text: str) -> str:
    """Removes client addresses, query strings, tokens and email addresses from a log message."""
    if _PLAIN.fullmatch(text) and "eyJ" not in text:
        return text
    text = _FROM_ADDRESS.sub(": ", text)
    text = _QUERY.sub("", text)
    text = _TOKEN_PARAM.sub("jwt=[redacted]", text)
    text = _JWT.sub("[token]", text)
    text = _AUTH_VALUE.sub(r"\1 [redacted]", text)
    return _EMAIL.sub("[email]", text)


def describe_exception(error: BaseException, tb: TracebackType | None) -> dict[str, str]:
    """The class, the scrubbed message and where it was raised; no traceback text (it can quote input)."""
    described = {"error": type(error).__name__, "detail": scrub(str(error))[:MAX_DETAIL]}
    frames = traceback.extract_tb(tb) if tb is not None else []
    if frames:
        last = frames[-1]
        described["where"] = f"{last.filename}:{last.lineno} in {last.name}"
    return described


class JsonLineFormatter(logging.Formatter):
    """gunicorn's own messages (boot, workers, signals, refused requests) as scrubbed JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(describe_exception(record.exc_info[1], record.exc_info[2]))
        return json.dumps(entry, separators=(",", ":"))


class JsonLiteral:
    """An atom written as is: a JSON value (`null`, a number, a quoted string) rather than text to escape."""

    __slots__ = ("text",)

    def __init__(self, value: str | int | None) -> None:
        self.text = json.dumps(value)

    def __str__(self) -> str:
        return self.text


NULL = JsonLiteral(None)


def server_logs_requests(wsgi: Any) -> Any:
    """Wraps the app so it leaves its request line to this access log (the worker's `post_worker_init`)."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ[SERVER_LOGS_REQUEST] = True
        return wsgi(environ, start_response)

    return app


class JsonAtoms(SafeAtoms):
    """Atom values escaped for a JSON string, so a path with quotes or backslashes keeps the line valid."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = json.dumps(value)[1:-1] if isinstance(value, str) else value


class PrivacyLogger(Logger):
    """gunicorn's logger with JSON lines and without personal data (DESIGN §3: logs)."""

    atoms_wrapper_class = JsonAtoms

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        formatter = JsonLineFormatter()
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter)

    def now(self) -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        """Only the safe atoms, built directly (cheaper than building all of gunicorn's and dropping most)."""
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        sent = getattr(resp, "sent", None)
        micros = request_time.seconds * 1_000_000 + request_time.microseconds
        fields = environ.get(REQUEST_FIELDS) or {}
        route, tenant_id, error_code = fields.get("route"), fields.get("tenant_id"), fields.get("error_code")
        return {
            "t": self.now(),
            "m": environ.get("REQUEST_METHOD") or "-",
            "U": scrub(environ.get("PATH_INFO") or "-"),  # never a query: that is QUERY_STRING
            "H": environ.get("SERVER_PROTOCOL") or "-",
            "s": status,
            "B": sent or 0,  # a number even when nothing was sent, so the JSON line stays valid
            "b": str(sent) if sent else "-",
            "M": micros // 1000,
            "D": micros,
            "T": request_time.seconds,
            "L": f"{micros / 1_000_000:.6f}",
            "p": f"<{os.getpid()}>",
            "route": JsonLiteral(route) if route else NULL,
            "tenant_id": JsonLiteral(tenant_id) if isinstance(tenant_id, int) else NULL,
            "error_code": JsonLiteral(error_code) if error_code else NULL,
        }

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        """With the configured format, the line is written straight from the values (a third of the cost of
        building every atom and formatting the template); any other format goes through gunicorn's path."""
        if self.cfg.access_log_format != ACCESS_LOG_FORMAT or not self.cfg.accesslog:
            return super().access(resp, req, environ, request_time)
        try:
            self.access_log.info(self.access_line(resp, environ, request_time))
        except Exception:
            self.error(traceback.format_exc())

    def access_line(self, resp: Any, environ: dict[str, Any], request_time: timedelta) -> str:
        """ACCESS_LOG_FORMAT filled in: the same line, character for character (tests/deploy/test_gunicorn.py)."""
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        micros = request_time.seconds * 1_000_000 + request_time.microseconds
        fields = environ.get(REQUEST_FIELDS) or {}
        route, tenant_id, error_code = fields.get("route"), fields.get("tenant_id"), fields.get("error_code")
        return (
            f'{{"time":"{self.now()}","level":"info","logger":"gunicorn.access",'
            f'"method":{json.dumps(environ.get("REQUEST_METHOD") or "-")},'
            f'"path":{json.dumps(scrub(environ.get("PATH_INFO") or "-"))},'
            f'"status":{status},"bytes":{getattr(resp, "sent", None) or 0},"duration_ms":{micros // 1000},'
            f'"route":{json.dumps(route or None)},'
            f'"tenant_id":{json.dumps(tenant_id) if isinstance(tenant_id, int) else "null"},'
            f'"error_code":{json.dumps(error_code or None)}}}'
        )
