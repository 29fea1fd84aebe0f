"""Fixtures for the sandbox tests: a running sandbox, and a tiny Connect app standing in for pagemail.

The stand-in app serves a descriptor and lifecycle routes; it verifies each lifecycle call the way a
Connect app must (RS256 only, key fetched by `kid` from the sandbox's key server, `aud`, `iss`, and a
qsh it computes itself) and records what it saw.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import requests
from flask import Flask, Response, jsonify, request

from sandbox.config import SandboxConfig
from sandbox.directory import REGULAR_ID
from sandbox.oauth import GRANT_TYPE
from sandbox.qsh import query_string_hash
from sandbox.testing import RunningSandbox, run_sandbox
from tests.servers import serve

APP_KEY = "pagemail-test"
TIMEOUT = 30
DIALOG_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><script src="{{all_js}}"></script></head>
<body>
<pre id="results" data-done="false"></pre>
<button id="close" type="button">Close</button>
<script>
  const results = {};
  Promise.all([
    new Promise((resolve) => AP.context.getToken((token) => { results.callbackToken = token; resolve(); })),
    AP.context.getToken().then((token) => { results.promiseToken = token; }),
    AP.context.getContext().then((context) => { results.context = context; }),
    new Promise((resolve) => AP.user.getLocale((locale) => { results.locale = locale; resolve(); })),
    AP.user.getCurrentUser().then((user) => { results.user = user; }),
  ]).then(() => {
    AP.flag.create({title: "Saved", body: "<b>not markup</b>", type: "success", close: "manual"});
    const out = document.getElementById("results");
    out.textContent = JSON.stringify(results);
    out.dataset.done = "true";
  }, (error) => { document.getElementById("results").textContent = "error: " + error.message; });
  document.getElementById("close").addEventListener("click", () => AP.dialog.close({sent: true}));
</script>
</body></html>
"""


@dataclass
class LifecycleCall:
    event: str
    payload: dict[str, Any]
    claims: dict[str, Any] | None
    kid: str | None
    error: str | None


