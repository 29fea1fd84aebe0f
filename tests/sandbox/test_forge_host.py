"""The sandbox as the Forge app's host, over HTTP: the app's entries and pages appear once *Install Forge app* is
pressed, each module's iframe comes from Forge's CDN origin with the platform's bridge script first and a CSP from
the manifest, the context names the user and the page or space, and an invokeRemote reaches the remote with a fresh
invocation token and the OAuth tokens the endpoint enables (never the page's own headers). A missing Custom UI build
is told, with the command that makes it. (tests/browser/test_forge_door.py drives all of it in Chromium.)"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from flask import Flask, Response, jsonify, request

from sandbox.config import FORGE_MANIFEST, SandboxConfig
from sandbox.directory import ADMIN_ID, APP_ACCOUNT_ID, GERMAN_ID, REGULAR_ID
from sandbox.forge_cdn import cdn_origin
from sandbox.testing import RunningSandbox, run_sandbox
from tests.sandbox.conftest import TIMEOUT
from tests.servers import serve

PAGE = "2000000001"  # Engineering home, space ENG
# The iframe permissions Forge documents for Custom UI (developer.atlassian.com: Custom UI iframe).
FORGE_IFRAME_SANDBOX = ["allow-downloads", "allow-forms", "allow-modals", "allow-pointer-lock", "allow-same-origin"]
FORGE_IFRAME_SANDBOX.append("allow-scripts")
INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name}</title><script src="forge-host.js"></script></head>
<body><main id="{name}"></main><script src="page.js"></script></body></html>
"""


