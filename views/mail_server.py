"""The mail server a tenant's mail goes through: its own server, a Microsoft 365 or Google Workspace connection
(an access token, XOAUTH2 as the mailbox), or the operator's default. Saved secrets are decrypted only here, in
memory, and only for what they were saved for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from flask import current_app

from config import host_port
from confluence.client import Deadline
from errors import AppError, ValidationError
from mail.oauth import google, microsoft
from mail.oauth.cache import CachedTokens, cache_key
from mail.oauth.source import TokenSource
from mail.transport import SmtpServer
from models import TenantSettings
from models.secrets import SecretError
from models.token_cache import TokenCache

# A send must finish well within the production server's request timeout (deploy/gunicorn.conf.py).
ACTION_BUDGET_SECONDS = 90.0
# Whole sentences, so the German catalogue (views/messages.py) finds each one.
NO_CREDENTIAL = {
    "microsoft365": (
        "The Microsoft 365 mail connection has no saved credential; ask your site admin to enter it again"
    ),
    "google": "The Google Workspace mail connection has no saved credential; ask your site admin to enter it again",
}


def decrypted_secret(token: str | None, client_key: str, field: str, code: str = "oauth_secret_unreadable") -> str:
    """A saved secret in memory ("" when none is saved); unreadable (another key, tampered) → `code`."""
    if not token:
        return ""
    try:
        return current_app.extensions["pagemail.secrets"].decrypt(token, tenant=client_key, field=field)
    except SecretError:
        what = "mail server password" if code == "smtp_password_unreadable" else "secret of the mail connection"
        raise AppError(f"The stored {what} can't be read; enter it again in the settings", code=code) from None


def _token_cache() -> TokenCache:
    """The app's token cache (Redis, sealed, when REDIS_URL is set; memory otherwise), shared with Atlassian's."""
    return current_app.extensions["pagemail.token_cache"]


def _provider_server(
    provider: str,
    host_setting: str,
    mailbox: str,
    fetch: Callable[[Callable[[], float]], tuple[str, float]],
    key_parts: Iterable[str],
    client_key: str,
    deadline: Deadline | None,
) -> SmtpServer:
    config = current_app.config
    # Checked at boot (config.load_config); a value set later that does not parse fails here, loudly.
    host, port = host_port(str(config[host_setting]))
    tokens = CachedTokens(_token_cache(), cache_key(client_key, provider, mailbox, *key_parts))
    budget = deadline or Deadline(ACTION_BUDGET_SECONDS)
    return SmtpServer(
        host,
        port,
        "starttls",
        mailbox,
        # Like any other mail server: loopback and private addresses only where the operator allows them (local work).
        allow_private=bool(config["SMTP_ALLOW_PRIVATE_HOSTS"]),
        ca_file=config.get("SMTP_CA_FILE") or None,
        oauth=TokenSource(provider, partial(fetch, budget.remaining), tokens, remaining=budget.remaining),
    )


def microsoft_server(
    tenant_id: str,
    client_id: str,
    mailbox: str,
    secret: str,
    client_key: str,
    deadline: Deadline | None = None,
    certificate: str = "",
) -> SmtpServer:
    """Microsoft 365: a token for the app (client secret, or certificate when one is given), XOAUTH2 as the mailbox."""
    config = current_app.config
    app = microsoft.MicrosoftApp(config["MICROSOFT_AUTHORITY_HOST"], tenant_id, client_id, secret, certificate)
    ca_bundle = config.get("REQUESTS_CA_BUNDLE") or None

    def fetch(remaining: Callable[[], float]) -> tuple[str, float]:
        return microsoft.fetch_token(app, ca_bundle, remaining=remaining)

    parts = (app.authority, client_id, secret, certificate)
    return _provider_server("microsoft365", "MICROSOFT_SMTP_HOST", mailbox, fetch, parts, client_key, deadline)


def saved_microsoft_credential(settings: TenantSettings, client_key: str) -> tuple[str, str]:
    """(client secret, certificate) as saved, decrypted in memory; one of them is empty."""
    secret = decrypted_secret(settings.ms_client_secret_encrypted, client_key, TenantSettings.MS_CLIENT_SECRET_FIELD)
    certificate = decrypted_secret(settings.ms_certificate_encrypted, client_key, TenantSettings.MS_CERTIFICATE_FIELD)
    return secret, certificate


def google_server(mailbox: str, key_text: str, client_key: str, deadline: Deadline | None = None) -> SmtpServer:
    config = current_app.config
    ca_bundle = config.get("REQUESTS_CA_BUNDLE") or None
    extra_hosts = local_token_hosts()

    def fetch(remaining: Callable[[], float]) -> tuple[str, float]:
        return google.fetch_token(key_text, mailbox, ca_bundle, remaining=remaining, extra_hosts=extra_hosts)

    return _provider_server("google", "GOOGLE_SMTP_HOST", mailbox, fetch, (key_text,), client_key, deadline)


def local_token_hosts() -> tuple[str, ...]:
    """Where a key's token URI may point besides Google: loopback (the sandbox), only where private hosts are
    allowed and never in production."""
    config = current_app.config
    local = bool(config["SMTP_ALLOW_PRIVATE_HOSTS"]) and not config.get("IS_PRODUCTION")
    return ("localhost", "127.0.0.1") if local else ()


def google_key_problem(key_text: str) -> str | None:
    """A pasted key's problem, or None."""
    return google.key_problem(key_text, local_token_hosts())


