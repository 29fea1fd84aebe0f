"""Real HTTP servers for tests: any WSGI app on 127.0.0.1, in a thread, on a free port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    port: int


@contextmanager
def serve(app: Callable[..., Any], port: int | None = None, host_name: str = "127.0.0.1") -> Iterator[RunningServer]:
    port = port or free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"server-{port}", daemon=True)
    thread.start()
    try:
        yield RunningServer(url=f"http://{host_name}:{port}", port=port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
