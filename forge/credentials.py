"""The Forge door's credentials for Confluence: the invocation's `apiBaseUrl` and one of its OAuth tokens.

Forge sends them with each invocation (`x-forge-oauth-user`: as the user, `x-forge-oauth-system`: as the app).
They live in this object for the one request and go nowhere else: not into the database, a cache or a log line.
"""

from __future__ import annotations

import re

from errors import AuthError

# An OAuth access token (a JWT): visible ASCII only, so a header value can't carry a line break or a second header.
TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{16,8192}")
USER_TOKEN_HEADER = "x-forge-oauth-user"  # noqa: S105 (a header name, not a secret)
SYSTEM_TOKEN_HEADER = "x-forge-oauth-system"  # noqa: S105 (a header name, not a secret)


class ForgeCredentials:
    def __init__(self, api_base_url: str, token: str) -> None:
        # Confluence's REST API sits below /wiki of the site's API base URL (.../ex/confluence/<cloudId>/wiki/rest/api).
        self._base_url = api_base_url.rstrip("/") + "/wiki"
        self._token = token

    @property
    def base_url(self) -> str:
        return self._base_url

    def authorization(self, method: str, url: str) -> str:
        return "Bearer " + self._token

    def refused(self) -> bool:
        return False  # Forge hands out these tokens per invocation: there is no fresher one to ask for

    def __repr__(self) -> str:  # never the token
        return f"<ForgeCredentials {self._base_url}>"


def token_from(value: str | None, header: str) -> str:
    value = (value or "").strip()
    if not value:
        raise AuthError(f"missing {header} token")
    if not TOKEN.fullmatch(value):
        raise AuthError(f"malformed {header} token")
    return value
