"""Re-encrypt every stored secret under the current master key (`flask --app app secrets rotate`).

Configure the new key as current and the old one as previous (SECRETS_PREVIOUS_KEY_FILES or
SECRETS_PREVIOUS_KMS_KEY_IDS), run the rotation, then drop the old key. One transaction: either every
secret that needed it is re-sealed, or nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.secrets import SecretBox, SecretError
from models.settings import TenantSettings
from models.tenant import Tenant


@dataclass(frozen=True)
class EncryptedField:
    """A column holding envelope-encrypted tokens, and the context they are bound to."""

    label: str
    table: sa.Table
    column: sa.Column[Any]
    field: str  # the encryption-context field name
    # A select of (row id, client key, token) for every row with a token.
    query: sa.Select[Any]


def _encrypted_fields() -> list[EncryptedField]:
    tenant, settings = Tenant.__table__, TenantSettings.__table__

    def settings_field(label: str, column: sa.Column[Any], field: str) -> EncryptedField:
        # Secrets in tenant_settings are bound to the owning tenant's client key.
        return EncryptedField(
            label,
            settings,
            column,
            field,
            sa.select(settings.c.id, tenant.c.client_key, column)
            .join(tenant, tenant.c.id == settings.c.tenant_id)
            .where(column.is_not(None))
            .order_by(settings.c.id),
        )

    return [
        EncryptedField(
            "tenant shared secrets",
            tenant,
            tenant.c.shared_secret_encrypted,
            Tenant.SHARED_SECRET_FIELD,
            sa.select(tenant.c.id, tenant.c.client_key, tenant.c.shared_secret_encrypted).order_by(tenant.c.id),
        ),
        settings_field("SMTP passwords", settings.c.smtp_password_encrypted, TenantSettings.SMTP_PASSWORD_FIELD),
        settings_field(
            "Microsoft 365 client secrets", settings.c.ms_client_secret_encrypted, TenantSettings.MS_CLIENT_SECRET_FIELD
        ),
        settings_field(
            "Microsoft 365 certificates", settings.c.ms_certificate_encrypted, TenantSettings.MS_CERTIFICATE_FIELD
        ),
        settings_field("Google service-account keys", settings.c.google_key_encrypted, TenantSettings.GOOGLE_KEY_FIELD),
    ]


@dataclass
class FieldRotation:
    label: str
    total: int = 0
    rotated: int = 0
    current: int = 0
    changed_meanwhile: int = 0  # rewritten by the app during the rotation (so already under the current key)


class RotationError(Exception):
    """A secret could not be re-encrypted; nothing was changed. The message names the row, never the value."""


def rotate_secrets(session: Session, box: SecretBox, *, dry_run: bool = False) -> list[FieldRotation]:
    """Re-seal every token `box.needs_rotation` flags, in the session's transaction; commit unless dry."""
    results: list[FieldRotation] = []
    try:
        for spec in _encrypted_fields():
            results.append(_rotate_field(session, box, spec, dry_run))
    except BaseException:
        session.rollback()
        raise
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return results


def _rotate_field(session: Session, box: SecretBox, spec: EncryptedField, dry_run: bool) -> FieldRotation:
    result = FieldRotation(spec.label)
    # Columns refreshed on every update (e.g. tenant.updated_at) keep their value: a new key is no edit.
    keep = {c.name: c for c in spec.table.columns if c.onupdate is not None}
    for row_id, client_key, token in session.execute(spec.query).all():
        result.total += 1
        try:
            if not box.needs_rotation(token):
                result.current += 1
                continue
            plaintext = box.decrypt(token, tenant=client_key, field=spec.field)
            if dry_run:  # decrypting proves the rotation would work; sealing would only cost key calls
                result.rotated += 1
                continue
            fresh = box.encrypt(plaintext, tenant=client_key, field=spec.field)
        except (SecretError, ValueError) as exc:
            raise RotationError(f"{spec.label}: row id {row_id} cannot be re-encrypted: {exc}") from None
        # Compare-and-set: a value the app replaced meanwhile (a re-install) is newer than ours.
        updated = session.execute(
            sa.update(spec.table)
            .where(spec.table.c.id == row_id, spec.column == token)
            .values({spec.column.name: fresh, **keep})
        )
        if updated.rowcount == 1:
            result.rotated += 1
        else:
            result.changed_meanwhile += 1
    return result
