"""Wiring at the edge: from an authenticated request to the clients, settings and mail server a send needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from confluence.client import Deadline, RestClient
from errors import AuthError
from identity import Identity
from mail.render import Layout
from mail.retry import RetrySeal
from mail.send import MailSettings, SendContext, SpaceRules
from models import SpaceSettings, Tenant, TenantSettings, db
from views.mail_server import ACTION_BUDGET_SECONDS, smtp_server


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
