"""Lifecycle callbacks (installed, uninstalled, enabled, disabled), each RS256-signed by Atlassian."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import Blueprint, Response, current_app, request

from confluence.hosts import host_allowed
from connect.install_keys import InstallKeyStore
from connect.qsh import qsh
from connect.tokens import LEEWAY_SECONDS, unverified_issuer
from errors import AuthError, NotFoundError, ValidationError
from models import TenantSettings, db
from models.secrets import SecretBox
from models.tenant import Tenant, find_tenant

log = logging.getLogger(__name__)

EVENTS = ("installed", "uninstalled", "enabled", "disabled")

bp = Blueprint("lifecycle", __name__)


def verify_install_token(token: str, *, keys: InstallKeyStore, audience: str, expected_qsh: str) -> dict[str, Any]:
    """Check an Atlassian-signed lifecycle token: RS256 only, key by kid, aud = our base URL, qsh."""
    unverified_issuer(token, "RS256")
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise AuthError("malformed token") from None
    key = keys.get(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=[audience, audience + "/"],
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "exp", "iat", "qsh", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("install token expired") from None
    except jwt.InvalidAudienceError:
        raise AuthError("install token audience is not this app") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"install token lacks the {exc.claim} claim") from None
    except jwt.PyJWTError:
        raise AuthError("invalid install token signature") from None
    if claims.get("qsh") != expected_qsh:
        raise AuthError("install token qsh does not match the request")
    return claims


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("lifecycle body must be a JSON object")
    return data


def _text(payload: dict[str, Any], name: str, *, required: bool = True, limit: int = 512) -> str | None:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(f"lifecycle body lacks {name}")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(f"lifecycle body has an invalid {name}")
    return value


@bp.post("/lifecycle/<event>")
def lifecycle(event: str) -> Response:
    if event not in EVENTS:
        raise NotFoundError("no such lifecycle event")
    config = current_app.config
    header = request.headers.get("Authorization", "")
    if not header.startswith("JWT "):
        raise AuthError("lifecycle call without a JWT")
    base_path = urlsplit(config["BASE_URL"]).path
    claims = verify_install_token(
        header[4:].strip(),
        keys=current_app.extensions["pagemail.install_keys"],
        audience=config["BASE_URL"],
        expected_qsh=qsh("POST", request.script_root + request.path, request.query_string.decode("latin-1"), base_path),
    )
    payload = _payload()
    client_key = _text(payload, "clientKey", limit=255)
    if claims["iss"] != client_key:
        raise AuthError("install token issuer does not match the clientKey")
    if payload.get("eventType") not in (None, event):
        raise ValidationError("lifecycle eventType does not match the callback")
    base_url = _text(payload, "baseUrl")
    assert base_url is not None and client_key is not None
    if not host_allowed(base_url, config["CONNECT_ALLOWED_HOSTS"], config["CONNECT_ALLOW_INSECURE_HOSTS"]):
        raise AuthError("tenant host is not allowed")
    tenant = find_tenant(client_key)
    if tenant is not None and tenant.door != Tenant.CONNECT:
        # Keys of another door's installations (`forge:<cloudId>`) are never a Connect clientKey.
        raise AuthError("clientKey belongs to another installation")
    box: SecretBox = current_app.extensions["pagemail.secrets"]
    if event == "installed":
        install(tenant, payload, client_key, base_url, box)
    elif tenant is None:
        raise NotFoundError("unknown tenant")
    elif tenant.base_url.rstrip("/") != base_url.rstrip("/"):
        raise AuthError("lifecycle baseUrl does not match the installed tenant")
    elif event == "uninstalled":
        # Deletes the tenant and, by cascade, everything it owns, in one transaction.
        db.session.delete(tenant)
    else:
        tenant.enabled = event == "enabled"
    db.session.commit()
    current_app.extensions["pagemail.tenants"].invalidate(client_key)
    log.info("lifecycle event", extra={"event": event, "tenant_id": tenant.id if tenant else None})
    return Response(status=204)


def install(tenant: Tenant | None, payload: dict[str, Any], client_key: str, base_url: str, box: SecretBox) -> Tenant:
    secret = _text(payload, "sharedSecret", limit=1024)
    assert secret is not None
    if tenant is None:
        tenant = Tenant(client_key=client_key, installed_at=datetime.now(UTC))
        tenant.settings = TenantSettings()
        db.session.add(tenant)
    tenant.base_url = base_url.rstrip("/")
    tenant.display_url = (_text(payload, "displayUrl", required=False) or base_url).rstrip("/")
    tenant.product_type = _text(payload, "productType", required=False, limit=32) or "confluence"
    tenant.oauth_client_id = _text(payload, "oauthClientId", required=False, limit=255)
    tenant.cloud_id = _text(payload, "cloudId", required=False, limit=255)
    tenant.enabled = True
    tenant.shared_secret_encrypted = box.encrypt(secret, tenant=client_key, field=Tenant.SHARED_SECRET_FIELD)
    tenant.updated_at = datetime.now(UTC)
    return tenant
