"""Atlassian's OAuth 2.0 JWT-bearer grant (user impersonation for Connect apps), and the tokens it issues.

`POST /oauth/oauth2/token` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
`assertion=<JWT>` and `scope=READ ACT_AS_USER`. The assertion is HS256 with the installation's shared
secret: `iss` = `urn:atlassian:connect:clientid:{oauthClientId}`, `sub` =
`urn:atlassian:connect:useraccountid:{accountId}`, `tnt` = the site's base URL, `aud` = the auth server
URL, `iat`, `exp` (at most 60 s later). Anything else is `400 invalid_grant` (or `invalid_scope`).
"""

from __future__ import annotations

from typing import Any

import jwt
from flask import Blueprint, Response, jsonify, request

from sandbox.bearer_tokens import TOKEN_LIFETIME
from sandbox.state import SandboxState, current_state

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ISSUER_PREFIX = "urn:atlassian:connect:clientid:"
SUBJECT_PREFIX = "urn:atlassian:connect:useraccountid:"
ASSERTION_MAX_LIFETIME = 60
LEEWAY = 30

bp = Blueprint("oauth", __name__)


class GrantError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _fail(error: str, description: str) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oauth/oauth2/token")
def token() -> Response:
    state = current_state()
    try:
        account_id, scopes, client_key = check_grant(state, request.form.to_dict())
    except GrantError as exc:
        return _fail(exc.error, exc.description)
    access_token = state.tokens.issue(account_id, scopes, client_key)
    request.environ["sandbox.account_id"] = account_id
    response = jsonify(
        {
            "access_token": access_token,
            "expires_in": TOKEN_LIFETIME,
            "token_type": "Bearer",
            "scope": " ".join(sorted(scopes)),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def check_grant(state: SandboxState, form: dict[str, Any]) -> tuple[str, frozenset[str], str]:
    """The impersonated account, the granted scopes and the client key, or GrantError."""
    if form.get("grant_type") != GRANT_TYPE:
        raise GrantError("unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
    assertion = form.get("assertion") or ""
    if not assertion:
        raise GrantError("invalid_request", "assertion is required")
    installation = state.installation
    if not installation.active:
        raise GrantError("invalid_grant", "no enabled app installation on this site")
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise GrantError("invalid_grant", "assertion is not a JWT")
    if header.get("alg") != "HS256":
        raise GrantError("invalid_grant", "assertion must be signed with HS256")
    try:
        claims = jwt.decode(
            assertion,
            installation.shared_secret,
            algorithms=["HS256"],
            audience=state.config.oauth_server_url,
            leeway=LEEWAY,
            options={"require": ["iss", "sub", "aud", "tnt", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise GrantError("invalid_grant", "assertion has expired")
    except jwt.InvalidAudienceError:
        raise GrantError("invalid_grant", "assertion aud must be the authorization server URL")
    except jwt.InvalidSignatureError:
        raise GrantError("invalid_grant", "assertion signature does not verify with the shared secret")
    except jwt.PyJWTError as exc:
        raise GrantError("invalid_grant", f"assertion rejected: {type(exc).__name__}")
    if claims["iss"] != ISSUER_PREFIX + installation.oauth_client_id:
        raise GrantError("invalid_grant", "assertion iss is not this installation's OAuth client id")
    if claims["tnt"] != state.config.tenant_base_url:
        raise GrantError("invalid_grant", "assertion tnt is not this site's base URL")
    if not isinstance(claims["exp"], int | float) or not isinstance(claims["iat"], int | float):
        raise GrantError("invalid_grant", "assertion iat and exp must be numbers")
    if claims["exp"] - claims["iat"] > ASSERTION_MAX_LIFETIME:
        raise GrantError("invalid_grant", f"assertion may live at most {ASSERTION_MAX_LIFETIME} seconds")
    subject = str(claims["sub"])
    account_id = subject.removeprefix(SUBJECT_PREFIX)
    user = state.directory.user(account_id)
    if not subject.startswith(SUBJECT_PREFIX) or user is None or user.account_type != "atlassian":
        raise GrantError("invalid_grant", "assertion sub is not a user of this site")
    requested = frozenset(str(form.get("scope") or "").split())
    if not requested:
        raise GrantError("invalid_scope", "scope is required (space-separated, e.g. READ ACT_AS_USER)")
    if "ACT_AS_USER" not in installation.scopes:
        raise GrantError("invalid_scope", "the app's descriptor does not ask for ACT_AS_USER")
    unknown = requested - installation.effective_scopes
    if unknown or any(scope != scope.upper() for scope in requested):
        raise GrantError("invalid_scope", "scope must be upper-case and within the app's descriptor scopes")
    return account_id, requested, installation.client_key
