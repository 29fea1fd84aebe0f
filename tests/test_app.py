"""The app shell: descriptor, production refusals, security headers, logs without secrets or query strings."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from config import ConfigError
from logs import AccessLogFilter, JsonFormatter
from tests.conftest import base_environ
from tests.tokens import add_tenant, module_token

SAFE_PRODUCTION = {
    "APP_ENV": "production",
    "BASE_URL": "https://pagemail.example.com",
    "DATABASE_URL": "postgresql+psycopg://pagemail@db.internal/pagemail",
    "SECRETS_KMS_KEY_ID": "alias/pagemail",
    "CONNECT_ALLOWED_HOSTS": "*.atlassian.net",
    "CONNECT_ALLOW_INSECURE_HOSTS": "",
    "SMTP_ALLOW_PRIVATE_HOSTS": "",
    "AWS_DEFAULT_REGION": "eu-central-1",
}


def test_descriptor(app: Flask) -> None:
    response = app.test_client().get("/atlassian-connect.json")
    descriptor = response.get_json()
    assert descriptor["baseUrl"] == "http://localhost:8000" and descriptor["key"] == "pagemail"
    assert descriptor["authentication"] == {"type": "jwt"}
    assert descriptor["apiMigrations"] == {"signed-install": True, "context-qsh": True, "gdpr": True}
    assert set(descriptor["scopes"]) == {"READ", "ACT_AS_USER", "ACCESS_EMAIL_ADDRESSES"}
    assert set(descriptor["lifecycle"]) == {"installed", "uninstalled", "enabled", "disabled"}
    modules = descriptor["modules"]
    web_item = modules["webItems"][0]
    assert web_item["location"] == "system.content.action/secondary"
    assert web_item["target"]["options"]["key"] == modules["dialogs"][0]["key"]
    assert {"adminPages", "configurePage", "spaceToolsTabs"} <= set(modules)


def test_descriptor_follows_base_url(app_factory: Any) -> None:
    app = app_factory(BASE_URL="https://apps.example.com/pagemail/", APP_KEY="pagemail-staging")
    descriptor = app.test_client().get("/atlassian-connect.json").get_json()
    assert descriptor["baseUrl"] == "https://apps.example.com/pagemail"
    assert descriptor["key"] == "pagemail-staging"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BASE_URL", "http://pagemail.example.com"),
        ("CONNECT_ALLOW_INSECURE_HOSTS", "1"),
        ("SMTP_ALLOW_PRIVATE_HOSTS", "true"),
        ("SECRETS_KMS_KEY_ID", ""),
        ("DATABASE_URL", "sqlite:////tmp/x.sqlite"),
        ("CONNECT_INSTALL_KEYS_URL", "http://localhost:8100/connect-keys"),
        ("OAUTH_AUTH_SERVER_URL", "http://localhost:8100/oauth"),
        ("CONNECT_ALL_JS_URL", "http://localhost:8100/atlassian-connect/all.js"),
        ("CONNECT_ALLOWED_HOSTS", "localhost:8100"),
    ],
)
def test_production_refuses_unsafe_settings(variable: str, value: str) -> None:
    environ = dict(SAFE_PRODUCTION, **{variable: value})
    with pytest.raises(ConfigError, match=variable):
        create_app(environ=environ)


def test_production_refuses_plain_smtp() -> None:
    environ = dict(SAFE_PRODUCTION, SMTP_DEFAULT_HOST="smtp.example.com", SMTP_DEFAULT_SECURITY="none")
    with pytest.raises(ConfigError, match="SMTP_DEFAULT_SECURITY"):
        create_app(environ=environ)


def test_production_settings_that_are_safe_start(tmp_path: Path) -> None:
    app = create_app(environ=SAFE_PRODUCTION)
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_security_headers(app: Flask) -> None:
    response = app.test_client().get("/health")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://*.atlassian.net" in csp
    assert "default-src 'none'" in csp
    assert "Strict-Transport-Security" not in headers  # development


def test_unknown_route_is_a_clean_404(app: Flask) -> None:
    response = app.test_client().get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_logs_carry_no_query_string_token_or_secret(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    add_tenant(app)
    token = module_token("GET", "/dialog/send", "contentId=1", secret="wrong-secret-" + "w" * 30)
    formatter = JsonFormatter()
    with caplog.at_level(logging.INFO):
        app.test_client().get(f"/dialog/send?contentId=1&jwt={token}")
    lines = [formatter.format(record) for record in caplog.records]
    assert any('"status":401' in line for line in lines)
    for line in lines:
        assert token not in line and token.split(".")[1] not in line
        assert "contentId=1" not in line
        json.loads(line)


def test_werkzeug_access_lines_lose_address_and_query() -> None:
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '127.0.0.1 - - [24/Nov/2026 01:00:00] "%s" %s %s',
        ("GET /dialog/send?contentId=1&jwt=eyJ.abc.def HTTP/1.1", "200", "-"),
        None,
    )
    AccessLogFilter().filter(record)
    message = record.getMessage()
    assert "127.0.0.1" not in message and "jwt" not in message and "contentId" not in message
    assert "GET /dialog/send HTTP/1.1" in message


def test_env_file_is_read_in_development(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config import env_with_dotenv

    (tmp_path / ".env").write_text("APP_KEY=from-dotenv\nBASE_URL=http://x\n")
    merged = env_with_dotenv({"BASE_URL": "http://from-env"}, tmp_path)
    assert merged["APP_KEY"] == "from-dotenv" and merged["BASE_URL"] == "http://from-env"
    assert "APP_KEY" not in env_with_dotenv({"APP_ENV": "production"}, tmp_path)


def test_base_environ_helper_is_development(tmp_path: Path) -> None:
    assert base_environ(tmp_path)["APP_ENV"] == "development"
