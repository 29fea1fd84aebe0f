"""The Forge app's lifecycle events, routed to us by the manifest's trigger (`endpoint` → LIFECYCLE_PATH).

`avi:forge:installed:app` creates the site's Forge tenant (or updates it: a re-install), `avi:forge:upgraded:app`
updates it, `avi:forge:uninstalled:app` deletes it and everything it owns. Every event carries a FIT; the site and
the installation are taken from the verified token, never from the body, and the body must agree with the token.
An uninstall of an installation that is no longer the site's current one (a late retry) deletes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from errors import AuthError, ValidationError
from forge.auth import fit_rules, verify
from forge.fit import Invocation, app_audience
from models import TenantSettings, db
from models.secrets import SecretBox
from models.tenant import Tenant, find_tenant

log = logging.getLogger(__name__)

# The manifest's lifecycle endpoint names this path (forge/manifest.yml, `endpoint` → `route.path`).
LIFECYCLE_PATH = "/lifecycle/forge"
INSTALLED = "avi:forge:installed:app"
UPGRADED = "avi:forge:upgraded:app"
UNINSTALLED = "avi:forge:uninstalled:app"
EVENTS = (INSTALLED, UPGRADED, UNINSTALLED)
SITE_ARI_PREFIX = "ari:cloud:confluence::site/"

bp = Blueprint("forge_lifecycle", __name__)


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("lifecycle event without a Forge invocation token")
    return token.strip()


def _event(invocation: Invocation) -> str:
    """The event type, after checking that the body speaks of the token's installation, site and app."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("lifecycle body must be a JSON object")
    event = body.get("eventType")
    if event not in EVENTS:
        raise ValidationError("unknown Forge lifecycle event", details={"field": "eventType"})
    installation = body.get("id")
    if installation is not None and installation != invocation.installation_id:
        raise AuthError("lifecycle event is for another installation")
    site = body.get("context")
    if site is not None and site != SITE_ARI_PREFIX + invocation.cloud_id:
        raise AuthError("lifecycle event is for another site")
    app = body.get("app")
    app_id = app.get("id") if isinstance(app, dict) else None
    expected = fit_rules().app_id
    if app_id is not None and app_id not in (expected, app_audience(expected)):
        raise AuthError("lifecycle event is for another app")
    return str(event)


@bp.post(LIFECYCLE_PATH)
def lifecycle() -> Response:
    invocation = verify(_bearer(), require_user=False)
    event = _event(invocation)
    key = Tenant.forge_key(invocation.cloud_id)
    tenant = find_tenant(key)
    if tenant is not None and tenant.door != Tenant.FORGE:
        raise AuthError("the site's key belongs to another installation")
    if event == UNINSTALLED:
        if tenant is not None and tenant.installation_id == invocation.installation_id:
            # Deletes the tenant and, by cascade, everything it owns, in one transaction.
            db.session.delete(tenant)
        else:
            log.info("forge uninstall of an installation that is not the site's current one; nothing deleted")
    else:
        tenant = _install(tenant, key, invocation)
    db.session.commit()
    log.info("forge lifecycle event", extra={"event": event, "tenant_id": tenant.id if tenant else None})
    return jsonify({})


def _install(tenant: Tenant | None, key: str, invocation: Invocation) -> Tenant:
    """Installed and upgraded alike: the row exists afterwards and names the current installation."""
    now = datetime.now(UTC)
    if tenant is None:
        box: SecretBox = current_app.extensions["pagemail.secrets"]
        tenant = Tenant(
            client_key=key,
            door=Tenant.FORGE,
            installed_at=now,
            # No shared secret behind the Forge door; an empty one, sealed like every other row's (models/tenant.py).
            shared_secret_encrypted=box.encrypt("", tenant=key, field=Tenant.SHARED_SECRET_FIELD),
        )
        tenant.settings = TenantSettings()
        db.session.add(tenant)
    tenant.installation_id = invocation.installation_id
    tenant.cloud_id = invocation.cloud_id
    tenant.base_url = invocation.api_base_url
    tenant.display_url = _site(invocation)
    tenant.product_type = "confluence"
    tenant.oauth_client_id = None
    tenant.enabled = True
    tenant.updated_at = now
    return tenant


def _site(invocation: Invocation) -> str:
    return (invocation.site_url or invocation.api_base_url).rstrip("/") + "/wiki"
