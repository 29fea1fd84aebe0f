"""`flask secrets rotate`: every secret re-sealed under the new key in one transaction, counts only."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from models import Tenant, TenantSettings, db
from models.secrets import LocalKeyBox, SecretError
from tests.ops.conftest import SHARED_SECRETS, SMTP_PASSWORDS, ops_app, populate, run


def _tokens(app: Flask) -> dict[str, dict[str, str | None]]:
    with app.app_context():
        tenants = db.session.execute(db.select(Tenant).order_by(Tenant.id)).scalars().all()
        tokens = {
            t.client_key: {
                "shared": t.shared_secret_encrypted,
                "smtp": t.settings.smtp_password_encrypted if t.settings else None,
                "updated_at": t.updated_at.isoformat(),
            }
            for t in tenants
        }
        db.session.remove()
    return tokens


def _decrypt_all(app: Flask, box: LocalKeyBox) -> tuple[dict[str, str], dict[str, str]]:
    shared, smtp = {}, {}
    for client_key, tokens in _tokens(app).items():
        shared[client_key] = box.decrypt(str(tokens["shared"]), tenant=client_key, field=Tenant.SHARED_SECRET_FIELD)
        if tokens["smtp"]:
            smtp[client_key] = box.decrypt(
                str(tokens["smtp"]), tenant=client_key, field=TenantSettings.SMTP_PASSWORD_FIELD
            )
    return shared, smtp


def _apps(tmp_path: Path) -> tuple[Flask, Flask, Path, Path]:
    """Data sealed under key A; then an app on the same database with B current and A previous."""
    key_a, key_b = tmp_path / "a.key", tmp_path / "b.key"
    old = ops_app(tmp_path, SECRETS_KEY_FILE=str(key_a))
    populate(old)
    rotating = ops_app(tmp_path, SECRETS_KEY_FILE=str(key_b), SECRETS_PREVIOUS_KEY_FILES=str(key_a))
    return old, rotating, key_a, key_b


def test_rotation_moves_every_secret_to_the_current_key(tmp_path: Path) -> None:
    _, rotating, key_a, key_b = _apps(tmp_path)
    before = _tokens(rotating)

    dry = run(rotating, "secrets", "rotate", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "tenant shared secrets: would re-encrypt 3, already current 0 (of 3)" in dry.output
    assert "SMTP passwords: would re-encrypt 2, already current 0 (of 2)" in dry.output
    assert _tokens(rotating) == before

    result = run(rotating, "secrets", "rotate")
    assert result.exit_code == 0, result.output
    assert "tenant shared secrets: re-encrypted 3, already current 0 (of 3)" in result.output
    assert "SMTP passwords: re-encrypted 2, already current 0 (of 2)" in result.output
    for secret in (*SHARED_SECRETS.values(), *SMTP_PASSWORDS.values()):
        assert secret not in result.output

    after = _tokens(rotating)
    for client_key, tokens in after.items():
        assert tokens["shared"] != before[client_key]["shared"]
        assert tokens["updated_at"] == before[client_key]["updated_at"]  # a new key is not an edit

    # B alone opens everything; A alone opens nothing any more.
    only_b = LocalKeyBox(key_b, create=False)
    assert _decrypt_all(rotating, only_b) == (SHARED_SECRETS, SMTP_PASSWORDS)
    assert not any(only_b.needs_rotation(str(t["shared"])) for t in after.values())
    only_a = LocalKeyBox(key_a, create=False)
    for client_key, tokens in after.items():
        with pytest.raises(SecretError, match="local key"):
            only_a.decrypt(str(tokens["shared"]), tenant=client_key, field=Tenant.SHARED_SECRET_FIELD)

    again = run(rotating, "secrets", "rotate")
    assert "tenant shared secrets: re-encrypted 0, already current 3 (of 3)" in again.output


def test_a_secret_that_does_not_decrypt_stops_the_rotation_and_changes_nothing(tmp_path: Path) -> None:
    _, rotating, _, _ = _apps(tmp_path)
    with rotating.app_context():
        # A token copied to another site's row: bound to the wrong tenant, it cannot be opened.
        tenant_table = Tenant.__table__
        first = db.session.execute(sa.select(tenant_table).order_by(tenant_table.c.id)).first()
        assert first is not None
        db.session.execute(
            sa.update(tenant_table)
            .where(tenant_table.c.client_key == "site-c")
            .values(shared_secret_encrypted=first.shared_secret_encrypted)
        )
        db.session.commit()
        broken_id = db.session.execute(
            sa.select(tenant_table.c.id).where(tenant_table.c.client_key == "site-c")
        ).scalar_one()
        db.session.remove()
    before = _tokens(rotating)

    result = run(rotating, "secrets", "rotate")

    assert result.exit_code != 0
    assert f"row id {broken_id}" in result.output and "nothing was changed" in result.output
    assert _tokens(rotating) == before
    for secret in SHARED_SECRETS.values():
        assert secret not in result.output


PROVIDER_SECRETS = {
    "ms_client_secret_encrypted": (TenantSettings.MS_CLIENT_SECRET_FIELD, "Sbx8Q~rotation.client-secret"),
    "ms_certificate_encrypted": (TenantSettings.MS_CERTIFICATE_FIELD, "-----BEGIN PRIVATE KEY-----\nrotation"),
    "google_key_encrypted": (TenantSettings.GOOGLE_KEY_FIELD, '{"type": "service_account", "rotation": 1}'),
}


def test_rotation_moves_the_mail_provider_secrets_too(tmp_path: Path) -> None:
    old, rotating, key_a, key_b = _apps(tmp_path)
    box_a = old.extensions["pagemail.secrets"]
    with old.app_context():
        settings = db.session.execute(
            db.select(TenantSettings).join(Tenant).where(Tenant.client_key == "site-a")
        ).scalar_one()
        for column, (field, secret) in PROVIDER_SECRETS.items():
            setattr(settings, column, box_a.encrypt(secret, tenant="site-a", field=field))
        db.session.commit()
        db.session.remove()

    result = run(rotating, "secrets", "rotate")
    assert result.exit_code == 0, result.output
    for label in ("Microsoft 365 client secrets", "Microsoft 365 certificates", "Google service-account keys"):
        assert f"{label}: re-encrypted 1, already current 0 (of 1)" in result.output
    only_b, only_a = LocalKeyBox(key_b, create=False), LocalKeyBox(key_a, create=False)
    with rotating.app_context():
        settings = db.session.execute(
            db.select(TenantSettings).join(Tenant).where(Tenant.client_key == "site-a")
        ).scalar_one()
        for column, (field, secret) in PROVIDER_SECRETS.items():
            sealed = str(getattr(settings, column))
            assert secret not in result.output
            assert only_b.decrypt(sealed, tenant="site-a", field=field) == secret
            with pytest.raises(SecretError, match="local key"):
                only_a.decrypt(sealed, tenant="site-a", field=field)
        db.session.remove()
