"""A per-process cache of what token checks need of a tenant: its facts and its decrypted shared secret.

Every iframe load and API call checks a token; reading the tenant row and decrypting the secret each time is the
largest part of that. Entries live `ttl` seconds, are dropped at once by this process's lifecycle calls, and a
signature that fails against a cached secret is retried once against the database (a re-install handled by
another instance), so a stale entry can never accept what the database would refuse for longer than `ttl`. Calls
that act (anything but GET, HEAD, OPTIONS) do not use it: they read the tenant from the database (connect/auth.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from identity import TenantRef


@dataclass(frozen=True)
class CachedTenant:
    ref: TenantRef
    oauth_client_id: str | None
    enabled: bool
    secret: str = field(repr=False)


class TenantCache:
    def __init__(self, ttl: float = 30.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: dict[str, tuple[float, CachedTenant]] = {}
        self._lock = threading.Lock()

    def get(self, client_key: str) -> CachedTenant | None:
        with self._lock:
            item = self._items.get(client_key)
            if item is None:
                return None
            if time.monotonic() - item[0] > self.ttl:
                del self._items[client_key]
                return None
            return item[1]

    def put(self, client_key: str, tenant: CachedTenant) -> None:
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items.pop(next(iter(self._items)))
            self._items[client_key] = (time.monotonic(), tenant)

    def invalidate(self, client_key: str) -> None:
        with self._lock:
            self._items.pop(client_key, None)
