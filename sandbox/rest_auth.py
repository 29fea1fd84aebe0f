"""Who is calling the REST API, verified the way Confluence verifies it.

- `Authorization: JWT <token>`: the app itself. HS256 with the installation's shared secret, `iss` = the
  app key, `iat`/`exp` (30 s leeway), `qsh` over the request with the path relative to the site's base
  URL (`/rest/api/...`, without `/wiki`). The caller is the app's bot account; the descriptor's scopes apply.
- `Authorization: Bearer <token>`: a user, through a token from the sandbox's OAuth endpoint; the
  token's scopes apply and the user's page restrictions too.
- Through the Forge API gateway (`/ex/confluence/{cloudId}/wiki/...`, sandbox/forge_routes.py): only
  `Authorization: Bearer` with a Forge app system token (the app's bot account, like an app JWT) or app user
  token (the user); the manifest's scopes apply, and the same permission rules as above.
Anything else is 401.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import jwt
from flask import Request, request

from sandbox.directory import APP_ACCOUNT_ID
from sandbox.forge_platform import FORGE_CALL
from sandbox.qsh import query_string_hash
from sandbox.rest_errors import RestError
from sandbox.state import SandboxState

JWT_LEEWAY = 30


@dataclass(frozen=True)
class Caller:
    kind: str  # "jwt" (the app) or "bearer" (a user); through the Forge gateway "forge-app" or "forge-user"
    account_id: str
    scopes: frozenset[str]

    @property
    def is_app(self) -> bool:
        return self.kind in ("jwt", "forge-app")


def raw_path(req: Request) -> str:
    """The path exactly as the client sent it (what its qsh was computed over)."""
    raw = req.environ.get("RAW_URI") or req.environ.get("REQUEST_URI")
    return urlsplit(raw).path if raw else quote(req.path)


def authenticate(state: SandboxState, scope: str | None = "READ") -> Caller:
    """The verified caller of the current request, with `scope` checked (RestError otherwise)."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if request.environ.get(FORGE_CALL):
        if scheme.lower() != "bearer" or not credentials:
            raise RestError(401, "The API gateway takes Authorization: Bearer <Forge token> only")
        caller = _forge_caller(state, credentials)
    elif scheme.lower() == "jwt" and credentials:
        caller = _app_caller(state, credentials)
    elif scheme.lower() == "bearer" and credentials:
        caller = _user_caller(state, credentials)
    else:
        raise RestError(401, "Authentication required: send Authorization: JWT <token> or Bearer <token>")
    request.environ["sandbox.account_id"] = caller.account_id
    if scope is not None and scope not in caller.scopes:
        raise RestError(403, f"The request is not permitted by the granted scopes (needs {scope})")
    return caller


def _app_caller(state: SandboxState, token: str) -> Caller:
    installation = state.installation
    if not installation.installed or not installation.shared_secret:
        raise RestError(401, "No app is installed on this site")
    if not installation.enabled:
        raise RestError(401, "The app is disabled on this site")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise RestError(401, "Malformed JWT")
    if algorithm != "HS256":
        raise RestError(401, "JWT must be signed with HS256")
    try:
        claims = jwt.decode(
            token,
            installation.shared_secret,
            algorithms=["HS256"],
            leeway=JWT_LEEWAY,
            options={"require": ["iss", "iat", "exp", "qsh"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise RestError(401, "JWT has expired")
    except jwt.InvalidSignatureError:
        raise RestError(401, "JWT signature does not verify with the installation's shared secret")
    except jwt.PyJWTError as exc:
        raise RestError(401, f"JWT rejected: {type(exc).__name__}")
    if claims["iss"] != installation.app_key:
        raise RestError(401, "JWT iss must be the app key")
    expected = query_string_hash(request.method, raw_path(request), request.environ.get("QUERY_STRING", ""), "/wiki")
    if not hmac.compare_digest(str(claims["qsh"]), expected):
        raise RestError(401, "JWT qsh does not match the request (method, path relative to /wiki, query)")
    return Caller("jwt", APP_ACCOUNT_ID, installation.effective_scopes)


def _forge_caller(state: SandboxState, token: str) -> Caller:
    grant = state.forge.caller(token)
    if grant is None:
        raise RestError(401, "Unknown or expired Forge token")
    return Caller("forge-app" if grant.is_app else "forge-user", grant.account_id, grant.scopes)


def _user_caller(state: SandboxState, token: str) -> Caller:
    grant = state.tokens.lookup(token)
    installation = state.installation
    if grant is None or grant.client_key != installation.client_key or not installation.active:
        raise RestError(401, "Unknown or expired access token")
    return Caller("bearer", grant.account_id, grant.scopes)
