"""Wiring at the edge: from an authenticated request to the clients, settings and mail server a send needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from confluence.client import Deadline, RestClient
from errors import AppError, AuthError
from identity import Identity
from mail.oauth import google, microsoft
from mail.oauth.cache import CachedTokens, TokenCache, cache_key
from mail.oauth.source import TokenSource
from mail.render import Layout
from mail.retry import RetrySeal
from mail.send import MailSettings, SendContext, SpaceRules
from mail.transport import SmtpServer
from models import SpaceSettings, Tenant, TenantSettings, db
from models.secrets import SecretError

# A send must finish well within the production server's request timeout (deploy/gunicorn.conf.py).
ACTION_BUDGET_SECONDS = 90.0


def debug_logging_active(identity: Identity) -> bool:
    until = tenant_settings(identity).debug_logging_until
    if until is None:
        return False
    if until.tzinfo is None:  # SQLite hands back naive datetimes
        until = until.replace(tzinfo=UTC)
    return until > datetime.now(UTC)


def clients(identity: Identity, budget: float = ACTION_BUDGET_SECONDS) -> tuple[RestClient, RestClient]:
    """(as the user, as the app), sharing one time budget; the door that authenticated supplied the credentials."""
    debug = debug_logging_active(identity)
    config = current_app.config
    common: dict[str, Any] = {
        "session": current_app.extensions["pagemail.http"],
        "deadline": Deadline(budget),
        "debug": debug,
        "media_hosts": config["CONFLUENCE_MEDIA_HOSTS"],
        "allow_insecure": bool(config["CONNECT_ALLOW_INSECURE_HOSTS"]),
    }
    user = RestClient(identity.user_credentials(), **common)
    app = RestClient(identity.app_credentials(), **common)
    return user, app


def tenant_settings(identity: Identity) -> TenantSettings:
    """The tenant's settings row (always scoped by the authenticated tenant's id)."""
    settings = db.session.execute(
        db.select(TenantSettings).where(TenantSettings.tenant_id == identity.tenant.id)
    ).scalar_one_or_none()
    if settings is None:
        if db.session.get(Tenant, identity.tenant.id) is None:
            raise AuthError("this site has uninstalled the app")
        settings = TenantSettings(tenant_id=identity.tenant.id)
        db.session.add(settings)
        db.session.commit()
    return settings


def mail_settings(settings: TenantSettings) -> MailSettings:
    layout = Layout(
        header_text=settings.header_text or "",
        button_label=settings.button_label or "",
        custom_css=settings.custom_css or "",
        image_mode=settings.image_mode,  # type: ignore[arg-type]
        image_max_side=settings.image_max_side,
        external_images=settings.external_images,  # type: ignore[arg-type]
    )
    return MailSettings(
        sender_name=settings.sender_name or "Confluence",
        # Microsoft 365 and Google send only as the mailbox that signed in: From and envelope sender are it.
        sender_address=provider_mailbox(settings) or settings.sender_address or "",
        subject_prefix=settings.subject_prefix or "",
        reply_to_sender=settings.reply_to_mode == "sender",
        layout=layout,
        permission_mode=settings.permission_mode,
        allowed_group_ids=tuple(settings.allowed_group_ids or ()),
        enforce_in_all_spaces=settings.enforce_in_all_spaces,
        allow_external=settings.allow_external,
        allowed_domains=tuple(settings.allowed_domains or ()),
        max_recipients=settings.max_recipients,
        max_attachment_bytes=settings.max_attachment_bytes,
        confirm_above=settings.confirm_recipients_above,
        without_access="block" if settings.recipients_without_access == "block" else "warn",
    )


def space_rules_for(tenant_id: int) -> Callable[[str], SpaceRules]:
    def lookup(space_key: str) -> SpaceRules:
        row = db.session.execute(
            db.select(SpaceSettings).where(SpaceSettings.tenant_id == tenant_id, SpaceSettings.space_key == space_key)
        ).scalar_one_or_none()
        return SpaceRules(row.enabled, tuple(row.group_ids or ())) if row else SpaceRules()

    return lookup


def provider_mailbox(settings: TenantSettings) -> str:
    """The mailbox a provider connection sends as ("" for the other modes)."""
    if settings.smtp_mode == "microsoft365":
        return settings.ms_mailbox or ""
    if settings.smtp_mode == "google":
        return settings.google_mailbox or ""
    return ""


def decrypted_secret(token: str | None, client_key: str, field: str) -> str:
    if not token:
        return ""
    try:
        return current_app.extensions["pagemail.secrets"].decrypt(token, tenant=client_key, field=field)
    except SecretError:
        raise AppError(
            "The stored secret of the mail connection can't be read; enter it again in the settings",
            code="oauth_secret_unreadable",
        ) from None


def _host_port(value: str, default_port: int = 587) -> tuple[str, int]:
    host, _, port = value.strip().rpartition(":") if ":" in value else (value.strip(), "", "")
    return (host, int(port)) if port.isdigit() else (value.strip(), default_port)


def _token_cache() -> TokenCache:
    """The app's token cache (Redis, sealed, when REDIS_URL is set; memory otherwise), shared with Atlassian's."""
    extensions = current_app.extensions
    return extensions.get("pagemail.token_cache") or extensions["pagemail.user_tokens"].cache


def _provider_server(
    provider: str,
    host_setting: str,
    mailbox: str,
    fetch: Callable[[], tuple[str, float]],
    key_parts: Iterable[str],
    client_key: str,
    deadline: Deadline | None,
) -> SmtpServer:
    config = current_app.config
    host, port = _host_port(str(config[host_setting]))
    tokens = CachedTokens(_token_cache(), cache_key(client_key, provider, mailbox, *key_parts))
    budget = deadline or Deadline(ACTION_BUDGET_SECONDS)
    return SmtpServer(
        host,
        port,
        "starttls",
        mailbox,
        # The operator's provider hosts are trusted configuration (the sandbox's is on loopback in local work).
        allow_private=True,
        ca_file=config.get("SMTP_CA_FILE") or None,
        oauth=TokenSource(provider, fetch, tokens, remaining=budget.remaining),
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
    fetch = partial(microsoft.fetch_token, app, config.get("REQUESTS_CA_BUNDLE") or None)
    parts = (app.authority, client_id, secret, certificate)
    return _provider_server("microsoft365", "MICROSOFT_SMTP_HOST", mailbox, fetch, parts, client_key, deadline)


def saved_microsoft_credential(settings: TenantSettings, client_key: str) -> tuple[str, str]:
    """(client secret, certificate) as saved, decrypted in memory; one of them is empty."""
    secret = decrypted_secret(settings.ms_client_secret_encrypted, client_key, TenantSettings.MS_CLIENT_SECRET_FIELD)
    certificate = decrypted_secret(settings.ms_certificate_encrypted, client_key, TenantSettings.MS_CERTIFICATE_FIELD)
    return secret, certificate


def google_server(mailbox: str, key_text: str, client_key: str, deadline: Deadline | None = None) -> SmtpServer:
    fetch = partial(google.fetch_token, key_text, mailbox, current_app.config.get("REQUESTS_CA_BUNDLE") or None)
    return _provider_server("google", "GOOGLE_SMTP_HOST", mailbox, fetch, (key_text,), client_key, deadline)


def google_key_problem(key_text: str) -> str | None:
    """A pasted key's problem; its token URI may be on loopback (the sandbox) only where private hosts are allowed."""
    config = current_app.config
    local = bool(config["SMTP_ALLOW_PRIVATE_HOSTS"]) and not config.get("IS_PRODUCTION")
    return google.key_problem(key_text, ("localhost", "127.0.0.1") if local else ())