def _not_configured(mode: str) -> ValidationError:
    return ValidationError(
        NO_CREDENTIAL[mode],
        code="smtp_not_configured",
        details={"mode": mode},
    )


def smtp_server(settings: TenantSettings, client_key: str, deadline: Deadline | None = None) -> SmtpServer | None:
    """The tenant's own server or provider connection, or the operator's default (None when there is none)."""
    config = current_app.config
    if settings.smtp_mode == "microsoft365":
        # Never the operator's server instead: From and envelope would still be the tenant's mailbox.
        if not (settings.ms_client_secret_encrypted or settings.ms_certificate_encrypted):
            raise _not_configured("microsoft365")
        secret, certificate = saved_microsoft_credential(settings, client_key)
        return microsoft_server(
            settings.ms_tenant_id, settings.ms_client_id, settings.ms_mailbox, secret, client_key, deadline, certificate
        )
    if settings.smtp_mode == "google":
        if not settings.google_key_encrypted:
            raise _not_configured("google")
        key_text = decrypted_secret(settings.google_key_encrypted, client_key, TenantSettings.GOOGLE_KEY_FIELD)
        return google_server(settings.google_mailbox, key_text, client_key, deadline)
    if settings.smtp_mode == "custom" and settings.smtp_host:
        password = decrypted_secret(
            settings.smtp_password_encrypted,
            client_key,
            TenantSettings.SMTP_PASSWORD_FIELD,
            code="smtp_password_unreadable",
        )
        return SmtpServer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            password,
            allow_private=bool(config["SMTP_ALLOW_PRIVATE_HOSTS"]),
            ca_file=config.get("SMTP_CA_FILE") or None,
        )
    host = config.get("SMTP_DEFAULT_HOST")
    if not host:
        return None
    security = config.get("SMTP_DEFAULT_SECURITY") or "starttls"
    port = int(config.get("SMTP_DEFAULT_PORT") or (465 if security == "tls" else 587))
    # The operator's own server is trusted configuration, so private addresses are fine for it.
    return SmtpServer(
        host,
        port,
        security,
        config.get("SMTP_DEFAULT_USERNAME") or "",
        config.get("SMTP_DEFAULT_PASSWORD") or "",
        allow_private=True,
        ca_file=config.get("SMTP_CA_FILE") or None,
    )
