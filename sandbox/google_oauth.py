"""Google's OAuth 2.0 token endpoint for service accounts (`POST /google/token`, the key file's `token_uri`).

`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 `assertion` signed by a service account the
sandbox knows: `iss` = its client_email, `aud` = this endpoint, `scope`, `sub` = the Workspace user to act as
(domain-wide delegation), `iat`/`exp` at most an hour apart. Errors answer as Google does (`error`,
`error_description`). Served on the sandbox's https listener.
"""

from __future__ import annotations

import jwt
from flask import Blueprint, Response, jsonify, request

from sandbox import mail_providers as mp
from sandbox.state import current_state

bp = Blueprint("google_oauth", __name__)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
NOT_DELEGATED = (
    "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the "
    "scopes requested."
)

SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp "
    "values in the JWT claim."
)


def _error(status: int, error: str, description: str) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/google/token")
def token() -> Response:
    providers = current_state().providers
    if request.form.get("grant_type") != GRANT_TYPE:
        return _error(400, "unsupported_grant_type", "Invalid grant_type: " + str(request.form.get("grant_type"))[:40])
    assertion = request.form.get("assertion") or ""
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _error(400, "invalid_grant", "Invalid JWT: could not be parsed.")
    if unverified.get("iss") != mp.GOOGLE_CLIENT_EMAIL:
        return _error(400, "invalid_grant", "Invalid grant: account not found")
    if providers.has("key_revoked"):
        return _error(400, "invalid_grant", "Invalid JWT Signature.")
    if providers.has("clock_skew"):
        return _error(400, "invalid_grant", SHORT_LIVED)
    try:
        claims = jwt.decode(
            assertion,
            providers.private_key.public_key(),
            algorithms=["RS256"],
            audience=request.base_url,
            leeway=30,
            options={"require": ["iss", "aud", "iat", "exp", "scope"]},
        )
    except jwt.InvalidSignatureError:
        return _error(400, "invalid_grant", "Invalid JWT Signature.")
    except jwt.InvalidAudienceError:
        return _error(400, "invalid_grant", "Invalid JWT: Failed audience check.")
    except jwt.PyJWTError:
        return _error(
            400,
            "invalid_grant",
            SHORT_LIVED,
        )
    if not isinstance(claims["exp"], int | float) or claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME:
        return _error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes).")
    subject = str(claims.get("sub") or "").lower()
    if providers.has("delegation_missing") or not subject or claims["scope"] != mp.GOOGLE_SCOPE:
        return _error(401, "unauthorized_client", NOT_DELEGATED)
    if subject not in (mp.GOOGLE_MAILBOX, mp.GOOGLE_OTHER_MAILBOX):
        return _error(400, "invalid_grant", "Invalid email or User ID")
    access_token, lifetime = providers.issue(subject, mp.GOOGLE_SCOPE, f"google:{mp.GOOGLE_CLIENT_EMAIL}")
    response = jsonify({"access_token": access_token, "expires_in": lifetime, "token_type": "Bearer"})
    response.headers["Cache-Control"] = "no-store"
    return response
