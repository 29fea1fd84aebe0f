"""A Google Workspace token: a service account's signed assertion (RS256, google-auth), subject = the mailbox,
scope full Gmail (the only scope Gmail's SMTP accepts for XOAUTH2).

The key file names its own token endpoint (`token_uri`); a pasted key could name any host, and the signed assertion
would go there. So the URI must be https on Google's host (or, for local work, an allowed sandbox host).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from google.auth import crypt, exceptions, jwt
from google.auth.transport.requests import Request
from google.oauth2 import _client

from mail.oauth.errors import Throttled, TokenError, google_failure
from mail.oauth.http import RecordingSession

SCOPE = "https://mail.google.com/"
GOOGLE_TOKEN_HOST = "oauth2.googleapis.com"  # noqa: S105 (a host name, not a secret)
MAX_KEY_BYTES = 16 * 1024
ASSERTION_LIFETIME = 3600


def token_uri_problem(uri: Any, extra_hosts: Iterable[str] = ()) -> str | None:
    """None when the key's token URI is https on Google's token host (or one of `extra_hosts`, host[:port])."""
    if not isinstance(uri, str):
        return "token_uri must be text"
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return "token_uri must be an https URL"
    netloc = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    allowed = {GOOGLE_TOKEN_HOST, *(h.strip().lower() for h in extra_hosts if h.strip())}
    if parts.hostname.lower() not in allowed and netloc not in allowed:
        return f"token_uri must be on {GOOGLE_TOKEN_HOST}"
    return None


def key_problem(text: Any, extra_hosts: Iterable[str] = ()) -> str | None:
    """Why a pasted service-account key can't be used, or None."""
    if not isinstance(text, str) or len(text.encode("utf-8")) > MAX_KEY_BYTES:
        return f"must be the JSON key file's content (at most {MAX_KEY_BYTES // 1024} KB)"
    try:
        info = json.loads(text)
    except ValueError:
        return "is not JSON (paste the whole key file)"
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return 'is not a service account key (its "type" must be "service_account")'
    for name in ("client_email", "private_key", "token_uri"):
        if not isinstance(info.get(name), str) or not info[name].strip():
            return f"lacks {name}"
    try:
        key = load_pem_private_key(info["private_key"].encode("utf-8"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        return "has a private_key that can't be read"
    if not isinstance(key, rsa.RSAPrivateKey):
        return "must hold an RSA private key"  # Google signs service-account assertions with RS256 only
    return token_uri_problem(info["token_uri"], extra_hosts)


def fetch_token(
    key_text: str,
    mailbox: str,
    ca_bundle: str | None = None,
    *,
    remaining: Callable[[], float],
    extra_hosts: Iterable[str] = (),
) -> tuple[str, float]:
    """(access token, seconds it lives) or TokenError (Throttled for a 429).

    The key was checked when saved; its token URI is checked again here, since the signed assertion goes there and
    what is allowed may have changed since (another configuration, a key saved by an older release)."""
    try:
        info = json.loads(key_text)
    except ValueError:
        raise TokenError("oauth_key_invalid", provider_error="key") from None
    if not isinstance(info, dict) or token_uri_problem(info.get("token_uri"), extra_hosts):
        raise TokenError("oauth_key_invalid", provider_error="token_uri")
    session = RecordingSession(ca_bundle, remaining)
    try:
        try:
            now = int(time.time())
            payload = {
                "iss": info["client_email"],
                "sub": mailbox,
                "aud": info["token_uri"],
                "scope": SCOPE,
                "iat": now,
                "exp": now + ASSERTION_LIFETIME,
            }
            assertion = jwt.encode(crypt.RSASigner.from_service_account_info(info), payload)
        except (ValueError, TypeError, KeyError, exceptions.MalformedError):
            # A key that can't sign (not RSA, damaged): told as a key problem, never a 500.
            raise TokenError("oauth_key_invalid", provider_error="private_key") from None
        # No retries inside google-auth: a 429's Retry-After is honoured by the caller, within the send's budget.
        token, _expiry, _ = _client.jwt_grant(Request(session), info["token_uri"], assertion, can_retry=False)
    except exceptions.RefreshError:
        answer = session.last
        if answer is not None and answer.status == 429:
            raise Throttled(answer.retry_after) from None
        raise google_failure(answer.body if answer else None, answer.status if answer else None) from None
    except (exceptions.TransportError, requests.RequestException) as exc:
        raise TokenError("oauth_unavailable", provider_error=type(exc).__name__) from None
    finally:
        session.close()
    body = session.last.body if session.last else None
    lifetime = (body or {}).get("expires_in", 3600)
    return str(token), max(float(lifetime) if isinstance(lifetime, int | float) else 3600.0, 1.0)
