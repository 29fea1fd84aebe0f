"""Shared fixtures: an app on a fresh database (SQLite, or PostgreSQL via TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from models import db

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def base_environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "APP_ENV": "development",
        "BASE_URL": "http://localhost:8000",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'pagemail.sqlite'}",
        "SECRETS_KEY_FILE": str(tmp_path / "secrets.key"),
        "CONNECT_ALLOWED_HOSTS": "*.atlassian.net,localhost:*,127.0.0.1:*",
        "CONNECT_ALLOW_INSECURE_HOSTS": "1",
        "SMTP_ALLOW_PRIVATE_HOSTS": "1",
    }
    env.update(extra)
    return env


def make_app(tmp_path: Path, **extra: str) -> Flask:
    app = create_app(environ=base_environ(tmp_path, **extra))
    app.config["TESTING"] = True
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def app_factory(tmp_path: Path) -> Any:
    return lambda **extra: make_app(tmp_path, **extra)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    yield make_app(tmp_path)


def _postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database for one test, dropped afterwards."""
    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL is not set (make test sets it to the local PostgreSQL)")
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"pagemail_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {type(exc).__name__}")
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        db.session.remove()
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
