"""Incoming HS256 tokens from Confluence: module (iframe URL) tokens and context tokens.

Both are signed with the tenant's shared secret and found by `iss`. They differ only in `qsh`: a module token
carries the hash of the request it was issued for; a context token carries the literal "context-qsh". Neither is
accepted where the other is expected.

Every iframe load and API call checks one of these, so the check is done in one pass: the token is split and its
header and claims are base64- and JSON-decoded once, the signature is one HMAC-SHA256 compared in constant time,
and the claims are checked as PyJWT checks them (`exp`, `iat`, `nbf` with 30 s leeway; `iss`, `exp`, `iat`, `qsh`
required), only stricter where PyJWT is lax: times must be finite numbers (not strings, booleans, NaN or
infinity). `tests/connect/test_tokens.py` holds this to PyJWT's answers and names where it is stricter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connect.qsh import CONTEXT_QSH
from errors import AuthError

LEEWAY_SECONDS = 30
MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ("iss", "exp", "iat", "qsh")


class SignatureError(AuthError):
    """The signature did not match the secret used (a caller with a cached secret may retry with a fresh one)."""


@dataclass(frozen=True)
class VerifiedToken:
    client_key: str
    account_id: str | None
    context: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedToken:
    """A compact JWS taken apart once; nothing in it is trusted until the signature is checked."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes = field(repr=False)


def _b64url(segment: bytes) -> bytes:
    # Padding is optional in a JWS, as PyJWT reads it.
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: an exp of NaN would never expire


def _json_object(segment: bytes) -> dict[str, Any]:
    value = json.loads(_b64url(segment), parse_constant=_no_constant)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def parse_token(token: str) -> ParsedToken:
    """Split and decode a compact JWS (three base64url segments); any malformation is an AuthError."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AuthError("missing or oversized token")
    try:
        raw = token.encode("ascii")
        signing_input, _, signature = raw.rpartition(b".")
        header, dot, payload = signing_input.partition(b".")
        if not dot or b"." in payload:
            raise ValueError("not three segments")
        return ParsedToken(_json_object(header), _json_object(payload), signing_input, _b64url(signature))
    except (ValueError, binascii.Error, RecursionError):  # UnicodeError and JSONDecodeError are ValueErrors
        raise AuthError("malformed token") from None


def issuer_of(parsed: ParsedToken, allowed_algorithm: str) -> str:
    """`iss` (to find the tenant) after checking the header's algorithm; nothing is trusted yet."""
    if parsed.header.get("alg") != allowed_algorithm:
        raise AuthError(f"token algorithm must be {allowed_algorithm}")
    issuer = parsed.claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AuthError("token has no issuer")
    return issuer


def unverified_issuer(token: str, allowed_algorithm: str) -> str:
    """Read `iss` after checking the header's algorithm (lifecycle tokens check the rest with their key)."""
    return issuer_of(parse_token(token), allowed_algorithm)


def _timestamp(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AuthError("invalid token")  # 1e400 parses as infinity: it must not mean "never expires"
    return value


def check_claims(claims: dict[str, Any], now: float) -> None:
    """PyJWT's rules: required claims present; expired when exp <= now - leeway; not yet valid when iat or nbf is
    after now + leeway; `sub` and `jti`, when present, strings."""
    for name in REQUIRED_CLAIMS:
        if claims.get(name) is None:
            raise AuthError(f"token lacks the {name} claim")
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise AuthError("invalid token")
    if _timestamp(claims, "iat") > now + LEEWAY_SECONDS:
        raise AuthError("token not yet valid")
    if "nbf" in claims and _timestamp(claims, "nbf") > now + LEEWAY_SECONDS:
        raise AuthError("token not yet valid")
    if _timestamp(claims, "exp") <= now - LEEWAY_SECONDS:
        raise AuthError("token expired")


def check_signature(parsed: ParsedToken, secret: str) -> None:
    expected = hmac.new(secret.encode("utf-8"), parsed.signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, parsed.signature):
        raise SignatureError("invalid token signature")


def verify_hs256(
    token: str,
    *,
    secret_for: Callable[[str], str | None],
    expected_qsh: Callable[[], str] | None,
) -> VerifiedToken:
    """Verify a tenant token. `expected_qsh` None means a context token (qsh must be "context-qsh")."""
    parsed = parse_token(token)
    issuer = issuer_of(parsed, "HS256")
    secret = secret_for(issuer)
    if secret is None:
        raise AuthError("unknown or disabled tenant")
    check_signature(parsed, secret)  # before the claims: an unsigned token's claims say nothing
    claims = parsed.claims
    check_claims(claims, time.time())
    token_qsh = claims["qsh"]
    if expected_qsh is None:
        if token_qsh != CONTEXT_QSH:
            raise AuthError("a context token is required here")
    elif token_qsh == CONTEXT_QSH:
        raise AuthError("a context token is not accepted here")
    elif token_qsh != expected_qsh():
        raise AuthError("token qsh does not match the request")
    sub = claims.get("sub")
    context = claims.get("context")
    return VerifiedToken(
        client_key=issuer,
        account_id=sub if isinstance(sub, str) and sub else None,
        context=context if isinstance(context, dict) else {},
        claims=claims,
    )
