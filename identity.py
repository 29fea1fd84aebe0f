"""Who is calling the API, the same whichever door the request came through (DESIGN §5, §7, §11).

A door (connect/, forge/) checks its own credential and hands back an `Identity`: the tenant, the user, and the
credentials to call Confluence as that user and as the app. Views read only this; no view and no mail/ code knows
which door a request used. app.py registers each door's authenticator under its `Authorization` scheme (Connect:
`JWT <context token>`, Forge: `Bearer <invocation token>`), so the doors never import each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app, g, request

from confluence.client import Credentials
from errors import AuthError

P = ParamSpec("P")
R = TypeVar("R")

DOORS = "pagemail.doors"


@dataclass(frozen=True)
class TenantRef:
    """The facts of an installed tenant that requests need; the ORM row is loaded only when a view needs more."""

    id: int
    client_key: str  # the row's key; also what its secrets are bound to
    base_url: str  # the Confluence site as people see it (links, avatars), e.g. https://acme.atlassian.net/wiki


@dataclass(frozen=True)
class Identity:
    tenant: TenantRef
    account_id: str | None
    # How to call Confluence: as the user (every content call) and as the app (email lookup, permission checks).
    as_user: Credentials | None = field(default=None, repr=False)
    as_app: Credentials | None = field(default=None, repr=False)
    door: str = "connect"  # for logs only: views never branch on it
    context: dict[str, Any] = field(default_factory=dict)
    kind: str = "context"  # module | context (Connect), invocation (Forge)

    @property
    def content_id(self) -> str | None:
        content = self.context.get("confluence", {}).get("content", {})
        value = content.get("id") if isinstance(content, dict) else None
        return str(value) if value else None

    def user_credentials(self) -> Credentials:
        if self.as_user is None:
            raise AuthError("a signed-in user is required")
        return self.as_user

    def app_credentials(self) -> Credentials:
        if self.as_app is None:
            raise AuthError("this request carries no app credentials")
        return self.as_app


# A door's check of one credential (the part after the scheme): an Identity, or AuthError.
Authenticator = Callable[[str], Identity]


def register_door(app: Flask, scheme: str, authenticate: Authenticator) -> None:
    app.extensions.setdefault(DOORS, {})[scheme.lower()] = authenticate


def authenticate_api_request() -> Identity:
    """The API caller, by whichever registered door its `Authorization` scheme names."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.strip().partition(" ")
    doors: dict[str, Authenticator] = current_app.extensions.get(DOORS, {})
    door = doors.get(scheme.lower())
    if door is None or not credential.strip():
        # Connect: `JWT <context token>`; Forge (when FORGE_APP_ID is set): `Bearer <invocation token>`.
        raise AuthError("missing Authorization header")
    identity = door(credential.strip())
    if not identity.account_id:
        raise AuthError("a signed-in user is required")
    return identity


def api_auth_required(view: Callable[P, R]) -> Callable[P, R]:
    """For the iframe API (`/api/*`): either door's credential, a signed-in user required."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.identity = authenticate_api_request()
        return view(*args, **kwargs)

    return wrapper


def current_identity() -> Identity:
    identity = g.get("identity")
    if identity is None:
        raise AuthError("not authenticated")
    return identity
