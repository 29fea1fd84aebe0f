"""Credentials for calls to Confluence: as the app (JWT with qsh) or as the user (OAuth2 JWT-bearer)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt
import requests

from connect.qsh import qsh
from errors import AuthError, UpstreamError
from models.token_cache import TokenCache

APP_TOKEN_LIFETIME = 180
ASSERTION_LIFETIME = 60
# Refresh a cached user token this long before it expires, so a slow send never uses a dead one.
TOKEN_REFRESH_MARGIN = 60


@dataclass(frozen=True)
class TenantAccess:
    """What the client needs to know of a tenant; the shared secret lives only in memory here."""

    client_key: str
    base_url: str
    oauth_client_id: str | None
    shared_secret: str = field(repr=False)


def app_jwt(tenant: TenantAccess, app_key: str, method: str, url: str, now: float | None = None) -> str:
    """A token for one request as the app: qsh over the path relative to the tenant base URL (no /wiki)."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": app_key,
        "iat": issued,
        "exp": issued + APP_TOKEN_LIFETIME,
        "qsh": qsh(method, urlsplit(url).path, urlsplit(url).query, urlsplit(tenant.base_url).path),
    }
    return jwt.encode(claims, tenant.shared_secret, algorithm="HS256")


class MemoryTokenCache:
    """Per-process cache of impersonation tokens (epoch expiry), bounded."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: str) -> tuple[str, float] | None:
        with self._lock:
            item = self._items.get(key)
            if item and item[1] <= time.time():
                del self._items[key]
                return None
            return item

    def set(self, key: str, token: str, expires_at: float) -> None:
        with self._lock:
            if len(self._items) >= self.max_entries:
                now = time.time()
                self._items = {k: v for k, v in self._items.items() if v[1] > now}
                if len(self._items) >= self.max_entries:
                    self._items.pop(next(iter(self._items)))
            self._items[key] = (token, expires_at)

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class UserTokens:
    """OAuth2 JWT-bearer grant at the Atlassian authorization server, cached per tenant + user + scope."""

    def __init__(
        self, auth_server_url: str, session: requests.Session, cache: TokenCache, timeout: float = 10.0
    ) -> None:
        self.auth_server_url = auth_server_url.rstrip("/")
        self.session = session
        self.cache = cache
        self.timeout = timeout

    @staticmethod
    def _key(tenant: TenantAccess, account_id: str, scopes: str) -> str:
        return f"{tenant.client_key}|{account_id}|{scopes}"

    def forget(self, tenant: TenantAccess, account_id: str, scopes: str = "READ ACT_AS_USER") -> None:
        """Drop a token Confluence refused (revoked before its expiry), so the next call gets a new one."""
        self.cache.delete(self._key(tenant, account_id, scopes))

    def token(self, tenant: TenantAccess, account_id: str, scopes: str = "READ ACT_AS_USER") -> str:
        key = self._key(tenant, account_id, scopes)
        cached = self.cache.get(key)
        if cached and cached[1] - TOKEN_REFRESH_MARGIN > time.time():
            return cached[0]
        token, expires_in = self._grant(tenant, account_id, scopes)
        self.cache.set(key, token, time.time() + expires_in)
        return token

    def _grant(self, tenant: TenantAccess, account_id: str, scopes: str) -> tuple[str, int]:
        if not tenant.oauth_client_id:
            raise AuthError("this site's installation has no oauthClientId; re-install the app")
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": f"urn:atlassian:connect:clientid:{tenant.oauth_client_id}",
                "sub": f"urn:atlassian:connect:useraccountid:{account_id}",
                "tnt": tenant.base_url,
                "aud": self.auth_server_url,
                "iat": now,
                "exp": now + ASSERTION_LIFETIME,
            },
            tenant.shared_secret,
            algorithm="HS256",
        )
        try:
            response = self.session.post(
                f"{self.auth_server_url}/oauth2/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                    "scope": scopes,
                },
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException:
            raise UpstreamError(
                "the Atlassian authorization server is unreachable", code="confluence_unavailable"
            ) from None
        if response.status_code != 200:
            raise UpstreamError(
                f"the Atlassian authorization server refused to act as the user ({response.status_code})",
                code="impersonation_failed",
            )
        try:
            body = response.json()
            return str(body["access_token"]), int(body.get("expires_in", 900))
        except (ValueError, KeyError, TypeError):
            raise UpstreamError(
                "the Atlassian authorization server sent an unreadable answer", code="impersonation_failed"
            ) from None
