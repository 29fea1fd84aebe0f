"""The Forge door's configuration: closed without FORGE_APP_ID, a bad id refused at start, production's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from config import ConfigError
from tests.stack import base_environ

APP_ID = "7e6b2c41-3f0a-4d5e-8b9c-1a2b3c4d5e6f"


def test_without_an_app_id_the_forge_door_is_closed(tmp_path: Path) -> None:
    app = create_app(environ=base_environ(tmp_path))
    client = app.test_client()
    assert "pagemail.forge_keys" not in app.extensions
    assert client.post("/lifecycle/forge", json={"eventType": "avi:forge:installed:app"}).status_code == 404
    refused = client.get("/api/recipients?query=al", headers={"Authorization": "Bearer x.y.z"})
    assert refused.status_code == 401 and refused.json["error"]["message"] == "missing Authorization header"


def test_with_an_app_id_it_opens(tmp_path: Path) -> None:
    app = create_app(environ=base_environ(tmp_path, FORGE_APP_ID=f"ari:cloud:ecosystem::app/{APP_ID.upper()}"))
    assert app.config["FORGE_APP_ID"] == APP_ID
    assert app.extensions["pagemail.forge_keys"].url == "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    assert app.config["FORGE_API_HOSTS"] == "api.atlassian.com"
    # No lifecycle token: refused before anything is read.
    assert app.test_client().post("/lifecycle/forge", json={}).status_code == 401


@pytest.mark.parametrize("value", ["pagemail", "1234", "ari:cloud:ecosystem::app/not-a-uuid"])
def test_a_malformed_app_id_stops_the_start(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="FORGE_APP_ID"):
        create_app(environ=base_environ(tmp_path, FORGE_APP_ID=value))


@pytest.mark.parametrize(
    ("variable", "value"),
    [("FORGE_JWKS_URL", "http://localhost:8100/forge-cdn/.well-known/jwks.json"), ("FORGE_API_HOSTS", "localhost:*")],
)
def test_production_refuses_sandbox_forge_settings(tmp_path: Path, variable: str, value: str) -> None:
    environ = base_environ(
        tmp_path,
        APP_ENV="production",
        BASE_URL="https://pagemail.example.com",
        CONNECT_ALLOWED_HOSTS="*.atlassian.net",
        CONFLUENCE_MEDIA_HOSTS="api.media.atlassian.com",
        CONNECT_ALLOW_INSECURE_HOSTS="",
        SMTP_ALLOW_PRIVATE_HOSTS="",
        SECRETS_KMS_KEY_ID="arn:aws:kms:eu-west-1:111122223333:key/example",
        DATABASE_URL="postgresql+psycopg://u@db.example.com/pagemail",
        FORGE_APP_ID=APP_ID,
        **{variable: value},
    )
    with pytest.raises(ConfigError, match=variable):
        create_app(environ=environ)
