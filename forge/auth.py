"""Request authentication for the Forge door: a verified invocation → the neutral Identity the views use.

The tenant is the Forge installation of the invocation's site (`context.cloudId`); the user is the FIT's
`principal`; Confluence is called through the invocation's `apiBaseUrl` with the tokens Forge sent along. Nothing
is written here: a refused invocation changes nothing.
"""

from __future__ import annotations

from flask import current_app, request

from errors import AuthError
from forge.credentials import SYSTEM_TOKEN_HEADER, USER_TOKEN_HEADER, ForgeCredentials, token_from
from forge.fit import FitRules, Invocation, verify_invocation_token
from identity import Identity, TenantRef
from models.tenant import Tenant, find_tenant

KEYS = "pagemail.forge_keys"


def fit_rules() -> FitRules:
    config = current_app.config
    return FitRules(
        app_id=config["FORGE_APP_ID"],
        api_hosts=config["FORGE_API_HOSTS"],
        allow_insecure=bool(config["CONNECT_ALLOW_INSECURE_HOSTS"]),
    )


def verify(token: str, *, require_user: bool) -> Invocation:
    return verify_invocation_token(
        token, keys=current_app.extensions[KEYS], rules=fit_rules(), require_user=require_user
    )


def installed_tenant(invocation: Invocation) -> Tenant:
    """The Forge tenant of the invocation's site, installed by this very installation and enabled."""
    tenant = find_tenant(Tenant.forge_key(invocation.cloud_id), door=Tenant.FORGE)
    if tenant is None or not tenant.enabled:
        raise AuthError("this site has not installed the Forge app")
    if tenant.installation_id != invocation.installation_id:
        raise AuthError("invocation token is for another installation")
    return tenant


def authenticate_invocation(token: str) -> Identity:
    """The Forge door of the API: `Authorization: Bearer <FIT>` (registered in forge/door.py)."""
    invocation = verify(token, require_user=True)
    tenant = installed_tenant(invocation)
    as_user = ForgeCredentials(invocation.api_base_url, token_from(request.headers.get(USER_TOKEN_HEADER), "user"))
    as_app = ForgeCredentials(invocation.api_base_url, token_from(request.headers.get(SYSTEM_TOKEN_HEADER), "app"))
    # The site as people see it (links, avatars): the invocation's siteUrl when Forge sends it, else the API base.
    site = invocation.site_url or invocation.api_base_url
    return Identity(
        tenant=TenantRef(tenant.id, tenant.client_key, site.rstrip("/") + "/wiki"),
        account_id=invocation.account_id,
        as_user=as_user,
        as_app=as_app,
        door="forge",
        kind="invocation",
    )
