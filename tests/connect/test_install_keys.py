"""The install key store against a real HTTP key server: kid shapes, unknown kids remembered, fetches capped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connect import install_keys
from connect.install_keys import InstallKeyStore
from errors import AuthError

KNOWN = "3f2b8c1e-5a6d-4e7f-9a0b-1c2d3e4f5a6b"
PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
)


class KeyServer(ThreadingHTTPServer):
    requests: list[str]


class Handler(BaseHTTPRequestHandler):
    server: KeyServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        known = self.path == f"/{KNOWN}"
        self.send_response(200 if known else 404)
        self.end_headers()
        if known:
            self.wfile.write(PEM)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer(("127.0.0.1", 0), Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def store(server: KeyServer) -> InstallKeyStore:
    return InstallKeyStore(f"http://127.0.0.1:{server.server_address[1]}")


@pytest.mark.parametrize("kid", ["..", "../x", "a/b", ".hidden", "a.b", "a?b", "a#b", "a\nb", "", "x" * 129, 7, None])
def test_a_kid_of_the_wrong_shape_is_refused_without_a_fetch(key_server: KeyServer, kid: object) -> None:
    with pytest.raises(AuthError, match="no valid kid"):
        store(key_server).get(kid)
    assert key_server.requests == []


def test_known_keys_are_cached_and_unknown_kids_remembered(key_server: KeyServer) -> None:
    keys = store(key_server)
    assert keys.get(KNOWN) is keys.get(KNOWN)
    for _ in range(5):
        with pytest.raises(AuthError, match="unknown install key id"):
            keys.get("b6c1d2e3-0000-4000-8000-000000000000")
    assert key_server.requests == [f"/{KNOWN}", "/b6c1d2e3-0000-4000-8000-000000000000"]


def test_key_server_lookups_are_capped_per_minute(key_server: KeyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install_keys, "MAX_FETCHES_PER_MINUTE", 3)
    keys = store(key_server)
    for n in range(3):
        with pytest.raises(AuthError, match="unknown"):
            keys.get(f"made-up-{n}")
    with pytest.raises(AuthError, match="too many install key lookups"):
        keys.get("made-up-4")
    assert len(key_server.requests) == 3
