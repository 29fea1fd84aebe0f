"""Microsoft Entra ID's v2.0 endpoints as MSAL uses them for app-only tokens (client credentials).

`GET /{tenant}/v2.0/.well-known/openid-configuration` (MSAL's tenant discovery) and
`POST /{tenant}/oauth2/v2.0/token` (`grant_type=client_credentials`, `client_id`, `client_secret`, `scope`).
Errors answer as Entra does: `error`, `error_description` starting with the AADSTS code, `error_codes`.
Served on the sandbox's https listener (MSAL accepts https authorities only).
"""

from __future__ import annotations

import base64
import hmac
import uuid
from datetime import UTC, datetime

import jwt
from cryptography.hazmat.primitives import hashes
from flask import Blueprint, Response, jsonify, request

from sandbox import mail_providers as mp
from sandbox.state import current_state

bp = Blueprint("entra", __name__)


def _error(status: int, error: str, code: int, text: str) -> Response:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    response = jsonify(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} "
            f"Timestamp: {now}",
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
        }
    )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _known_tenant(tenant: str) -> bool:
    return tenant.lower() in (mp.ENTRA_TENANT_ID, mp.ENTRA_TENANT_DOMAIN)


def _tenant_not_found(tenant: str) -> Response:
    return _error(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant[:64]}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant.",
    )


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant: str) -> Response:
    if not _known_tenant(tenant):
        return _tenant_not_found(tenant)
    base = request.host_url.rstrip("/")
    return jsonify(
        {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "issuer": f"{base}/{mp.ENTRA_TENANT_ID}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "tenant_region_scope": "EU",
        }
    )


@bp.post("/<tenant>/oauth2/v2.0/token")
def token(tenant: str) -> Response:
    providers = current_state().providers
    form = request.form
    if not _known_tenant(tenant):
        return _tenant_not_found(tenant)
    if form.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    client_id = (form.get("client_id") or "").lower()
    if client_id != mp.ENTRA_CLIENT_ID:
        return _error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id[:64]}' was not found in the directory "
            f"'{mp.ENTRA_TENANT_DOMAIN}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )
    if providers.has("clock_skew"):
        return _error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
    if providers.has("secret_expired"):
        return _error(
            401,
            "invalid_client",
            7000222,
            f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create "
            f"new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
            "added security: https://aka.ms/certCreds.",
        )
    if form.get("client_assertion"):
        refused = _assertion_problem(form.get("client_assertion_type"), form["client_assertion"], client_id)
        if refused is not None:
            return refused
    elif providers.has("secret_revoked") or not hmac.compare_digest(
        (form.get("client_secret") or "").encode(), mp.ENTRA_CLIENT_SECRET.encode()
    ):
        return _error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
            f"not the client secret ID, for a secret added to app '{client_id}'.",
        )
    if (form.get("scope") or "").split() != [mp.MICROSOFT_SCOPE]:
        return _error(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
    if providers.has("consent_missing"):
        return _error(
            400,
            "invalid_grant",
            65001,
            f"The user or administrator has not consented to use the application with ID '{client_id}' named "
            f"'{mp.ENTRA_APP_NAME}'. Send an interactive authorization request for this user and resource.",
        )
    access_token, lifetime = providers.issue(client_id, "SMTP.SendAsApp", f"entra:{mp.ENTRA_TENANT_ID}")
    response = jsonify(
        {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access_token}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _assertion_problem(kind: str | None, assertion: str, client_id: str) -> Response | None:
    """A certificate credential: a JWT signed with the key of a certificate registered on the app (x5t#S256 or x5t
    names it), for this token endpoint, issued by and about the app."""
    if kind != ASSERTION_TYPE:
        return _error(400, "invalid_request", 90002, "client_assertion_type is not valid.")
    _key, certificate = current_state().providers.app_certificate
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        return _error(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
    wanted = {
        "x5t#S256": certificate.fingerprint(hashes.SHA256()),
        "x5t": certificate.fingerprint(hashes.SHA1()),  # noqa: S303 (Entra's legacy thumbprint)
    }
    used = next(((name, _thumbprint(header[name])) for name in wanted if name in header), None)
    if used is None or not hmac.compare_digest(used[1], wanted[used[0]]):
        shown = used[1].hex().upper() if used else ""
        return _error(
            401,
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application. "
            f"[Reason - The key was not found., Thumbprint of key used by client: '{shown[:64]}', Please visit the "
            f"Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]",
        )
    try:
        claims = jwt.decode(
            assertion,
            certificate.public_key(),
            algorithms=["PS256", "RS256"],
            audience=request.base_url,
            issuer=client_id,
            leeway=30,
            options={"require": ["aud", "iss", "sub", "exp"]},
        )
    except jwt.InvalidSignatureError:
        return _error(401, "invalid_client", 700027, "Client assertion contains an invalid signature.")
    except jwt.PyJWTError as exc:
        return _error(401, "invalid_client", 700024, f"Client assertion is not valid ({type(exc).__name__}).")
    if str(claims.get("sub", "")).lower() != client_id:
        return _error(401, "invalid_client", 700021, "Client assertion application identifier doesn't match.")
    return None


def _thumbprint(value: object) -> bytes:
    """A base64url thumbprint from a JWT header (padded or not) as bytes; b"" when it is not one."""
    try:
        return base64.urlsafe_b64decode(str(value).rstrip("=") + "==")
    except ValueError:
        return b""
