"""Per-tenant settings (DESIGN §1 admin settings) and per-space settings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db

if TYPE_CHECKING:
    from models.tenant import Tenant

DEFAULT_MAX_RECIPIENTS = 100
DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
DEFAULT_CONFIRM_ABOVE = 25
# Confluence group ids are UUIDs (names change, ids don't); nothing else is stored or put into a REST path.
GROUP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


class TenantSettings(db.Model):  # type: ignore[name-defined]
    """One row per tenant; every column has a safe default so a fresh install works."""

    __tablename__ = "tenant_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), unique=True)

    # mail
    sender_name: Mapped[str] = mapped_column(String(120), default="Confluence")
    sender_address: Mapped[str] = mapped_column(String(254), default="")  # "" = the server's default From
    subject_prefix: Mapped[str] = mapped_column(String(60), default="[Confluence]")
    reply_to_mode: Mapped[str] = mapped_column(String(16), default="sender")  # sender | none

    # layout
    image_mode: Mapped[str] = mapped_column(String(16), default="fit")  # original | fit | max_side
    image_max_side: Mapped[int] = mapped_column(Integer, default=1200)
    external_images: Mapped[str] = mapped_column(String(8), default="link")  # link | drop
    header_text: Mapped[str] = mapped_column(String(200), default="")
    button_label: Mapped[str] = mapped_column(String(60), default="")  # "" = localized default
    custom_css: Mapped[str] = mapped_column(Text, default="")

    # permissions
    permission_mode: Mapped[str] = mapped_column(String(8), default="all")  # all | groups
    allowed_group_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    enforce_in_all_spaces: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_external: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_recipients: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_RECIPIENTS)
    max_attachment_bytes: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTACHMENT_BYTES)
    # Guard-rails: senders confirm mails to more recipients than this; recipients who can't open the page in
    # Confluence are warned about, or refused (block).
    confirm_recipients_above: Mapped[int] = mapped_column(Integer, default=DEFAULT_CONFIRM_ABOVE)
    recipients_without_access: Mapped[str] = mapped_column(String(8), default="warn")  # warn | block

    # mail server
    smtp_mode: Mapped[str] = mapped_column(String(16), default="default")  # default | custom | microsoft365 | google
    smtp_host: Mapped[str] = mapped_column(String(253), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")  # starttls | tls
    smtp_username: Mapped[str] = mapped_column(String(254), default="")
    # Envelope-encrypted, bound to the tenant and this field; never returned by any endpoint.
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    # Microsoft 365 (Entra ID app-only client credentials); the secret only with the tenant and client it came with.
    ms_tenant_id: Mapped[str] = mapped_column(String(253), default="")  # a GUID or a verified domain
    ms_client_id: Mapped[str] = mapped_column(String(36), default="")
    ms_mailbox: Mapped[str] = mapped_column(String(254), default="")
    ms_client_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    # Or a certificate (PEM private key + certificate); whichever credential was saved last is the one kept.
    ms_certificate_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    # Google Workspace (a service account with domain-wide delegation); the key file is the secret.
    google_mailbox: Mapped[str] = mapped_column(String(254), default="")
    google_key_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    google_key_email: Mapped[str] = mapped_column(String(254), default="")  # the key's client_email, for display

    debug_logging_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    tenant: Mapped[Tenant] = relationship(back_populates="settings")

    SMTP_PASSWORD_FIELD = "tenant_settings.smtp_password"  # noqa: S105 (a field name, not a secret)
    MS_CLIENT_SECRET_FIELD = "tenant_settings.ms_client_secret"  # noqa: S105 (a field name, not a secret)
    MS_CERTIFICATE_FIELD = "tenant_settings.ms_certificate"
    GOOGLE_KEY_FIELD = "tenant_settings.google_service_account_key"

    def __repr__(self) -> str:
        return f"<TenantSettings tenant_id={self.tenant_id}>"


class SpaceSettings(db.Model):  # type: ignore[name-defined]
    """A space admin's choices for one space; group *ids* because group names change."""

    __tablename__ = "space_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "space_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    space_key: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    group_ids: Mapped[list[str]] = mapped_column(JSON, default=list)

    tenant: Mapped[Tenant] = relationship(back_populates="space_settings")

    def as_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "groupIds": list(self.group_ids or [])}
