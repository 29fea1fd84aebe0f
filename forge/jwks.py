"""The keys that sign Forge Invocation Tokens: Atlassian's JWKS (FORGE_JWKS_URL), cached by `kid`.

Forge rotates its signing keys by publishing the new one in the set. A token with a kid we don't know makes us
fetch the set again, but at most once every `min_refresh` seconds, so a flood of made-up kids can't turn into a
flood of fetches. The whole set is refreshed after `max_age` too, so a key Atlassian withdrew stops verifying.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from errors import AuthError

log = logging.getLogger(__name__)

# Key ids are only dictionary keys here (never part of a URL); bounded and plain all the same.
KID_PATTERN = re.compile(r"[A-Za-z0-9._:/+=-]{1,200}")
MAX_JWKS_BYTES = 256 * 1024
MAX_KEYS = 64
MIN_REFRESH_SECONDS = 60.0
MAX_AGE_SECONDS = 3600.0


class JwksKeyStore:
    """Fetches the JWKS with timeouts; answers RSA public keys by kid."""

    def __init__(
        self,
        url: str,
        session: requests.Session | None = None,
        *,
        timeout: float = 5.0,
        min_refresh: float = MIN_REFRESH_SECONDS,
        max_age: float = MAX_AGE_SECONDS,
    ) -> None:
        self.url = url
        self.session = session or requests.Session()
        self.timeout = timeout
        self.min_refresh = min_refresh
        self.max_age = max_age
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None  # the last successful fetch
        self._tried_at: float | None = None  # the last attempt, successful or not
        self._lock = threading.Lock()

    def get(self, kid: object) -> RSAPublicKey:
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            raise AuthError("invocation token has no valid kid")
        with self._lock:
            now = time.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at > self.max_age
            if (kid not in self._keys or stale) and self._may_fetch(now):
                self._refresh(now)
            key = self._keys.get(kid)
        if key is None:
            raise AuthError("invocation token is signed with an unknown key")
        return key

    def _may_fetch(self, now: float) -> bool:
        return self._tried_at is None or now - self._tried_at >= self.min_refresh

    def _refresh(self, now: float) -> None:
        """Replace the cached keys with the published set; on failure keep what we had (and say so in the log)."""
        self._tried_at = now
        try:
            keys = self._fetch()
        except AuthError as error:
            log.warning("forge signing keys unavailable", extra={"error": error.message})
            if not self._keys:
                raise
            return
        self._keys = keys
        self._fetched_at = now

    def _fetch(self) -> dict[str, RSAPublicKey]:
        try:
            response = self.session.get(self.url, timeout=self.timeout, allow_redirects=False, stream=True)
        except requests.RequestException:
            raise AuthError("the Forge signing keys are unreachable") from None
        try:
            if response.status_code != 200:
                raise AuthError(f"the Forge signing keys are unavailable ({response.status_code})")
            body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
        except requests.RequestException:
            raise AuthError("the Forge signing keys are unreachable") from None
        finally:
            response.close()
        if len(body) > MAX_JWKS_BYTES:
            raise AuthError("the Forge signing keys are unreadable")
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise AuthError("the Forge signing keys are unreadable") from None
        keys = _rsa_signing_keys(document)
        if not keys:
            raise AuthError("the Forge signing keys are unreadable")
        return keys


def _rsa_signing_keys(document: Any) -> dict[str, RSAPublicKey]:
    """RS256 signature keys with a kid; any other key in the set (encryption keys, other algorithms) is ignored."""
    entries = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str, RSAPublicKey] = {}
    for entry in entries[:MAX_KEYS] if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            continue
        try:
            key = jwt.PyJWK(entry, algorithm="RS256").key
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        if isinstance(key, RSAPublicKey):
            keys[kid] = key
    return keys
