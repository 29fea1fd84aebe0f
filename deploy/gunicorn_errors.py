"""Errors gunicorn answers itself (a malformed or oversized request line, too many or too large headers) in the
API's JSON error shape instead of gunicorn's HTML page, so every client, the API's included, reads one shape."""

from __future__ import annotations

import json
import re
import socket

from gunicorn import util


def json_error(status: int, reason: str) -> bytes:
    """The whole HTTP answer. The detail gunicorn would add quotes the request (it can carry a token): left out."""
    code = re.sub(r"[^a-z]+", "_", reason.lower()).strip("_") or "bad_request"
    body = json.dumps({"error": {"code": code, "message": reason, "details": {}}}).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, json_error(status_int, reason))


def install() -> None:
    # gunicorn's workers call `util.write_error` at the time of the error, so replacing it here is enough.
    util.write_error = write_json_error