@dataclass
class StandInApp:
    """A minimal Connect app: descriptor, lifecycle routes, and a record of the calls it received."""

    keys_url: str = ""
    url: str = ""
    calls: list[LifecycleCall] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=lambda: ["read", "act_as_user", "access_email_addresses"])
    lock: threading.Lock = field(default_factory=threading.Lock)

    def descriptor(self) -> dict[str, Any]:
        return {
            "key": APP_KEY,
            "name": "pagemail (test)",
            "baseUrl": self.url,
            "authentication": {"type": "jwt"},
            "lifecycle": {
                "installed": "/lifecycle/installed",
                "uninstalled": "/lifecycle/uninstalled",
                "enabled": "/lifecycle/enabled",
                "disabled": "/lifecycle/disabled",
            },
            "apiMigrations": {"signed-install": True, "context-qsh": True, "gdpr": True},
            "scopes": self.scopes,
            "translations": {"paths": {"en-US": "/i18n/en-US.json", "de-DE": "/i18n/de-DE.json"}},
            "modules": {
                "webItems": [
                    {
                        "key": "send-as-mail",
                        "location": "system.content.action/secondary",
                        "name": {"value": "Send as mail", "i18n": "test.send"},
                        "target": {"type": "dialogmodule", "options": {"key": "send-dialog"}},
                    }
                ],
                "dialogs": [
                    {
                        "key": "send-dialog",
                        "url": "/dialog?contentId={content.id}&spaceKey={space.key}",
                        "options": {"width": "720px", "height": "560px", "chrome": False},
                    }
                ],
                "adminPages": [{"key": "admin", "name": {"value": "pagemail settings"}, "url": "/admin"}],
                "configurePage": {"key": "configure", "name": {"value": "Configure"}, "url": "/admin?view=configure"},
                "spaceToolsTabs": [
                    {"key": "space-settings", "name": {"value": "pagemail"}, "url": "/space?spaceKey={space.key}"}
                ],
            },
        }

    def events(self) -> list[str]:
        with self.lock:
            return [call.event for call in self.calls]

    def last(self, event: str) -> LifecycleCall:
        with self.lock:
            return [call for call in self.calls if call.event == event][-1]

    def verify(self, event: str) -> tuple[dict[str, Any] | None, str | None, str | None]:
        """Check the signed-install JWT like a Connect app; (claims, kid, error)."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("JWT "):
            return None, None, "no JWT"
        token = header[4:]
        unverified = jwt.get_unverified_header(token)
        if unverified.get("alg") != "RS256":
            return None, None, "not RS256"
        kid = unverified.get("kid")
        key_response = requests.get(f"{self.keys_url}/{kid}", timeout=TIMEOUT)
        if key_response.status_code != 200:
            return None, kid, f"key server answered {key_response.status_code}"
        try:
            claims = jwt.decode(token, key_response.text, algorithms=["RS256"], audience=self.url)
        except jwt.PyJWTError as exc:
            return None, kid, type(exc).__name__
        canonical = f"POST&/lifecycle/{event}&"
        if claims.get("qsh") != hashlib.sha256(canonical.encode()).hexdigest():
            return claims, kid, "qsh mismatch"
        if claims.get("iss") != (request.get_json(silent=True) or {}).get("clientKey"):
            return claims, kid, "iss is not the clientKey"
        return claims, kid, None

    def wsgi(self) -> Flask:
        app = Flask("stand-in-app")

        @app.get("/atlassian-connect.json")
        def descriptor() -> Response:
            return jsonify(self.descriptor())

        @app.get("/dialog")
        def dialog() -> Response:
            # An iframe page that exercises the AP calls the way pagemail does and shows what came back.
            script = f"{self.keys_url.rsplit('/connect-keys', 1)[0]}/atlassian-connect/all.js"
            return Response(DIALOG_PAGE.replace("{{all_js}}", script), mimetype="text/html")

        @app.get("/i18n/<locale>.json")
        def translations(locale: str) -> Response:
            texts = {"en-US": {"test.send": "Send as mail"}, "de-DE": {"test.send": "Als E-Mail senden"}}
            return jsonify(texts[locale]) if locale in texts else Response(status=404)

        @app.post("/lifecycle/<event>")
        def lifecycle(event: str) -> Response:
            claims, kid, error = self.verify(event)
            with self.lock:
                self.calls.append(LifecycleCall(event, request.get_json(silent=True) or {}, claims, kid, error))
                status = self.answers.pop(event, None)
            if error:
                return Response(error, status=401)
            return Response("", status=status or 204)

        return app


@pytest.fixture
def stand_in_app() -> Iterator[StandInApp]:
    app = StandInApp()
    with serve(app.wsgi()) as server:
        app.url = server.url
        yield app


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """A fresh sandbox (nothing installed)."""
    with run_sandbox(SandboxConfig(start_smtp=False)) as running:
        yield running


@dataclass
class Site:
    """A sandbox with the stand-in app installed: the shared setup of most REST tests."""

    sandbox: RunningSandbox
    app: StandInApp

    @property
    def url(self) -> str:
        return self.sandbox.url

    @property
    def secret(self) -> str:
        return self.sandbox.state.installation.shared_secret

    def app_jwt(self, method: str, path: str, query: str = "", **overrides: Any) -> str:
        """An app JWT for a REST call; `path` relative to the site (`/rest/api/...`)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": APP_KEY,
            "iat": now,
            "exp": now + 180,
            "qsh": query_string_hash(method, path, query),
        }
        secret = overrides.pop("secret", self.secret)
        claims.update(overrides)
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")

    def as_app(self, method: str, path: str, query: str = "", **kwargs: Any) -> requests.Response:
        token = self.app_jwt(method, path, query)
        url = f"{self.url}/wiki{path}" + (f"?{query}" if query else "")
        return requests.request(method, url, headers={"Authorization": f"JWT {token}"}, timeout=TIMEOUT, **kwargs)

    def assertion(self, account_id: str, **overrides: Any) -> str:
        installation = self.sandbox.state.installation
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": f"urn:atlassian:connect:clientid:{installation.oauth_client_id}",
            "sub": f"urn:atlassian:connect:useraccountid:{account_id}",
            "tnt": self.sandbox.base_url,
            "aud": f"{self.url}/oauth",
            "iat": now,
            "exp": now + 60,
        }
        secret = overrides.pop("secret", self.secret)
        claims.update(overrides)
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")

    def grant(self, assertion: str, scope: str = "READ ACT_AS_USER") -> requests.Response:
        return requests.post(
            f"{self.url}/oauth/oauth2/token",
            data={"grant_type": GRANT_TYPE, "assertion": assertion, "scope": scope},
            timeout=TIMEOUT,
        )

    def bearer(self, account_id: str = REGULAR_ID) -> str:
        response = self.grant(self.assertion(account_id))
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def as_user(self, account_id: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.bearer(account_id)}"}
        return requests.request(method, f"{self.url}/wiki{path}", headers=headers, timeout=TIMEOUT, **kwargs)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """One installed site per test module (faults and the request log are reset around each test)."""
    app = StandInApp()
    with run_sandbox(SandboxConfig(start_smtp=True, smtp_port=0)) as running, serve(app.wsgi()) as server:
        app.url = server.url
        app.keys_url = f"{running.url}/connect-keys"
        result = running.install(f"{server.url}/atlassian-connect.json")
        assert result["installed"], result
        yield Site(running, app)


@pytest.fixture(autouse=True)
def _clean_site(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "site" in request.fixturenames:
        current: Site = request.getfixturevalue("site")
        current.sandbox.state.faults.reset()
        current.sandbox.state.requests.clear()
