"""Request authentication for views: module tokens (iframe URLs) and context tokens (the iframe's API calls).

Views get the authenticated tenant and user from `current_identity()`; nothing else reads tokens.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, request

from connect.qsh import qsh
from connect.tenant_cache import CachedTenant, TenantCache, TenantRef
from connect.tokens import SignatureError, VerifiedToken, verify_hs256
from errors import AuthError
from models.secrets import SecretBox, SecretError
from models.tenant import Tenant, find_tenant

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Identity:
    tenant: TenantRef
    account_id: str | None
    context: dict[str, Any] = field(default_factory=dict)
    kind: str = "module"  # module | context
    shared_secret: str = field(default="", repr=False)

    @property
    def content_id(self) -> str | None:
        content = self.context.get("confluence", {}).get("content", {})
        value = content.get("id") if isinstance(content, dict) else None
        return str(value) if value else None


def tenant_secret(tenant: Tenant, box: SecretBox) -> str:
    try:
        return box.decrypt(tenant.shared_secret_encrypted, tenant=tenant.client_key, field=Tenant.SHARED_SECRET_FIELD)
    except SecretError:
        raise AuthError("tenant secret unavailable") from None


def load_tenant(client_key: str, box: SecretBox) -> CachedTenant | None:
    tenant = find_tenant(client_key)
    if tenant is None:
        return None
    ref = TenantRef(tenant.id, tenant.client_key, tenant.base_url, tenant.oauth_client_id)
    return CachedTenant(ref, tenant.enabled, tenant_secret(tenant, box))


def authenticate(token: str, *, kind: str) -> Identity:
    box: SecretBox = current_app.extensions["pagemail.secrets"]
    cache: TenantCache = current_app.extensions["pagemail.tenants"]
    found: dict[str, CachedTenant] = {}

    def secret_for(client_key: str, *, fresh: bool = False) -> str | None:
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
    return Identity(
        tenant=entry.ref,
        account_id=verified.account_id,
        context=verified.context,
        kind=kind,
        shared_secret=entry.secret,
    )


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


def context_token_required(view: Callable[P, R]) -> Callable[P, R]:
    """For the iframe API: `Authorization: JWT <context token>` only, qsh must be "context-qsh"."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.identity = authenticate(_token_from_header(), kind="context")
        if not g.identity.account_id:
            raise AuthError("a signed-in user is required")
        return view(*args, **kwargs)

    return wrapper


def current_identity() -> Identity:
    identity = g.get("identity")
    if identity is None:
        raise AuthError("not authenticated")
    return identity
