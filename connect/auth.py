"""Request authentication for the Connect door: module tokens (iframe URLs) and context tokens (the iframe's API calls).

Both produce the neutral `Identity` (identity.py) with the credentials to call Confluence as the user
(impersonation) and as the app (app JWT). Views get it from `current_identity()`; nothing else reads tokens.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request

from connect.confluence import AppCredentials, UserCredentials
from connect.outgoing import TenantAccess
from connect.qsh import qsh
from connect.tenant_cache import CachedTenant, TenantCache
from connect.tokens import SignatureError, VerifiedToken, verify_hs256
from errors import AuthError
from identity import Identity, TenantRef, api_auth_required, current_identity
from models.secrets import SecretBox, SecretError
from models.tenant import Tenant, find_tenant

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "Identity",
    "authenticate",
    "authenticate_context_token",
    "cached_module_tenant",
    "context_token_required",
    "current_identity",
    "module_token_required",
]

# The /api routes take either door's credential (identity.api_auth_required); this name stays for the views that
# still import it from here (views/admin_api.py). A Connect context token is one of the credentials it accepts.
context_token_required = api_auth_required


def tenant_secret(tenant: Tenant, box: SecretBox) -> str:
    try:
        return box.decrypt(tenant.shared_secret_encrypted, tenant=tenant.client_key, field=Tenant.SHARED_SECRET_FIELD)
    except SecretError:
        raise AuthError("tenant secret unavailable") from None


def load_tenant(client_key: str, box: SecretBox) -> CachedTenant | None:
    # Connect tenants only: a Forge installation's row has no shared secret and is never found by `iss`.
    tenant = find_tenant(client_key, door=Tenant.CONNECT)
    if tenant is None:
        return None
    ref = TenantRef(tenant.id, tenant.client_key, tenant.base_url)
    return CachedTenant(ref, tenant.oauth_client_id, tenant.enabled, tenant_secret(tenant, box))


def _credentials(entry: CachedTenant, account_id: str | None) -> tuple[UserCredentials | None, AppCredentials]:
    access = TenantAccess(entry.ref.client_key, entry.ref.base_url, entry.oauth_client_id, entry.secret)
    as_app = AppCredentials(access, current_app.config["APP_KEY"])
    if account_id is None:
        return None, as_app
    return UserCredentials(access, current_app.extensions["pagemail.user_tokens"], account_id), as_app


def authenticate(token: str, *, kind: str) -> Identity:
    box: SecretBox = current_app.extensions["pagemail.secrets"]
    cache: TenantCache = current_app.extensions["pagemail.tenants"]
    found: dict[str, CachedTenant] = {}
    # A call that acts (a send, a saved setting) reads the tenant from the database: another process may have just
    # disabled or uninstalled it, which this process's cache would not know for up to its TTL. Reads use the cache.
    acts = request.method not in ("GET", "HEAD", "OPTIONS")

    def secret_for(client_key: str, *, fresh: bool = acts) -> str | None:
        entry = None if fresh else cache.get(client_key)
        if entry is None:
            entry = load_tenant(client_key, box)
            if entry is None:
                return None
            cache.put(client_key, entry)
        if not entry.enabled:
            return None
        found["tenant"] = entry
        return entry.secret

    expected: Callable[[], str] | None = None
    if kind == "module":
        base_path = urlsplit(current_app.config["BASE_URL"]).path

        def expected() -> str:
            return qsh(
                request.method, request.script_root + request.path, request.query_string.decode("latin-1"), base_path
            )

    try:
        verified: VerifiedToken = verify_hs256(token, secret_for=secret_for, expected_qsh=expected)
    except SignatureError:
        # Perhaps re-installed through another instance since we cached the secret: check once against the database.
        verified = verify_hs256(token, secret_for=lambda ck: secret_for(ck, fresh=True), expected_qsh=expected)
    entry = found["tenant"]
    as_user, as_app = _credentials(entry, verified.account_id)
    return Identity(
        tenant=entry.ref,
        account_id=verified.account_id,
        as_user=as_user,
        as_app=as_app,
        door="connect",
        context=verified.context,
        kind=kind,
    )


def authenticate_context_token(token: str) -> Identity:
    """The Connect door of the API: `Authorization: JWT <context token>` (registered in app.py)."""
    return authenticate(token, kind="context")


def _token_from_header() -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("JWT "):
        raise AuthError("missing Authorization: JWT header")
    return header[4:].strip()


def module_token_required(view: Callable[P, R]) -> Callable[P, R]:
    """For iframe module URLs: the token is in `?jwt=` (or the Authorization header), qsh over the request."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = request.args.get("jwt") or _token_from_header()
        g.identity = authenticate(token, kind="module")
        return view(*args, **kwargs)

    return wrapper


def cached_module_tenant(
    app: Flask, token: str, path: str, params: list[tuple[str, str]], base_path: str
) -> CachedTenant | None:
    """A module URL's token checked against this process's tenant cache alone (no database, no request context):
    the tenant when the token is good, None when the full check must decide (a cache miss, a disabled tenant, any
    refusal). The full check (`module_token_required`) then runs from scratch and answers as always."""
    cache: TenantCache = app.extensions["pagemail.tenants"]
    found: list[CachedTenant] = []

    def secret_for(client_key: str) -> str | None:
        entry = cache.get(client_key)
        if entry is None or not entry.enabled:
            return None
        found.append(entry)
        return entry.secret

    try:
        verify_hs256(token, secret_for=secret_for, expected_qsh=lambda: qsh("GET", path, params, base_path))
    except AuthError:
        return None
    return found[0]
