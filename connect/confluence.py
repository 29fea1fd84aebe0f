"""The Connect door's credentials for Confluence's REST API: as the app (JWT with qsh) or as a user (impersonation).

Everything else about calling Confluence (retries, budget, redirects, path checks) is door-independent and lives
in confluence/client.py; this module only says where the tenant's site is and what goes into `Authorization`.
"""

from __future__ import annotations

import requests

from confluence.client import DEFAULT_MEDIA_HOSTS, Deadline, RestClient, RetryPolicy
from connect.outgoing import TenantAccess, UserTokens, app_jwt


class AppCredentials:
    """As the app: a fresh JWT per request, its qsh over the request (path relative to the tenant's base URL)."""

    def __init__(self, tenant: TenantAccess, app_key: str) -> None:
        self.tenant = tenant
        self.app_key = app_key

    @property
    def base_url(self) -> str:
        return self.tenant.base_url

    def authorization(self, method: str, url: str) -> str:
        return "JWT " + app_jwt(self.tenant, self.app_key, method, url)

    def refused(self) -> bool:
        return False  # a JWT is made per request; another one would be refused the same way


class UserCredentials:
    """As the user: an impersonation token (OAuth2 JWT-bearer), cached; asked for only when a call is made."""

    def __init__(self, tenant: TenantAccess, user_tokens: UserTokens, account_id: str) -> None:
        self.tenant = tenant
        self.user_tokens = user_tokens
        self.account_id = account_id

    @property
    def base_url(self) -> str:
        return self.tenant.base_url

    def authorization(self, method: str, url: str) -> str:
        return "Bearer " + self.user_tokens.token(self.tenant, self.account_id)

    def refused(self) -> bool:
        # A cached token Confluence no longer accepts (revoked before its expiry): forget it, try once with a new one.
        self.user_tokens.forget(self.tenant, self.account_id)
        return True


class ConfluenceClient(RestClient):
    """A REST client for one Connect tenant: the app itself (`account_id=None`) or a user acting through it."""

    def __init__(
        self,
        tenant: TenantAccess,
        *,
        app_key: str,
        session: requests.Session,
        user_tokens: UserTokens | None = None,
        account_id: str | None = None,
        policy: RetryPolicy | None = None,
        deadline: Deadline | None = None,
        debug: bool = False,
        media_hosts: str = DEFAULT_MEDIA_HOSTS,
        allow_insecure: bool = False,
    ) -> None:
        credentials: AppCredentials | UserCredentials
        if account_id is None:
            credentials = AppCredentials(tenant, app_key)
        elif user_tokens is None:
            raise ValueError("acting as a user needs user_tokens")
        else:
            credentials = UserCredentials(tenant, user_tokens, account_id)
        super().__init__(
            credentials,
            session=session,
            policy=policy,
            deadline=deadline,
            debug=debug,
            media_hosts=media_hosts,
            allow_insecure=allow_insecure,
        )
        self.tenant = tenant
        self.account_id = account_id
