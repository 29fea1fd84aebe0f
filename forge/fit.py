"""Forge Invocation Tokens (FIT): the `Authorization: Bearer` of every call Forge Remote makes to us.

Checked like Atlassian says a remote must (and nothing trusted before the signature holds): RS256 only, the key by
`kid` from Forge's JWKS; `iss` = `forge/invocation-token`; `aud` = `ari:cloud:ecosystem::app/<FORGE_APP_ID>`;
`exp`/`nbf` with at most 30 s leeway; then the claims we act on: `app.installationId`, `app.apiBaseUrl` (an
allowed host, https unless insecure hosts are allowed for local work), `context.cloudId`, and the user in
`principal`. Every failure is an AuthError (401) with a short reason that holds nothing of the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt

from confluence.hosts import host_allowed
from errors import AuthError
from forge.jwks import JwksKeyStore

ISSUER = "forge/invocation-token"
APP_ARI_PREFIX = "ari:cloud:ecosystem::app/"
LEEWAY_SECONDS = 30
# A FIT carries the app, its installation, license and context: larger than a Connect token, still bounded.
MAX_TOKEN_LENGTH = 16384
CLOUD_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
ACCOUNT_ID = re.compile(r"[A-Za-z0-9:_-]{1,128}")
INSTALLATION_ID = re.compile(r"[A-Za-z0-9:/._-]{1,255}")
APP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def app_audience(app_id: str) -> str:
    return APP_ARI_PREFIX + app_id


@dataclass(frozen=True)
class Invocation:
    """What a verified FIT says about the call; the raw claims stay here for nobody to log."""

    installation_id: str
    api_base_url: str  # where this site's REST API is for this app, e.g. https://api.atlassian.com/ex/confluence/<id>
    cloud_id: str
    account_id: str | None
    site_url: str | None
    claims: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class FitRules:
    """What a FIT must satisfy here (from the configuration)."""

    app_id: str
    api_hosts: str
    allow_insecure: bool


def verify_invocation_token(token: str, *, keys: JwksKeyStore, rules: FitRules, require_user: bool) -> Invocation:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AuthError("missing or oversized invocation token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("malformed invocation token") from None
    # Before any key is looked up: "none", HS256 signed with the public key and the like never get further.
    if header.get("alg") != "RS256":
        raise AuthError("invocation token algorithm must be RS256")
    key = keys.get(header.get("kid"))
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=app_audience(rules.app_id),
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "nbf"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("invocation token expired") from None
    except jwt.ImmatureSignatureError:
        raise AuthError("invocation token not yet valid") from None
    except jwt.InvalidAudienceError:
        raise AuthError("invocation token is for another app") from None
    except jwt.InvalidIssuerError:
        raise AuthError("not a Forge invocation token") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"invocation token lacks the {exc.claim} claim") from None
    except jwt.PyJWTError:
        raise AuthError("invalid invocation token signature") from None
    return _invocation(claims, rules, require_user)


def _invocation(claims: dict[str, Any], rules: FitRules, require_user: bool) -> Invocation:
    app = claims.get("app")
    if not isinstance(app, dict):
        raise AuthError("invocation token lacks the app claim")
    app_id = app.get("id")
    if app_id is not None and app_id != app_audience(rules.app_id):
        raise AuthError("invocation token is for another app")
    installation_id = app.get("installationId")
    if not isinstance(installation_id, str) or not INSTALLATION_ID.fullmatch(installation_id):
        raise AuthError("invocation token lacks the installation")
    api_base_url = app.get("apiBaseUrl")
    if not isinstance(api_base_url, str) or not _plain_url(api_base_url):
        raise AuthError("invocation token lacks the API base URL")
    if not host_allowed(api_base_url, rules.api_hosts, rules.allow_insecure):
        raise AuthError("invocation token's API base URL is not an allowed host")
    context = claims.get("context")
    cloud_id = context.get("cloudId") if isinstance(context, dict) else None
    if not isinstance(cloud_id, str) or not CLOUD_ID.fullmatch(cloud_id):
        raise AuthError("invocation token lacks the site (context.cloudId)")
    principal = claims.get("principal")
    if principal is not None and (not isinstance(principal, str) or not ACCOUNT_ID.fullmatch(principal)):
        raise AuthError("invocation token has an invalid principal")
    if require_user and not principal:
        raise AuthError("a signed-in user is required")
    site_url = context.get("siteUrl") if isinstance(context, dict) else None
    return Invocation(
        installation_id=installation_id,
        api_base_url=api_base_url.rstrip("/"),
        cloud_id=cloud_id,
        account_id=principal or None,
        site_url=site_url.rstrip("/") if isinstance(site_url, str) and _plain_url(site_url) else None,
        claims=claims,
    )


def _plain_url(url: str) -> bool:
    """An http(s) URL with a host and nothing a path can't hold (no credentials, query or fragment)."""
    if len(url) > 512:
        return False
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.username
        and not parts.password
        and not parts.query
        and not parts.fragment
    )
