"""A database that is down or hangs: readiness and the API answer 503 JSON quickly, never a 500 or a stall."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import create_app
from tests.stack import base_environ
from tests.tokens import context_token


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word: a hung database."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", ["refused", "hung"])
def test_ready_and_the_api_answer_503_json(tmp_path: Path, silent_server: int, kind: str) -> None:
    port = _closed_port() if kind == "refused" else silent_server
    url = f"postgresql+psycopg://pagemail@127.0.0.1:{port}/pagemail"
    app = create_app(environ=base_environ(tmp_path, DATABASE_URL=url))  # never migrated: it can't be reached
    client = app.test_client()
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"
    token = context_token()
    answer = client.get("/api/recipients?query=ab", headers={"Authorization": f"JWT {token}"})
    assert answer.status_code == 503, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["code"] == "database_unavailable" and "Traceback" not in error["message"]
    assert answer.headers["Retry-After"] == "5"
    german = client.get(
        "/api/recipients?query=ab", headers={"Authorization": f"JWT {token}", "X-Pagemail-Locale": "de-DE"}
    )
    assert german.status_code == 503 and "Datenbank" in german.get_json()["error"]["message"]
