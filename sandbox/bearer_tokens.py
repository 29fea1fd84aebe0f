"""Access tokens issued by the sandbox's OAuth endpoint: opaque random strings bound to a user and scopes.

GrantStore, the store itself, keeps the Forge platform's tokens too (sandbox/forge_platform.py)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

TOKEN_LIFETIME = 900


@dataclass(frozen=True)
class BearerGrant:
    account_id: str
    scopes: frozenset[str]
    expires_at: float
    client_key: str


class Expiring(Protocol):
    @property
    def expires_at(self) -> float: ...


Grant = TypeVar("Grant", bound=Expiring)


class GrantStore(Generic[Grant]):
    """Opaque random tokens, each standing for its grant until the grant expires or the store is emptied."""

    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def _hand_out(self, grant: Grant) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[token] = grant
        return token

    def lookup(self, token: str) -> Grant | None:
        with self._lock:
            grant = self._grants.get(token)
            if grant is not None and grant.expires_at <= time.time():
                del self._grants[token]
                return None
            return grant

    def revoke_all(self) -> None:
        with self._lock:
            self._grants.clear()


class TokenStore(GrantStore[BearerGrant]):
    """Access tokens the sandbox issued (opaque random strings), until they expire or the app goes away."""

    def issue(self, account_id: str, scopes: frozenset[str], client_key: str, lifetime: int = TOKEN_LIFETIME) -> str:
        return self._hand_out(BearerGrant(account_id, scopes, time.time() + lifetime, client_key))
