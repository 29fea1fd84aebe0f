"""Atlassian's public keys for signed installs, fetched by `kid` and cached."""

from __future__ import annotations

import re
import threading
import time

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from errors import AuthError, UpstreamError

KID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


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
        self._lock = threading.Lock()

    def get(self, kid: object) -> RSAPublicKey:
        if not isinstance(kid, str) or not KID_PATTERN.match(kid):
            raise AuthError("install token has no valid kid")
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(kid)
            if cached and now - cached[0] < self.ttl:
                return cached[1]
        key = self._fetch(kid)
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
