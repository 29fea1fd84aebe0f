"""Access tokens kept until shortly before they expire, in the app's token cache (Redis, sealed, when REDIS_URL is
set; process memory otherwise), never in the database.

The cache itself is the one the app already shares for Atlassian tokens (`get`/`set`/`delete`, epoch expiry); this
module only names the entries and decides when a token is too old to use.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from models.token_cache import TokenCache

# A token is renewed this long before it expires (at most a tenth of its life for short-lived tokens), so an SMTP
# session that starts now does not sign in with a token that dies on the way.
REFRESH_MARGIN = 300.0


def cache_key(client_key: str, *parts: str) -> str:
    """The entry for one tenant and one connection: a digest of everything that makes its token (secret included,
    so a new secret never reuses the old secret's token). No part is readable in the key."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"mail-oauth|{client_key}|{digest}"


class CachedTokens:
    """One connection's token: from the cache while it is fresh enough, else fetched and cached."""

    def __init__(self, cache: TokenCache, key: str) -> None:
        self.cache = cache
        self.key = key

    def get(self, fetch: Callable[[], tuple[str, float]]) -> str:
        cached = self.cache.get(self.key)
        if cached and cached[1] > time.time():
            return cached[0]
        token, expires_in = fetch()
        margin = min(REFRESH_MARGIN, expires_in / 10)
        self.cache.set(self.key, token, time.time() + expires_in - margin)
        return token

    def forget(self) -> None:
        """Drop a token the mail server refused (revoked before its expiry)."""
        self.cache.delete(self.key)
