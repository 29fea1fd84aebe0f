"""Migrations bring an empty database up, on SQLite and PostgreSQL, to exactly what the models describe."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from models import db
from tests.stack import base_environ

TABLES = {"tenant", "tenant_settings", "space_settings", "alembic_version"}


def check_up_and_down(database_url: str, tmp_path: Path) -> None:
    app = create_app(environ=base_environ(tmp_path, DATABASE_URL=database_url))
    with app.app_context():
        upgrade()
        engine = db.engine
        assert TABLES <= set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_sqlite_from_empty(tmp_path: Path) -> None:
    check_up_and_down(f"sqlite:///{tmp_path / 'fresh.sqlite'}", tmp_path)


def test_postgresql_from_empty(postgres_url: str, tmp_path: Path) -> None:
    check_up_and_down(postgres_url, tmp_path)


def test_postgresql_downgrade_moves_provider_tenants_to_the_default_server(postgres_url: str, tmp_path: Path) -> None:
    """The older schema has no provider connections (and a String(8) smtp_mode): such tenants fall back to the
    operator's server instead of failing the downgrade."""
    from models import Tenant, TenantSettings

    app = create_app(environ=base_environ(tmp_path, DATABASE_URL=postgres_url))
    with app.app_context():
        upgrade()
        for index, mode in enumerate(("microsoft365", "google", "custom")):
            tenant = Tenant(
                client_key=f"tenant-{index}", base_url=f"https://t{index}.atlassian.net", shared_secret_encrypted="x"
            )
            db.session.add(tenant)
            db.session.flush()
            db.session.add(
                TenantSettings(tenant_id=tenant.id, smtp_mode=mode, smtp_host="mail.example.com", ms_mailbox="a@b.c")
            )
        db.session.commit()
        downgrade(revision="c4a9f2e61d05")
        with db.engine.connect() as conn:
            modes = conn.execute(sa.text("SELECT smtp_mode FROM tenant_settings ORDER BY id")).scalars().all()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("tenant_settings")}
        assert modes == ["default", "default", "custom"]
        assert not {"ms_mailbox", "google_key_encrypted"} & columns
        db.session.remove()
        db.engine.dispose()
