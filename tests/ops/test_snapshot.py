"""The export reads all tables from one snapshot: a write committed meanwhile is not half in the backup."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from models import SpaceSettings, Tenant, db
from models.backup.export import snapshot_connection
from tests.ops.conftest import ops_app, populate


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _install_a_site_with_a_space(url: str, *, timeout: float | None = None) -> None:
    """Another writer (its own engine, like another process): a tenant and its space settings, one commit."""
    connect_args = {"timeout": timeout} if timeout is not None else {}
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        with engine.begin() as conn:
            tenant_id = conn.execute(
                sa.insert(Tenant.__table__)
                .values(
                    client_key="site-meanwhile",
                    base_url="https://m.atlassian.net/wiki",
                    product_type="confluence",
                    enabled=True,
                    shared_secret_encrypted="x",
                    installed_at=sa.func.now(),
                    updated_at=sa.func.now(),
                )
                .returning(Tenant.__table__.c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(SpaceSettings.__table__).values(
                    tenant_id=tenant_id, space_key="S", enabled=True, group_ids=[]
                )
            )
    finally:
        engine.dispose()


def test_postgresql_snapshot_does_not_see_a_commit_made_during_the_export(tmp_path: Path, pg_url: str) -> None:
    app = ops_app(tmp_path, DATABASE_URL=pg_url)
    populate(app)
    with app.app_context(), snapshot_connection(db.engine) as snapshot:
        tenants_before = _count(snapshot, Tenant.__table__)
        _install_a_site_with_a_space(pg_url)
        # Read after the other commit: still the state of the snapshot's first read.
        assert _count(snapshot, SpaceSettings.__table__) == 6
        assert _count(snapshot, Tenant.__table__) == tenants_before == 3
        # Read-only: the export can never write.
        with pytest.raises(sa.exc.InternalError):
            snapshot.execute(sa.delete(Tenant.__table__))
    with app.app_context():
        with db.engine.connect() as conn:
            assert _count(conn, Tenant.__table__) == 4
        db.session.remove()


def test_sqlite_snapshot_holds_writers_off_until_the_export_ends(tmp_path: Path) -> None:
    app: Flask = ops_app(tmp_path)
    populate(app)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context(), snapshot_connection(db.engine) as snapshot:
        assert _count(snapshot, Tenant.__table__) == 3
        # SQLite keeps the read consistent by locking: the other writer cannot commit meanwhile.
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            _install_a_site_with_a_space(url, timeout=0.1)
        assert _count(snapshot, SpaceSettings.__table__) == 6
    _install_a_site_with_a_space(url)  # and can once the export is over
    with app.app_context():
        with db.engine.connect() as conn:
            assert _count(conn, Tenant.__table__) == 4
        db.session.remove()