def smtp_server(settings: TenantSettings, client_key: str, deadline: Deadline | None = None) -> SmtpServer | None:
    """The tenant's own server or provider connection (secrets decrypted only here, in memory), or the operator's
    default."""
    config = current_app.config
    ms_credential = settings.ms_client_secret_encrypted or settings.ms_certificate_encrypted
    if settings.smtp_mode == "microsoft365" and ms_credential:
        secret, certificate = saved_microsoft_credential(settings, client_key)
        return microsoft_server(
            settings.ms_tenant_id, settings.ms_client_id, settings.ms_mailbox, secret, client_key, deadline, certificate
        )
    if settings.smtp_mode == "google" and settings.google_key_encrypted:
        key_text = decrypted_secret(settings.google_key_encrypted, client_key, TenantSettings.GOOGLE_KEY_FIELD)
        return google_server(settings.google_mailbox, key_text, client_key, deadline)
    if settings.smtp_mode == "custom" and settings.smtp_host:
        password = ""
        if settings.smtp_password_encrypted:
            box = current_app.extensions["pagemail.secrets"]
            try:
                password = box.decrypt(
                    settings.smtp_password_encrypted, tenant=client_key, field=TenantSettings.SMTP_PASSWORD_FIELD
                )
            except SecretError:
                raise AppError(
                    "The stored mail server password can't be read; enter it again in the settings",
                    code="smtp_password_unreadable",
                ) from None
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


def send_context(identity: Identity, locale: str = "en", *, for_send: bool = False) -> SendContext:
    """The mail server (and its password) is only looked at for an actual send."""
    assert identity.account_id is not None
    settings = tenant_settings(identity)
    user_client, app_client = clients(identity)
    base = urlsplit(current_app.config["BASE_URL"]).hostname or "pagemail.local"
    return SendContext(
        account_id=identity.account_id,
        settings=mail_settings(settings),
        space_rules=space_rules_for(identity.tenant.id),
        user_client=user_client,
        app_client=app_client,
        smtp=smtp_server(settings, identity.tenant.client_key, user_client.deadline) if for_send else None,
        default_from=current_app.config.get("SMTP_DEFAULT_FROM") or f"pagemail@{base}",
        message_id_domain=base,
        locale=locale,
        retry_seal=RetrySeal(current_app.extensions["pagemail.secrets"], identity.tenant.client_key),
    )
