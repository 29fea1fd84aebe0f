"""Access tokens issued by the sandbox's OAuth endpoint: opaque random strings bound to a user and scopes."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

TOKEN_LIFETIME = 900


@dataclass(frozen=True)
class BearerGrant:
    account_id: str
    scopes: frozenset[str]
    expires_at: float
    client_key: str


class TokenStore:
    """Access tokens the sandbox issued (opaque random strings), until they expire or the app goes away."""

    def __init__(self) -> None:
        self._grants: dict[str, BearerGrant] = {}
        self._lock = threading.Lock()

    def issue(self, account_id: str, scopes: frozenset[str], client_key: str, lifetime: int = TOKEN_LIFETIME) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[token] = BearerGrant(account_id, scopes, time.time() + lifetime, client_key)
        return token

    def lookup(self, token: str) -> BearerGrant | None:
        with self._lock:
            grant = self._grants.get(token)
            if grant is not None and grant.expires_at <= time.time():
                del self._grants[token]
                return None
            return grant

    def revoke_all(self) -> None:
        with self._lock:
            self._grants.clear()
