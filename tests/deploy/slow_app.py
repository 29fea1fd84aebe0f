"""A WSGI app for the worker tests, served by the production configuration in place of the real app.

`/health` answers at once, as the real app's does. `/slow?started=FILE&gate=FILE` writes the worker's pid to
`started`, then holds the request until the file `gate` exists (at most `HOLD_LIMIT_SECONDS`), so a test can send
signals while it is in flight and end it when it has seen what it waited for. Its answer is large, with a
Content-Length, so a connection cut under it shows as an incomplete read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

HOLD_LIMIT_SECONDS = 30.0
SLOW_BODY = bytes(range(256)) * 1024  # 256 KiB: several writes, not one segment
HEALTH_BODY = b'{"status":"ok"}\n'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/slow":
        return slow(environ, start_response)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(HEALTH_BODY)))])
    return [HEALTH_BODY]


def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    started, gate = Path(query["started"][0]), Path(query["gate"][0])
    started.write_text(str(os.getpid()))
    ends = time.monotonic() + HOLD_LIMIT_SECONDS
    while not gate.exists() and time.monotonic() < ends:
        time.sleep(0.05)
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(len(SLOW_BODY))),
        ("X-Released", "yes" if gate.exists() else "no"),  # "no": the hold ran out, the test never released it
        ("X-Worker-Pid", str(os.getpid())),
    ]
    start_response("200 OK", headers)
    return [SLOW_BODY]
