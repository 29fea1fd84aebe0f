"""Shared fixtures: an app on a fresh database (SQLite, or PostgreSQL via TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from tests.stack import LiveStack, base_environ, running_stack

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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


def _postgres_admin_url() -> tuple[str | None, bool]:
    """(URL, whether it was asked for explicitly). `make test` offers the local server as a default."""
    explicit = os.environ.get("TEST_DATABASE_URL", "")
    return (explicit, True) if explicit else (os.environ.get("PAGEMAIL_DEFAULT_TEST_DATABASE_URL") or None, False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database for one test, dropped afterwards.

    An explicit TEST_DATABASE_URL (CI sets one) must work; the default local server may be absent (skip)."""
    admin_url, explicit = _postgres_admin_url()
    if not admin_url:
        pytest.skip("no PostgreSQL configured (set TEST_DATABASE_URL)")
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"pagemail_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        if not explicit:
            pytest.skip(f"no PostgreSQL at the default {admin_url} ({type(exc).__name__}); set TEST_DATABASE_URL")
        pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {type(exc).__name__}")
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with running_stack(tmp_path_factory.mktemp("live")) as stack:
        yield stack


@pytest.fixture
def stack(live_stack: LiveStack) -> Iterator[LiveStack]:
    """The shared live stack, with faults, the inbox and the rate limits reset around each test."""
    live_stack.reset_faults()
    live_stack.catcher.clear()
    live_stack.app.extensions["pagemail.ratelimit"].storage.reset()
    yield live_stack
    live_stack.reset_faults()


@pytest.fixture
def admin_stack(stack: LiveStack) -> Iterator[LiveStack]:
    """The shared stack; the tenant's settings and space settings are restored after the test."""
    with stack.restoring_settings():
        yield stack


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """The machine's Redis (tests that need it are skipped, with the reason, where there is none)."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis reachable at 127.0.0.1:6379 ({type(exc).__name__})")
    yield client
    client.close()
