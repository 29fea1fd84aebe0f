"""Atlassian's public keys for signed installs, fetched by `kid` and cached."""

from __future__ import annotations

import re
import threading
import time
from collections import deque

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from errors import AuthError, UpstreamError

# Atlassian's key ids are UUIDs; letters, digits, "-" and "_" only (no dots, so no "..", nothing path-like).
KID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
# Lifecycle calls are unauthenticated until their key is known: an unknown kid is remembered for a while, and the
# key server is asked at most so often per process, so a flood of made-up kids can't turn into a flood of fetches.
UNKNOWN_KID_TTL = 300.0
MAX_FETCHES_PER_MINUTE = 30


class InstallKeyStore:
    """Fetches `{keys_url}/{kid}` (a PEM public key) with timeouts; keeps good keys for `ttl` seconds."""

    def __init__(
        self,
        keys_url: str,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        ttl: float = 24 * 3600,
        max_entries: int = 64,
    ) -> None:
        self.keys_url = keys_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, RSAPublicKey]] = {}
        self._unknown: dict[str, float] = {}
        self._fetches: deque[float] = deque()
        self._lock = threading.Lock()

    def get(self, kid: object) -> RSAPublicKey:
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            raise AuthError("install token has no valid kid")
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(kid)
            if cached and now - cached[0] < self.ttl:
                return cached[1]
            if now - self._unknown.get(kid, -UNKNOWN_KID_TTL) < UNKNOWN_KID_TTL:
                raise AuthError("unknown install key id")
            while self._fetches and now - self._fetches[0] > 60:
                self._fetches.popleft()
            if len(self._fetches) >= MAX_FETCHES_PER_MINUTE:
                raise AuthError("too many install key lookups; try again in a minute")
            self._fetches.append(now)
        try:
            key = self._fetch(kid)
        except AuthError:
            with self._lock:
                if len(self._unknown) >= self.max_entries * 16:
                    self._unknown.pop(next(iter(self._unknown)))
                self._unknown[kid] = now
            raise
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.pop(next(iter(self._cache)))
            self._cache[kid] = (now, key)
        return key

    def _fetch(self, kid: str) -> RSAPublicKey:
        try:
            response = self.session.get(f"{self.keys_url}/{kid}", timeout=self.timeout, allow_redirects=False)
        except requests.RequestException:
            raise UpstreamError(
                "the Connect install key server is unreachable", code="install_keys_unreachable"
            ) from None
        if response.status_code == 404:
            raise AuthError("unknown install key id")
        if response.status_code != 200:
            raise UpstreamError(
                f"the Connect install key server answered {response.status_code}", code="install_keys_unavailable"
            )
        try:
            key = load_pem_public_key(response.content[:16384])
        except ValueError:
            raise UpstreamError(
                "the Connect install key server sent an unreadable key", code="install_keys_invalid"
            ) from None
        if not isinstance(key, RSAPublicKey):
            raise AuthError("install key is not an RSA key")
        return key
