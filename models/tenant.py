"""A Confluence site that installed pagemail through one of its doors (one row per key).

Connect installations are keyed by their clientKey; Forge installations by the site's cloudId (`forge:<cloudId>`),
so a site with both apps has two tenants, each with its own settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db

if TYPE_CHECKING:
    from models.settings import SpaceSettings, TenantSettings


def utcnow() -> datetime:
    return datetime.now(UTC)


class Tenant(db.Model):  # type: ignore[name-defined]
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_key: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    # Which door installed it: "connect" (lifecycle callbacks, shared secret) or "forge" (Forge Remote).
    door: Mapped[str] = mapped_column(String(8), default="connect", server_default="connect")
    # Forge only: the installation's id (`ari:cloud:ecosystem::installation/...`), checked on every invocation.
    installation_id: Mapped[str | None] = mapped_column(String(255))
    base_url: Mapped[str] = mapped_column(String(512))
    display_url: Mapped[str | None] = mapped_column(String(512))
    product_type: Mapped[str] = mapped_column(String(32), default="confluence")
    oauth_client_id: Mapped[str | None] = mapped_column(String(255))
    cloud_id: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Envelope-encrypted (models/secrets.py), bound to this tenant and the field name. A Forge installation has no
    # shared secret: its row holds an encrypted empty string, so every row is alike for rotation and backups.
    shared_secret_encrypted: Mapped[str] = mapped_column(Text)
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    settings: Mapped[TenantSettings | None] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", passive_deletes=True, uselist=False
    )
    space_settings: Mapped[list[SpaceSettings]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", passive_deletes=True
    )

    SHARED_SECRET_FIELD = "tenant.shared_secret"  # noqa: S105 (a field name, not a secret)
    CONNECT = "connect"
    FORGE = "forge"

    @staticmethod
    def forge_key(cloud_id: str) -> str:
        """A Forge installation's key: its Confluence site, apart from any Connect tenant of the same site."""
        return f"forge:{cloud_id}"

    def __repr__(self) -> str:  # no secrets, no URLs in reprs that might reach logs
        return f"<Tenant id={self.id}>"


def find_tenant(client_key: str, *, door: str | None = None) -> Tenant | None:
    """The tenant with this key; with `door`, only if that door installed it (a door never sees the other's rows)."""
    query = db.select(Tenant).where(Tenant.client_key == client_key)
    if door is not None:
        query = query.where(Tenant.door == door)
    return db.session.execute(query).scalar_one_or_none()
