"""Incoming HS256 tokens from Confluence: module (iframe URL) tokens and context tokens.

Both are signed with the tenant's shared secret and found by `iss`. They differ only in `qsh`: a module token
carries the hash of the request it was issued for; a context token carries the literal "context-qsh". Neither is
accepted where the other is expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from connect.qsh import CONTEXT_QSH
from errors import AuthError

LEEWAY_SECONDS = 30
MAX_TOKEN_LENGTH = 8192


class SignatureError(AuthError):
    """The signature did not match the secret used (a caller with a cached secret may retry with a fresh one)."""


@dataclass(frozen=True)
class VerifiedToken:
    client_key: str
    account_id: str | None
    context: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)


def unverified_issuer(token: str, allowed_algorithm: str) -> str:
    """Read `iss` (to find the tenant) after checking the header's algorithm; nothing is trusted yet."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AuthError("missing or oversized token")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthError("malformed token") from None
    if header.get("alg") != allowed_algorithm:
        raise AuthError(f"token algorithm must be {allowed_algorithm}")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AuthError("token has no issuer")
    return issuer


def verify_hs256(
    token: str,
    *,
    secret_for: Callable[[str], str | None],
    expected_qsh: Callable[[], str] | None,
) -> VerifiedToken:
    """Verify a tenant token. `expected_qsh` None means a context token (qsh must be "context-qsh")."""
    issuer = unverified_issuer(token, "HS256")
    secret = secret_for(issuer)
    if secret is None:
        raise AuthError("unknown or disabled tenant")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "exp", "iat", "qsh"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.ImmatureSignatureError:
        raise AuthError("token not yet valid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"token lacks the {exc.claim} claim") from None
    except jwt.InvalidSignatureError:
        raise SignatureError("invalid token signature") from None
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    token_qsh = claims.get("qsh")
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
