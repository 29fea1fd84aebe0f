"""The app and the sandbox Confluence wired together over real HTTP (tests, browser tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from tests.servers import free_port, serve

# The app's settings that point Microsoft 365 and Google Workspace mail at real servers (DESIGN §6).
PROVIDER_CONFIG = ("MICROSOFT_AUTHORITY_HOST", "MICROSOFT_SMTP_HOST", "GOOGLE_SMTP_HOST", "REQUESTS_CA_BUNDLE")


def base_environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "APP_ENV": "development",
        "BASE_URL": "http://localhost:8000",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'pagemail.sqlite'}",
        "SECRETS_KEY_FILE": str(tmp_path / "secrets.key"),
        "CONNECT_ALLOWED_HOSTS": "*.atlassian.net,localhost:*,127.0.0.1:*",
        "CONFLUENCE_MEDIA_HOSTS": "localhost:*,127.0.0.1:*",
        "CONNECT_ALLOW_INSECURE_HOSTS": "1",
        "SMTP_ALLOW_PRIVATE_HOSTS": "1",
    }
    env.update(extra)
    return env


@dataclass
class LiveStack:
    """The app and the sandbox Confluence, both served over real HTTP, installed into each other."""

    app: Flask
    app_url: str
    sandbox: Any  # sandbox.testing handle: .url, .catcher, .app
    http: requests.Session

    @property
    def catcher(self) -> Any:
        return self.sandbox.catcher

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.sandbox.url}/_sandbox/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def users(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "users")["users"])

    def pages(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "pages")["pages"])

    def context_token(self, account_id: str, content_id: str = "", space_key: str = "") -> str:
        answer = self.control(
            "GET", "context-token", params={"user": account_id, "contentId": content_id, "spaceKey": space_key}
        )
        return str(answer["token"])

    def api(self, method: str, path: str, account_id: str, **kwargs: Any) -> requests.Response:
        token = self.context_token(account_id)
        headers = {"Authorization": f"JWT {token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.app_url}{path}", headers=headers, timeout=120, **kwargs)

    def reset_faults(self) -> None:
        self.control("DELETE", "faults")

    @contextmanager
    def settings(self, **values: Any) -> Iterator[None]:
        """Set columns of the tenant's settings row directly; the old values come back afterwards."""
        from models import TenantSettings, db

        with self.app.app_context():
            row = db.session.execute(sa.select(TenantSettings)).scalar_one()
            before = {name: getattr(row, name) for name in values}
            for name, value in values.items():
                setattr(row, name, value)
            db.session.commit()
        try:
            yield
        finally:
            with self.app.app_context():
                row = db.session.execute(sa.select(TenantSettings)).scalar_one()
                for name, value in before.items():
                    setattr(row, name, value)
                db.session.commit()

    @contextmanager
    def restoring_settings(self) -> Iterator[None]:
        """Whatever a test changes through the API, the tenant's settings and space settings are put back."""
        from models import SpaceSettings, TenantSettings, db

        with self.app.app_context():
            row = db.session.execute(sa.select(TenantSettings)).scalar_one()
            saved = {c.key: getattr(row, c.key) for c in TenantSettings.__table__.columns if c.key != "id"}
        try:
            yield
        finally:
            with self.app.app_context():
                row = db.session.execute(sa.select(TenantSettings)).scalar_one()
                for key, value in saved.items():
                    setattr(row, key, value)
                db.session.execute(sa.delete(SpaceSettings))
                db.session.commit()

    @contextmanager
    def mail_providers(self) -> Iterator[dict[str, Any]]:
        """The app pointed at the sandbox's Entra ID, Google token endpoint and their submission server, as `make
        run` does; answers the demo credentials. No trouble on, no token issued or cached before; all put back."""
        answer = dict(self.control("GET", "mail-providers"))
        config = self.app.config
        before = {name: config.get(name) for name in (*PROVIDER_CONFIG, "SMTP_CA_FILE")}
        server = f"localhost:{answer['smtp']['port']}"
        config.update(
            MICROSOFT_AUTHORITY_HOST=self.sandbox.tls_url,
            MICROSOFT_SMTP_HOST=server,
            GOOGLE_SMTP_HOST=server,
            REQUESTS_CA_BUNDLE=answer["smtp"]["caFile"],
            SMTP_CA_FILE=answer["smtp"]["caFile"],
        )
        self.control("DELETE", "mail-providers/trouble")
        self.control("POST", "mail-providers/trouble", json={"revokeTokens": True})
        # Tokens are cached by connection: a test's trouble must meet a fresh token request. The live stack runs
        # without REDIS_URL, so the cache is the process's memory.
        self.app.extensions["pagemail.token_cache"].__init__()
        try:
            yield answer
        finally:
            self.control("DELETE", "mail-providers/trouble")
            for name, value in before.items():
                if value is None:
                    config.pop(name, None)
                else:
                    config[name] = value


def live_environ(tmp_path: Path, sandbox_url: str, app_url: str, smtp_port: int) -> dict[str, str]:
    sandbox_host = sandbox_url.split("://", 1)[1]
    return base_environ(
        tmp_path,
        BASE_URL=app_url,
        CONNECT_INSTALL_KEYS_URL=f"{sandbox_url}/connect-keys",
        CONNECT_ALLOWED_HOSTS=sandbox_host,
        OAUTH_AUTH_SERVER_URL=f"{sandbox_url}/oauth",
        CONNECT_ALL_JS_URL=f"{sandbox_url}/atlassian-connect/all.js",
        SMTP_DEFAULT_HOST="127.0.0.1",
        SMTP_DEFAULT_PORT=str(smtp_port),
        SMTP_DEFAULT_SECURITY="none",
        SMTP_DEFAULT_FROM="pagemail@localhost",
    )


@contextmanager
def running_stack(tmp_path: Path, database_url: str | None = None) -> Iterator[LiveStack]:
    from sandbox import SandboxConfig
    from sandbox.testing import run_sandbox

    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    config = SandboxConfig(app_descriptor_url=f"{app_url}/atlassian-connect.json", smtp_port=0, start_smtp=True)
    # The sandbox answers as "localhost" and the app as "127.0.0.1": two hosts, as in real life.
    with run_sandbox(config, host_name="localhost") as sandbox:
        environ = live_environ(tmp_path, sandbox.url, app_url, sandbox.catcher.port)
        if database_url:
            environ["DATABASE_URL"] = database_url
        app = create_app(environ=environ)
        with app.app_context():
            upgrade()
        with serve(app, port=app_port) as _server, requests.Session() as http:
            stack = LiveStack(app=app, app_url=app_url, sandbox=sandbox, http=http)
            installed = stack.control("POST", "install")
            assert 200 <= int(installed["status"]) < 300, installed
            yield stack
