"""Tokens as Confluence issues them, for tests: module (iframe URL) tokens and context tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt
from flask import Flask

from connect.qsh import CONTEXT_QSH, qsh
from models import Tenant, TenantSettings, db

CLIENT_KEY = "test-client-key-1"
SECRET = "shared-secret-for-tests-0123456789abcdef"


def add_tenant(
    app: Flask,
    client_key: str = CLIENT_KEY,
    secret: str = SECRET,
    base_url: str = "https://acme.atlassian.net/wiki",
    enabled: bool = True,
) -> int:
    box = app.extensions["pagemail.secrets"]
    with app.app_context():
        tenant = Tenant(
            client_key=client_key,
            base_url=base_url,
            display_url=base_url,
            oauth_client_id="oauth-1",
            enabled=enabled,
            shared_secret_encrypted=box.encrypt(secret, tenant=client_key, field=Tenant.SHARED_SECRET_FIELD),
        )
        tenant.settings = TenantSettings()
        db.session.add(tenant)
        db.session.commit()
        return tenant.id


def module_token(
    method: str,
    path: str,
    query: str = "",
    *,
    secret: str = SECRET,
    iss: str = CLIENT_KEY,
    sub: str | None = "user-1",
    now: float | None = None,
    algorithm: str = "HS256",
    **overrides: Any,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "sub": sub,
        "iat": issued,
        "exp": issued + 180,
        "qsh": qsh(method, path, query),
        "context": {},
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


def context_token(
    *,
    secret: str = SECRET,
    iss: str = CLIENT_KEY,
    sub: str | None = "user-1",
    now: float | None = None,
    content_id: str = "1",
    **overrides: Any,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "sub": sub,
        "iat": issued,
        "exp": issued + 900,
        "qsh": CONTEXT_QSH,
        "context": {"confluence": {"content": {"id": content_id}}},
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")
