"""Readiness (`GET /ready`): 200 when the database answers, 503 JSON (never a 500) when it doesn't."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from tests.conftest import base_environ
from tests.servers import free_port

LogCapture = pytest.LogCaptureFixture


def test_ready_when_the_database_answers(app: Flask) -> None:
    response = app.test_client().get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # the app's security headers apply


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql+psycopg://pagemail:hunter2-secret@127.0.0.1:{port}/pagemail?connect_timeout=5",
        "sqlite:///{missing}/no/such/dir/pagemail.sqlite",
    ],
    ids=["refused-postgresql", "unopenable-sqlite"],
)
def test_not_ready_without_a_database(tmp_path: Path, database_url: str, caplog: LogCapture) -> None:
    url = database_url.format(port=free_port(), missing=tmp_path / "missing")
    app = create_app(environ=base_environ(tmp_path, DATABASE_URL=url))
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "unavailable"}}
    assert response.headers["Retry-After"] == "5"
    # The failure is logged by class, without the connection URL's user, password or host.
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'error', '')}" for r in caplog.records)
    assert "readiness check failed" in logged and "OperationalError" in logged
    assert "hunter2" not in logged and "pagemail:" not in logged
    # Liveness does not depend on the database: the process is fine, it just can't serve yet.
    assert client.get("/health").status_code == 200


def test_ready_recovers_once_the_database_is_back(tmp_path: Path) -> None:
    missing_dir = tmp_path / "later"
    app = create_app(environ=base_environ(tmp_path, DATABASE_URL=f"sqlite:///{missing_dir}/pagemail.sqlite"))
    client = app.test_client()
    assert client.get("/ready").status_code == 503
    missing_dir.mkdir()
    assert client.get("/ready").status_code == 200
