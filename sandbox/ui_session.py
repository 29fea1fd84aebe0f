"""Who is browsing the sandbox's pages: a plain cookie set by the user switcher (no login in a sandbox)."""

from __future__ import annotations

from flask import Response, request

from sandbox.directory import ADMIN_ID, User
from sandbox.state import SandboxState

COOKIE = "sandbox_user"


def cookie_user(state: SandboxState) -> User | None:
    """The user the cookie names, if it names a real person."""
    user = state.directory.user(request.cookies.get(COOKIE, ""))
    return user if user is not None and user.account_type == "atlassian" else None


def browsing_user(state: SandboxState) -> User:
    """The cookie's user, or the site admin for a first visit."""
    return cookie_user(state) or state.directory.users[ADMIN_ID]


def remember(response: Response, account_id: str) -> Response:
    response.set_cookie(COOKIE, account_id, httponly=True, samesite="Lax", max_age=30 * 24 * 3600)
    return response
