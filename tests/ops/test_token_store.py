"""The shared impersonation-token cache against the local Redis (127.0.0.1:6379)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask, jsonify, request

from connect.outgoing import MemoryTokenCache, TenantAccess, UserTokens
from connect.token_store import RedisTokenCache, token_cache_from_config
from models.secrets import LocalKeyBox
from tests.servers import free_port, serve

CLIENT_KEY = "8f0b3e7a-5c1d-4d2e-9a6b-1f2e3d4c5b6a"
ACCOUNT_ID = "557058:f1c2d3e4-aaaa-bbbb-cccc-0123456789ab"
CACHE_KEY = f"{CLIENT_KEY}|{ACCOUNT_ID}|READ ACT_AS_USER"
TOKEN = "eyJ-impersonation-token-value-0001"


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    value = f"pagemail-test:{uuid.uuid4().hex}:"
    yield value
    for key in redis_client.scan_iter(match=f"{value}*"):
        redis_client.delete(key)


@pytest.fixture
def box(tmp_path: Path) -> LocalKeyBox:
    return LocalKeyBox(tmp_path / "secrets.key")


@pytest.fixture
def cache(redis_client: redis.Redis, box: LocalKeyBox, prefix: str) -> RedisTokenCache:
    return RedisTokenCache(redis_client, box, prefix=prefix)


def _keys(client: redis.Redis, prefix: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{prefix}*"))


def test_round_trip_and_sharing_between_instances(
    cache: RedisTokenCache, redis_client: redis.Redis, box: LocalKeyBox, prefix: str
) -> None:
    expires_at = time.time() + 900
    assert cache.get(CACHE_KEY) is None
    cache.set(CACHE_KEY, TOKEN, expires_at)

    assert cache.get(CACHE_KEY) == (TOKEN, expires_at)
    # Another app instance (its own client, same key and Redis) sees the same token.
    other_instance = RedisTokenCache(redis.Redis(host="127.0.0.1", port=6379), box, prefix=prefix)
    assert other_instance.get(CACHE_KEY) == (TOKEN, expires_at)
    assert cache.get(CACHE_KEY + "-other-scope") is None


def test_redis_holds_neither_ids_nor_the_token_in_the_clear(
    cache: RedisTokenCache, redis_client: redis.Redis, prefix: str
) -> None:
    cache.set(CACHE_KEY, TOKEN, time.time() + 900)
    [name] = _keys(redis_client, prefix)
    assert name.decode() == prefix + hashlib.sha256(CACHE_KEY.encode()).hexdigest()
    value = redis_client.get(name)
    assert value is not None
    for secret in (TOKEN, CLIENT_KEY, ACCOUNT_ID, "557058"):
        assert secret.encode() not in name
        assert secret.encode() not in value


def test_the_entry_expires_with_the_token(cache: RedisTokenCache, redis_client: redis.Redis, prefix: str) -> None:
    cache.set(CACHE_KEY, TOKEN, time.time() + 600)
    ttl_ms = redis_client.pttl(cache.redis_key(CACHE_KEY))
    assert 0 < ttl_ms <= 600_000

    cache.set("already-expired", TOKEN, time.time() - 1)
    assert redis_client.exists(cache.redis_key("already-expired")) == 0
    assert cache.get("already-expired") is None


def test_a_value_moved_to_another_key_does_not_open_and_is_dropped(
    cache: RedisTokenCache, redis_client: redis.Redis
) -> None:
    expires_at = time.time() + 900
    cache.set(CACHE_KEY, TOKEN, expires_at)
    other = "another-site|another-user|READ ACT_AS_USER"
    redis_client.set(cache.redis_key(other), redis_client.get(cache.redis_key(CACHE_KEY)) or b"", ex=60)

    assert cache.get(other) is None
    assert redis_client.exists(cache.redis_key(other)) == 0
    assert cache.get(CACHE_KEY) == (TOKEN, expires_at)


def test_entries_of_a_rotated_out_key_are_misses(
    redis_client: redis.Redis, box: LocalKeyBox, prefix: str, tmp_path: Path
) -> None:
    RedisTokenCache(redis_client, LocalKeyBox(tmp_path / "old.key"), prefix=prefix).set(
        CACHE_KEY, TOKEN, time.time() + 900
    )
    assert RedisTokenCache(redis_client, box, prefix=prefix).get(CACHE_KEY) is None


def test_garbage_in_redis_is_a_miss(cache: RedisTokenCache, redis_client: redis.Redis) -> None:
    for junk in (b"not a token", b"\xff\xfe", b"pm1.local.x.y.z.w"):
        redis_client.set(cache.redis_key(CACHE_KEY), junk, ex=60)
        assert cache.get(CACHE_KEY) is None


def test_unreachable_redis_never_fails_the_caller(box: LocalKeyBox) -> None:
    nobody = redis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=1, socket_connect_timeout=1)
    cache = RedisTokenCache(nobody, box)
    cache.set(CACHE_KEY, TOKEN, time.time() + 900)
    assert cache.get(CACHE_KEY) is None


def test_from_config(redis_client: redis.Redis, box: LocalKeyBox) -> None:
    assert isinstance(token_cache_from_config({"REDIS_URL": ""}, box), MemoryTokenCache)
    assert isinstance(token_cache_from_config({}, box), MemoryTokenCache)

    cache = token_cache_from_config({"REDIS_URL": "redis://127.0.0.1:6379/0"}, box)
    assert isinstance(cache, RedisTokenCache)
    key = f"test-from-config-{uuid.uuid4().hex}"
    try:
        cache.set(key, TOKEN, time.time() + 60)
        assert redis_client.exists(f"pagemail:tok:{hashlib.sha256(key.encode()).hexdigest()}") == 1
        assert cache.get(key) is not None
    finally:
        redis_client.delete(cache.redis_key(key))


def test_two_instances_share_one_grant_through_redis(cache: RedisTokenCache, box: LocalKeyBox, prefix: str) -> None:
    """Two app instances ask for the same user's token: the authorization server is asked once."""
    grants: list[dict[str, Any]] = []
    server = Flask("auth-server")

    @server.post("/oauth2/token")
    def token() -> Any:
        grants.append(dict(request.form))
        return jsonify(access_token=f"granted-{len(grants)}", expires_in=900)

    tenant = TenantAccess(CLIENT_KEY, "https://site.atlassian.net/wiki", "oauth-client", "shared-secret")
    with serve(server) as running, requests.Session() as session:
        first = UserTokens(running.url, session, cache)
        second = UserTokens(running.url, session, RedisTokenCache(redis.Redis(host="127.0.0.1"), box, prefix))
        assert first.token(tenant, ACCOUNT_ID) == "granted-1"
        assert second.token(tenant, ACCOUNT_ID) == "granted-1"
        assert second.token(tenant, "another-account") == "granted-2"
    assert len(grants) == 2
