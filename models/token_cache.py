"""The shape of the app's token cache (Atlassian tokens in connect/, mail-provider tokens in mail/oauth/): one
Protocol in a module both may import, since neither may import the other."""

from __future__ import annotations

from typing import Protocol


class TokenCache(Protocol):
    """Tokens by key with their expiry (epoch seconds); memory or Redis (sealed)."""

    def get(self, key: str) -> tuple[str, float] | None: ...
    def set(self, key: str, token: str, expires_at: float) -> None: ...
    def delete(self, key: str) -> None: ...