@dataclass
class StandInRemote:
    """A Forge remote that records what reached it: lifecycle events and the UI's invokeRemote calls."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wsgi(self) -> Flask:
        app = Flask("stand-in-remote")

        @app.post("/lifecycle/forge")
        def lifecycle() -> Response:
            return Response("", status=200)

        @app.route("/api/<path:rest>", methods=["GET", "POST", "PUT"])
        def api(rest: str) -> Response:
            with self.lock:
                self.calls.append(
                    {"path": request.path, "method": request.method, "headers": dict(request.headers)}
                    | {"body": request.get_json(silent=True)}
                )
            response = jsonify({"answered": rest})
            response.status_code = 201
            response.headers["X-Remote"] = "yes"
            return response

        return app


@dataclass
class ForgeSite:
    sandbox: RunningSandbox
    remote: StandInRemote

    @property
    def url(self) -> str:
        return self.sandbox.url

    @property
    def cdn(self) -> str:
        return cdn_origin(self.sandbox.url)

    def get(self, path: str, user: str = ADMIN_ID, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", cookies={"sandbox_user": user}, timeout=TIMEOUT, **kwargs)

    def post(self, path: str, user: str = ADMIN_ID, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.url}{path}", cookies={"sandbox_user": user}, timeout=TIMEOUT, **kwargs)

    def install(self) -> None:
        answer = self.post("/wiki/plugins/servlet/upm/forge/install", allow_redirects=False)
        assert answer.status_code == 303, answer.text
        assert "done" in requests.utils.unquote(answer.headers["Location"]).replace("+", " ")


def forge_folder(tmp_path: Path, built: bool) -> Path:
    """The real manifest in a folder of its own, with stand-in Custom UI resources beside it when `built`."""
    folder = tmp_path / "forge"
    folder.mkdir()
    shutil.copy(FORGE_MANIFEST, folder / "manifest.yml")
    if built:
        for name in ("dialog", "admin", "space"):
            resource = folder / "ui" / "dist" / name
            resource.mkdir(parents=True)
            (resource / "index.html").write_text(INDEX.format(name=name), encoding="utf-8")
            (resource / "page.js").write_text("window.page = true;\n", encoding="utf-8")
    return folder / "manifest.yml"


def _site(tmp_path: Path, built: bool) -> Iterator[ForgeSite]:
    remote = StandInRemote()
    with serve(remote.wsgi()) as server:
        config = SandboxConfig(
            start_smtp=False, forge_manifest=forge_folder(tmp_path, built), forge_remote_url=server.url
        )
        with run_sandbox(config) as sandbox:
            yield ForgeSite(sandbox, remote)


@pytest.fixture
def forge_site(tmp_path: Path) -> Iterator[ForgeSite]:
    """A sandbox whose Forge app has its Custom UI built (stand-in pages), not installed yet."""
    yield from _site(tmp_path, built=True)


@pytest.fixture
def unbuilt(tmp_path: Path) -> Iterator[ForgeSite]:
    """The same, before anyone ran the Custom UI build."""
    yield from _site(tmp_path, built=False)


def frame_of(html: str) -> dict[str, str]:
    match = re.search(r"<iframe[^>]*data-forge-frame[^>]*>", html)
    assert match, "no Forge iframe on the page"
    return dict(re.findall(r'([\w-]+)=["\']([^"\']*)["\']', match.group(0)))


def test_install_forge_app_brings_its_entry_and_pages_and_uninstall_takes_them(forge_site: ForgeSite) -> None:
    page = f"/wiki/spaces/ENG/pages/{PAGE}"
    upm = forge_site.get("/wiki/plugins/servlet/upm").text
    assert 'id="install-forge-app"' in upm and "The Forge app is not installed" in upm
    assert "data-forge-action" not in forge_site.get(page).text
    refused = forge_site.post("/wiki/plugins/servlet/upm/forge/install", user=REGULAR_ID, allow_redirects=False)
    assert refused.status_code == 403 and not forge_site.sandbox.state.forge.installation.installed

    forge_site.install()
    assert 'data-forge-action="send-as-mail"' in forge_site.get(page).text
    assert 'data-forge-module="pagemail-settings"' in forge_site.get("/wiki/admin").text
    assert (
        'data-forge-module="pagemail-space-settings"' in forge_site.get("/wiki/spaces/ENG/settings/integrations").text
    )
    upm = forge_site.get("/wiki/plugins/servlet/upm").text
    assert 'id="uninstall-forge-app"' in upm and forge_site.sandbox.state.forge.installation_ari in upm

    admin = frame_of(forge_site.get("/wiki/admin/forge/pagemail-settings").text)
    assert admin["src"] == f"{forge_site.cdn}/forge-cdn/resources/admin/index.html"
    assert admin["sandbox"].split() == FORGE_IFRAME_SANDBOX
    space = frame_of(forge_site.get("/wiki/spaces/ENG/settings/integrations/forge/pagemail-space-settings").text)
    assert space["src"].endswith("/forge-cdn/resources/space/index.html") and space["data-space-key"] == "ENG"
    assert forge_site.get("/wiki/admin/forge/pagemail-settings", user=REGULAR_ID).status_code == 403

    answer = forge_site.post("/wiki/plugins/servlet/upm/forge/uninstall", allow_redirects=False)
    assert answer.status_code == 303
    assert "data-forge-action" not in forge_site.get(page).text
    assert 'id="install-forge-app"' in forge_site.get("/wiki/plugins/servlet/upm").text


def test_the_frame_tells_the_context_of_the_user_and_the_page(forge_site: ForgeSite) -> None:
    forge_site.install()
    answer = forge_site.get("/wiki/forge/frame", user=GERMAN_ID, params={"module": "send-as-mail", "contentId": PAGE})
    assert answer.status_code == 200, answer.text
    frame = answer.json()
    assert frame["url"] == f"{forge_site.cdn}/forge-cdn/resources/dialog/index.html"
    assert (frame["width"], frame["title"]) == ("800px", "Send as mail")  # viewportSize: large
    context = frame["context"]
    assert (context["accountId"], context["locale"], context["moduleKey"]) == (GERMAN_ID, "de-DE", "send-as-mail")
    assert context["cloudId"] == forge_site.sandbox.state.forge.cloud_id
    assert context["extension"]["type"] == "confluence:contentAction"
    assert context["extension"]["content"]["id"] == PAGE and context["extension"]["space"]["key"] == "ENG"

    anonymous = requests.get(f"{forge_site.url}/wiki/forge/frame", params={"module": "send-as-mail"}, timeout=TIMEOUT)
    assert anonymous.status_code == 401, "a frame is opened for the person browsing"
    assert forge_site.get("/wiki/forge/frame", params={"module": "nope"}).status_code == 404
    assert forge_site.get("/wiki/forge/frame", params={"module": "send-as-mail"}).status_code == 404  # no page
    space = forge_site.get("/wiki/forge/frame", params={"module": "pagemail-space-settings", "spaceKey": "ENG"}).json()
    assert space["context"]["extension"]["type"] == "confluence:spaceSettings"
    assert space["context"]["extension"]["space"]["key"] == "ENG" and "content" not in space["context"]["extension"]


def test_the_cdn_serves_a_resource_with_the_bridge_first_and_the_manifests_csp(forge_site: ForgeSite) -> None:
    resource = f"{forge_site.cdn}/forge-cdn/resources/dialog/index.html"
    assert requests.get(resource, timeout=TIMEOUT).status_code == 404, "nothing before the app is installed"
    forge_site.install()
    answer = requests.get(resource, timeout=TIMEOUT)
    assert answer.status_code == 200
    head = answer.text.split("<head>", 1)[1]
    assert head.startswith(f'<script src="/forge-cdn/bridge.js" data-host-origin="{forge_site.url}"></script>')
    policy = answer.headers["Content-Security-Policy"]
    # The manifest allows inline styles (the mail previews are inlined CSS) and no inline code.
    assert "script-src 'self';" in policy and "style-src 'self' 'unsafe-inline';" in policy
    assert policy.endswith(f"frame-ancestors {forge_site.url}")
    assert (
        requests.get(f"{forge_site.cdn}/forge-cdn/resources/dialog/page.js", timeout=TIMEOUT).text
        == "window.page = true;\n"
    )
    assert requests.get(f"{forge_site.cdn}/forge-cdn/bridge.js", timeout=TIMEOUT).status_code == 200
    # Only on the CDN's own origin, and only the resource's files.
    assert requests.get(f"{forge_site.url}/forge-cdn/resources/dialog/index.html", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{forge_site.url}/forge-cdn/bridge.js", timeout=TIMEOUT).status_code == 404
    escape = requests.get(f"{forge_site.cdn}/forge-cdn/resources/dialog/..%2F..%2F..%2Fmanifest.yml", timeout=TIMEOUT)
    assert escape.status_code == 404
    assert requests.get(f"{forge_site.cdn}/forge-cdn/resources/nope/index.html", timeout=TIMEOUT).status_code == 404


def invoke(site: ForgeSite, user: str | None = REGULAR_ID, **call: Any) -> requests.Response:
    body = {"module": "send-as-mail", "contentId": PAGE, "spaceKey": "ENG", "call": call}
    cookies = {"sandbox_user": user} if user else {}
    return requests.post(f"{site.url}/wiki/forge/invoke", json=body, cookies=cookies, timeout=TIMEOUT)


def test_invoke_remote_reaches_the_remote_with_a_fresh_invocation_token_for_the_user(forge_site: ForgeSite) -> None:
    forge_site.install()
    forge = forge_site.sandbox.state.forge
    headers = {"X-Pagemail-Locale": "de-DE", "Authorization": "JWT not-forwarded", "x-forge-oauth-user": "forged"}
    answer = invoke(forge_site, path=f"/api/pages/{PAGE}/attachments", method="POST", headers=headers, body={"a": [1]})
    assert answer.status_code == 200, answer.text
    # What the bridge hands @forge/bridge: the remote's status, headers (lists, as Forge gives them) and JSON body.
    assert answer.json()["success"] is True
    payload = answer.json()["payload"]
    assert (payload["status"], payload["body"]) == (201, {"answered": f"pages/{PAGE}/attachments"})
    assert payload["headers"]["x-remote"] == ["yes"]

    # The remote got the app's call with the platform's credentials, not the page's.
    [call] = forge_site.remote.calls
    assert (call["path"], call["method"], call["body"]) == (f"/api/pages/{PAGE}/attachments", "POST", {"a": [1]})
    assert call["headers"]["X-Pagemail-Locale"] == "de-DE"
    token = call["headers"]["Authorization"].removeprefix("Bearer ")
    key = jwt.PyJWK(forge.keys.jwks()["keys"][-1]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=forge.app_ari)
    assert claims["principal"] == REGULAR_ID and claims["iss"] == "forge/invocation-token"
    assert claims["app"]["installationId"] == forge.installation_ari
    assert claims["context"]["moduleKey"] == "send-as-mail"
    assert claims["context"]["extension"]["content"]["id"] == PAGE
    user_grant = forge.caller(call["headers"]["X-Forge-Oauth-User"])
    system_grant = forge.caller(call["headers"]["X-Forge-Oauth-System"])
    assert user_grant is not None and user_grant.account_id == REGULAR_ID and not user_grant.is_app
    assert system_grant is not None and system_grant.account_id == APP_ACCOUNT_ID and system_grant.is_app


def test_invoke_remote_refuses_what_forge_would_not_send(forge_site: ForgeSite) -> None:
    assert invoke(forge_site, path="/api/x", method="GET").status_code == 409, "not installed"
    forge_site.install()
    assert invoke(forge_site, user=None, path="/api/x", method="GET").status_code == 401
    assert invoke(forge_site, path="//elsewhere.example/api", method="GET").status_code == 400
    assert invoke(forge_site, path="/api/x", method="TRACE").status_code == 400
    form = requests.post(
        f"{forge_site.url}/wiki/forge/invoke", data={"call": "x"}, cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT
    )
    assert form.status_code == 415, "JSON only: another site's form can't invoke as the person browsing"
    assert forge_site.remote.calls == []


def test_a_missing_custom_ui_build_is_told_with_the_command_that_makes_it(unbuilt: ForgeSite) -> None:
    hint = "cd forge &amp;&amp; npm ci &amp;&amp; npm run build"
    assert hint in unbuilt.get("/wiki/plugins/servlet/upm").text
    unbuilt.install()
    frame = unbuilt.get("/wiki/forge/frame", params={"module": "send-as-mail", "contentId": PAGE})
    assert frame.status_code == 409 and "npm ci && npm run build" in frame.json()["error"]
    page = unbuilt.get("/wiki/admin/forge/pagemail-settings").text
    assert 'id="forge-problem"' in page and hint in page and "data-forge-frame" not in page
