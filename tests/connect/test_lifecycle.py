"""Signed installs: the good path and every forged or mismatched call refused with 401 and nothing changed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask

from models import Tenant, TenantSettings, db
from tests.keyserver import KeyServer, install_token, new_rsa_key
from tests.servers import serve

AUD = "http://localhost:8000"
CLIENT_KEY = "5b0f6c5e-6d3a-4cf1-9d7e-1c2f3a4b5c6d"
KID = "kid-1"


def body(event: str = "installed", **overrides: Any) -> dict[str, Any]:
    data = {
        "key": "pagemail",
        "clientKey": CLIENT_KEY,
        "sharedSecret": "s3cr3t-" + "x" * 40,
        "baseUrl": "https://acme.atlassian.net/wiki",
        "displayUrl": "https://acme.atlassian.net/wiki",
        "productType": "confluence",
        "description": "Atlassian Confluence at https://acme.atlassian.net/wiki ",
        "eventType": event,
        "oauthClientId": "oauth-client-1",
        "cloudId": "cloud-1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def keys() -> Iterator[tuple[KeyServer, str]]:
    server = KeyServer(keys={KID: new_rsa_key()})
    with serve(server.wsgi()) as running:
        yield server, running.url


@pytest.fixture
def lifecycle_app(app_factory: Any, keys: tuple[KeyServer, str]) -> Flask:
    return app_factory(CONNECT_INSTALL_KEYS_URL=keys[1])


def post(app: Flask, event: str, payload: dict[str, Any], token: str | None) -> Any:
    headers = {"Authorization": f"JWT {token}"} if token is not None else {}
    return app.test_client().post(
        f"/lifecycle/{event}", data=json.dumps(payload), content_type="application/json", headers=headers
    )


def snapshot(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows: list[tuple[Any, ...]] = []
        for table in ("tenant", "tenant_settings", "space_settings"):
            rows += [(table, *r) for r in db.session.execute(sa.text(f"SELECT * FROM {table}")).all()]
        return rows


def good_token(keys: tuple[KeyServer, str], event: str = "installed", **overrides: Any) -> str:
    return install_token(
        keys[0].keys[KID], kid=KID, client_key=CLIENT_KEY, audience=AUD, path=f"/lifecycle/{event}", **overrides
    )


def test_install_creates_tenant_with_encrypted_secret(lifecycle_app: Flask, keys: Any) -> None:
    response = post(lifecycle_app, "installed", body(), good_token(keys))
    assert response.status_code == 204, response.get_data(as_text=True)
    with lifecycle_app.app_context():
        tenant = db.session.execute(sa.select(Tenant)).scalar_one()
        assert tenant.client_key == CLIENT_KEY and tenant.oauth_client_id == "oauth-client-1"
        assert "s3cr3t" not in tenant.shared_secret_encrypted
        assert tenant.settings is not None and tenant.settings.max_recipients == 100


def test_reinstall_updates_secret_and_uninstall_deletes_everything(lifecycle_app: Flask, keys: Any) -> None:
    assert post(lifecycle_app, "installed", body(), good_token(keys)).status_code == 204
    with lifecycle_app.app_context():
        first = db.session.execute(sa.select(Tenant.shared_secret_encrypted)).scalar_one()
    assert (
        post(lifecycle_app, "installed", body(sharedSecret="another-secret-" + "y" * 30), good_token(keys)).status_code
        == 204
    )
    with lifecycle_app.app_context():
        box = lifecycle_app.extensions["pagemail.secrets"]
        tenant = db.session.execute(sa.select(Tenant)).scalar_one()
        assert tenant.shared_secret_encrypted != first
        assert box.decrypt(
            tenant.shared_secret_encrypted, tenant=CLIENT_KEY, field=Tenant.SHARED_SECRET_FIELD
        ).startswith("another-secret-")
        db.session.execute(
            sa.text(
                "INSERT INTO space_settings (tenant_id, space_key, enabled, group_ids) VALUES (:t, 'ENG', 1, '[]')"
            ),
            {"t": tenant.id},
        )
        db.session.commit()
    assert (
        post(lifecycle_app, "disabled", body("disabled", sharedSecret=None), good_token(keys, "disabled")).status_code
        == 204
    )
    with lifecycle_app.app_context():
        assert db.session.execute(sa.select(Tenant.enabled)).scalar_one() is False
    assert (
        post(lifecycle_app, "enabled", body("enabled", sharedSecret=None), good_token(keys, "enabled")).status_code
        == 204
    )
    assert (
        post(
            lifecycle_app, "uninstalled", body("uninstalled", sharedSecret=None), good_token(keys, "uninstalled")
        ).status_code
        == 204
    )
    assert snapshot(lifecycle_app) == []


def test_install_key_is_cached_by_kid(lifecycle_app: Flask, keys: Any) -> None:
    post(lifecycle_app, "installed", body(), good_token(keys))
    post(lifecycle_app, "installed", body(), good_token(keys))
    assert keys[0].fetches == 1


def _forgeries(keys: tuple[KeyServer, str]) -> dict[str, tuple[str | None, dict[str, Any], str]]:
    key = keys[0].keys[KID]
    other = new_rsa_key()
    now = time.time()
    hs = jwt.encode(
        {"iss": CLIENT_KEY, "aud": [AUD], "iat": int(now), "exp": int(now) + 60, "qsh": "x"},
        "shared",
        algorithm="HS256",
        headers={"kid": KID},
    )
    unsigned = jwt.encode(
        {"iss": CLIENT_KEY, "aud": [AUD], "iat": int(now), "exp": int(now) + 60},
        None,
        algorithm="none",
        headers={"kid": KID},
    )
    return {
        "no auth": (None, body(), "installed"),
        "HS256 install": (hs, body(), "installed"),
        "alg none": (unsigned, body(), "installed"),
        "unknown kid": (
            install_token(key, kid="kid-unknown", client_key=CLIENT_KEY, audience=AUD),
            body(),
            "installed",
        ),
        "other key": (install_token(other, kid=KID, client_key=CLIENT_KEY, audience=AUD), body(), "installed"),
        "wrong aud": (
            install_token(key, kid=KID, client_key=CLIENT_KEY, audience="https://evil.example"),
            body(),
            "installed",
        ),
        "no aud": (install_token(key, kid=KID, client_key=CLIENT_KEY, audience=AUD, aud=None), body(), "installed"),
        "wrong iss": (install_token(key, kid=KID, client_key="someone-else", audience=AUD), body(), "installed"),
        "expired": (
            install_token(key, kid=KID, client_key=CLIENT_KEY, audience=AUD, now=now - 600),
            body(),
            "installed",
        ),
        "wrong qsh": (
            install_token(key, kid=KID, client_key=CLIENT_KEY, audience=AUD, path="/lifecycle/uninstalled"),
            body(),
            "installed",
        ),
        "disallowed host": (good_token(keys), body(baseUrl="https://acme.evil.example/wiki"), "installed"),
        "http host": (good_token(keys), body(baseUrl="http://acme.atlassian.net/wiki"), "installed-https"),
        "credentials in host": (good_token(keys), body(baseUrl="https://u:p@acme.atlassian.net/wiki"), "installed"),
        "lookalike host": (good_token(keys), body(baseUrl="https://acme.atlassian.net.evil.example/wiki"), "installed"),
        "garbage token": ("not.a.jwt", body(), "installed"),
    }


@pytest.mark.parametrize("case", list(_forgeries((KeyServer(keys={KID: new_rsa_key()}), "")).keys()))
def test_forged_install_refused_and_nothing_changed(app_factory: Any, keys: Any, case: str) -> None:
    token, payload, event = _forgeries(keys)[case]
    extra = {"CONNECT_INSTALL_KEYS_URL": keys[1]}
    if event == "installed-https":
        extra["CONNECT_ALLOW_INSECURE_HOSTS"] = ""
        event = "installed"
    app = app_factory(**extra)
    before = snapshot(app)
    response = post(app, event, payload, token)
    assert response.status_code == 401, (case, response.get_data(as_text=True))
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized" and error["message"]
    assert snapshot(app) == before


def test_forged_uninstall_of_existing_tenant_changes_nothing(lifecycle_app: Flask, keys: Any) -> None:
    assert post(lifecycle_app, "installed", body(), good_token(keys)).status_code == 204
    before = snapshot(lifecycle_app)
    other = new_rsa_key()
    forged = install_token(other, kid=KID, client_key=CLIENT_KEY, audience=AUD, path="/lifecycle/uninstalled")
    assert post(lifecycle_app, "uninstalled", body("uninstalled"), forged).status_code == 401
    hs = jwt.encode(
        {"iss": CLIENT_KEY, "aud": [AUD], "iat": int(time.time()), "exp": int(time.time()) + 60, "qsh": "x"},
        "s3cr3t-" + "x" * 40,
        algorithm="HS256",
    )
    assert post(lifecycle_app, "uninstalled", body("uninstalled"), hs).status_code == 401
    assert snapshot(lifecycle_app) == before


def test_key_server_unreachable_is_a_clear_error(app_factory: Any) -> None:
    from tests.servers import free_port

    app = app_factory(CONNECT_INSTALL_KEYS_URL=f"http://127.0.0.1:{free_port()}")
    key = new_rsa_key()
    response = post(app, "installed", body(), install_token(key, kid=KID, client_key=CLIENT_KEY, audience=AUD))
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "install_keys_unreachable"
    assert snapshot(app) == []


def test_settings_defaults_are_safe(lifecycle_app: Flask, keys: Any) -> None:
    post(lifecycle_app, "installed", body(), good_token(keys))
    with lifecycle_app.app_context():
        settings = db.session.execute(sa.select(TenantSettings)).scalar_one()
        assert settings.smtp_mode == "default" and settings.smtp_password_encrypted is None
        assert settings.max_attachment_bytes == 20 * 1024 * 1024
