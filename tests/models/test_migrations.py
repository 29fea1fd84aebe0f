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
