"""Helpers for the operations tests: apps wired with the operator commands, sample data, row snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.ctx import AppContext
from flask_migrate import upgrade

from app import create_app
from models import SpaceSettings, Tenant, TenantSettings, db
from models.commands import register_commands
from tests.conftest import base_environ

SHARED_SECRETS = {
    "site-a": "shared-secret-of-site-a-8f0b3e7a",
    "site-b": "shared-secret-of-site-b-Grüße-密码",
    "site-c": "shared-secret-of-site-c-\n-and-dots...",
}
SMTP_PASSWORDS = {"site-a": "smtp-pass-A-correct-horse", "site-c": "smtp-pass-C-battery-staple"}
# Text that must never be readable in an archive: it only exists inside the encrypted payload.
PLAIN_MARKERS = ("site-a.atlassian.net", "custom-css-marker-4711", "space-key-marker")


def ops_app(tmp_path: Path, *, migrate: bool = True, overrides: dict[str, Any] | None = None, **env: str) -> Flask:
    """An app on its own database with the `backup` and `secrets` commands registered."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    environ = base_environ(tmp_path, BACKUP_DIR=str(tmp_path / "backups"))
    environ.update(env)
    app = create_app(overrides, environ=environ)
    app.config["TESTING"] = True
    register_commands(app)
    if migrate:
        with app.app_context():
            upgrade()
    return app


def run(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def populate(app: Flask) -> None:
    """Three sites with settings, space settings, encrypted secrets, odd text, JSON, booleans, times."""
    box = app.extensions["pagemail.secrets"]
    base = dt.datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    with app.app_context():
        for number, (client_key, secret) in enumerate(SHARED_SECRETS.items()):
            tenant = Tenant(
                client_key=client_key,
                base_url=f"https://{client_key}.atlassian.net/wiki",
                display_url=None if number == 1 else f"https://{client_key}.example.com/wiki",
                oauth_client_id=f"oauth-{client_key}",
                cloud_id=None,
                enabled=number != 2,
                shared_secret_encrypted=box.encrypt(secret, tenant=client_key, field=Tenant.SHARED_SECRET_FIELD),
                installed_at=base + dt.timedelta(days=number),
                updated_at=base + dt.timedelta(days=number, hours=5),
            )
            db.session.add(tenant)
            db.session.flush()
            password = SMTP_PASSWORDS.get(client_key)
            db.session.add(
                TenantSettings(
                    tenant_id=tenant.id,
                    sender_name="Wiki ✉ «Büro»",
                    header_text="line one\nline two\u2028still two",
                    custom_css=f"/* custom-css-marker-4711 */\n.x {{ color: red; }}\n{'p' * 3000}",
                    permission_mode="groups" if number == 0 else "all",
                    allowed_group_ids=["g-1", "g-2"] if number == 0 else [],
                    allowed_domains=["example.com", "beispiel.de"],
                    allow_external=number == 1,
                    max_recipients=50 + number,
                    smtp_mode="custom" if password else "default",
                    smtp_host="mail.example.com" if password else "",
                    smtp_password_encrypted=(
                        box.encrypt(password, tenant=client_key, field=TenantSettings.SMTP_PASSWORD_FIELD)
                        if password
                        else None
                    ),
                    debug_logging_until=base + dt.timedelta(hours=number) if number != 1 else None,
                )
            )
            for space in range(number + 1):
                db.session.add(
                    SpaceSettings(
                        tenant_id=tenant.id,
                        space_key=f"space-key-marker-{space}",
                        enabled=space % 2 == 0,
                        group_ids=[f"group-{space}"] * space,
                    )
                )
        db.session.commit()
        db.session.remove()


def _normal(value: Any) -> Any:
    # SQLite hands back naive datetimes for timezone columns; the app writes UTC.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def all_rows(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Every row of every model table, ordered by primary key, values normalised for comparison."""
    with app.app_context():
        with db.engine.connect() as conn:
            rows = {
                table.name: [
                    {c.name: _normal(row._mapping[c]) for c in table.columns}
                    for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                ]
                for table in db.metadata.sorted_tables
            }
        db.session.remove()
    return rows


def table_names(app: Flask) -> set[str]:
    with app.app_context():
        names = set(sa.inspect(db.engine).get_table_names())
        db.session.remove()
    return names


def only_archive(directory: Path) -> Path:
    archives = sorted(directory.glob("*.pmbackup"))
    assert len(archives) == 1, archives
    return archives[0]


@pytest.fixture
def _teardown_contexts() -> Iterator[list[AppContext]]:
    contexts: list[AppContext] = []
    yield contexts
    for context in reversed(contexts):
        context.pop()


@pytest.fixture
def pg_url(_teardown_contexts: list[AppContext], postgres_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database: tests/conftest.py's postgres_url, made safe to tear down.

    Its teardown calls db.session.remove(), which needs an app context; one is pushed only after the
    test (the CLI would otherwise run in it) and popped once postgres_url has finished.
    """
    yield postgres_url
    context = Flask("teardown-guard").app_context()
    context.push()
    _teardown_contexts.append(context)
