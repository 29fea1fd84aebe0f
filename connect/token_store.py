"""Impersonation tokens shared by every app instance through Redis, encrypted at rest.

Redis sees only a SHA-256 of the cache key (no site or account ids in key names) and a token
sealed with the secret box, bound to that hash, so a value copied to another key does not decrypt.
Entries expire in Redis when the token does. Redis trouble never fails a user's action: the
cache then misses, and a fresh token is fetched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import redis

from connect.outgoing import MemoryTokenCache, TokenCache
from models.secrets import SecretBackendError, SecretBox, SecretError

log = logging.getLogger(__name__)

TOKEN_FIELD = "connect.user_token"  # noqa: S105 (a field name, not a secret)
_REDIS_TIMEOUT = 2.0


class RedisTokenCache:
    """A `TokenCache` in Redis: `get(key) -> (token, expires_at) | None`, `set(key, token, expires_at)`."""

    def __init__(self, redis_client: redis.Redis, box: SecretBox, prefix: str = "pagemail:tok:") -> None:
        self.redis = redis_client
        self.box = box
        self.prefix = prefix

    def _digest(self, key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def redis_key(self, key: str) -> str:
        """The Redis key name for a cache key (no part of the cache key readable in it)."""
        return self.prefix + self._digest(key)

    def get(self, key: str) -> tuple[str, float] | None:
        digest = self._digest(key)
        try:
            sealed = self.redis.get(self.prefix + digest)
        except redis.RedisError as exc:
            log.warning("token cache read failed: %s", type(exc).__name__)
            return None
        if sealed is None:
            return None
        try:
            text = sealed.decode("ascii") if isinstance(sealed, bytes) else str(sealed)
            # The hash stands in for the tenant in the encryption context: KMS logs contexts, ids stay out.
            entry = json.loads(self.box.decrypt(text, tenant=digest, field=TOKEN_FIELD))
            token, expires_at = entry["token"], float(entry["expires_at"])
            if not isinstance(token, str):
                raise TypeError("token is not text")
        except SecretBackendError as exc:
            log.warning("token cache entry not readable now: %s", type(exc).__name__)
            return None
        except (SecretError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            # Sealed under a rotated-out key, or not ours: drop it and fetch a new token.
            log.warning("token cache entry unreadable, discarded: %s", type(exc).__name__)
            self._discard(self.prefix + digest)
            return None
        if expires_at <= time.time():
            return None
        return token, expires_at

    def set(self, key: str, token: str, expires_at: float) -> None:
        digest = self._digest(key)
        milliseconds = math.floor((expires_at - time.time()) * 1000)
        if milliseconds <= 0:
            return  # already expired: nothing worth sharing
        try:
            sealed = self.box.encrypt(
                json.dumps({"token": token, "expires_at": expires_at}), tenant=digest, field=TOKEN_FIELD
            )
            self.redis.set(self.prefix + digest, sealed, px=milliseconds)
        except (redis.RedisError, SecretError) as exc:
            log.warning("token cache write failed: %s", type(exc).__name__)

    def delete(self, key: str) -> None:
        self._discard(self.redis_key(key))

    def _discard(self, name: str) -> None:
        try:
            self.redis.delete(name)
        except redis.RedisError as exc:
            log.warning("token cache delete failed: %s", type(exc).__name__)


def token_cache_from_config(config: Mapping[str, Any], box: SecretBox) -> TokenCache:
    """Redis when REDIS_URL is set (shared by every instance), else a per-process memory cache."""
    url = str(config.get("REDIS_URL") or "").strip()
    if not url:
        return MemoryTokenCache()
    client = redis.Redis.from_url(
        url,
        socket_timeout=_REDIS_TIMEOUT,
        socket_connect_timeout=_REDIS_TIMEOUT,
        health_check_interval=30,
    )
    return RedisTokenCache(client, box)
