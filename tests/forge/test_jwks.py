"""The Forge signing keys over real HTTP: fetched once, refetched for an unknown kid at most every N seconds,
timeouts and a broken or unreachable key server refuse (401) instead of hanging or failing open."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, Response, jsonify

from errors import AuthError
from forge.jwks import JwksKeyStore
from sandbox.forge_platform import ForgeKeys, SigningKey
from tests.servers import free_port, serve


class KeyServer:
    def __init__(self) -> None:
        self.keys = ForgeKeys()
        self.hits = 0
        self.status = 200
        self.delay = 0.0
        self.body: Any = None

    def wsgi(self) -> Flask:
        app = Flask("jwks")

        @app.get("/jwks.json")
        def jwks() -> Response:
            self.hits += 1
            time.sleep(self.delay)
            if self.status != 200:
                return Response("down", status=self.status)
            return jsonify(self.body if self.body is not None else self.keys.jwks())

        return app


@pytest.fixture
def server() -> Iterator[tuple[KeyServer, str]]:
    keys = KeyServer()
    with serve(keys.wsgi()) as running:
        yield keys, f"{running.url}/jwks.json"


def test_known_keys_are_served_from_the_cache(server: tuple[KeyServer, str]) -> None:
    keys, url = server
    store = JwksKeyStore(url)
    kid = keys.keys.current.kid
    assert store.get(kid) is not None and store.get(kid) is not None
    assert keys.hits == 1


def test_unknown_kids_refetch_at_most_every_interval(server: tuple[KeyServer, str]) -> None:
    keys, url = server
    store = JwksKeyStore(url, min_refresh=60.0)
    store.get(keys.keys.current.kid)
    for n in range(20):  # a flood of made-up kids: no fetch at all within the interval
        with pytest.raises(AuthError):
            store.get(f"made-up-{n}")
    assert keys.hits == 1
    rotated = keys.keys.rotate()
    with pytest.raises(AuthError):  # still within the interval: the new key is not fetched yet
        store.get(rotated.kid)
    store.min_refresh = 0.0
    assert store.get(rotated.kid) is not None
    assert keys.hits == 2


def test_a_withdrawn_key_stops_after_max_age(server: tuple[KeyServer, str]) -> None:
    keys, url = server
    store = JwksKeyStore(url, min_refresh=0.0, max_age=3600.0)
    old = keys.keys.current.kid
    store.get(old)
    keys.keys.rotate(keep_old=False)
    assert store.get(old) is not None  # cached: still trusted within max_age
    store.max_age = 0.0
    with pytest.raises(AuthError, match="unknown key"):
        store.get(old)


@pytest.mark.parametrize("trouble", ["status", "not json", "no usable key", "slow"])
def test_a_broken_key_server_refuses(server: tuple[KeyServer, str], trouble: str) -> None:
    keys, url = server
    if trouble == "status":
        keys.status = 503
    elif trouble == "not json":
        keys.body = "<html>"
    elif trouble == "no usable key":
        keys.body = {"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}, {**SigningKey().jwk(), "use": "enc"}]}
    else:
        keys.delay = 1.5
    store = JwksKeyStore(url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(AuthError):
        store.get(keys.keys.current.kid)
    assert time.monotonic() - started < 5


def test_an_unreachable_key_server_refuses() -> None:
    store = JwksKeyStore(f"http://127.0.0.1:{free_port()}/jwks.json", timeout=1.0)
    with pytest.raises(AuthError, match="unreachable"):
        store.get("any-kid")


def test_a_failed_refresh_keeps_the_keys_it_had(server: tuple[KeyServer, str]) -> None:
    keys, url = server
    store = JwksKeyStore(url, min_refresh=0.0, max_age=0.0)
    kid = keys.keys.current.kid
    store.get(kid)
    keys.status = 500
    assert store.get(kid) is not None  # the refresh failed; the known key still verifies


@pytest.mark.parametrize("kid", [None, 7, "", "x" * 500, "a b", "a\nb"])
def test_kids_of_the_wrong_shape_are_refused_without_a_fetch(server: tuple[KeyServer, str], kid: object) -> None:
    keys, url = server
    with pytest.raises(AuthError):
        JwksKeyStore(url).get(kid)
    assert keys.hits == 0


def test_concurrent_unknown_kids_fetch_once(server: tuple[KeyServer, str]) -> None:
    keys, url = server
    store = JwksKeyStore(url, min_refresh=60.0)
    errors: list[Exception] = []

    def ask(n: int) -> None:
        try:
            store.get(f"unknown-{n}")
        except AuthError as error:
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 10 and keys.hits == 1
    assert requests.get(url, timeout=5).ok
