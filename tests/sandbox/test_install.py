"""The signed install flow against a stand-in app that verifies every call like a Connect app."""

from __future__ import annotations

from pathlib import Path

import requests

from sandbox.config import SandboxConfig
from sandbox.directory import ADMIN_ID, REGULAR_ID
from sandbox.testing import RunningSandbox, run_sandbox
from tests.sandbox.conftest import APP_KEY, TIMEOUT, StandInApp


def _install(sandbox: RunningSandbox, app: StandInApp) -> requests.Response:
    app.keys_url = f"{sandbox.url}/connect-keys"
    return requests.post(
        f"{sandbox.url}/_sandbox/install", json={"descriptorUrl": f"{app.url}/atlassian-connect.json"}, timeout=TIMEOUT
    )


def test_install_sends_signed_installed_then_enabled(sandbox: RunningSandbox, stand_in_app: StandInApp) -> None:
    response = _install(sandbox, stand_in_app)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["status"], result["installed"], result["enabled"]) == (204, True, True)
    assert stand_in_app.events() == ["installed", "enabled"]
    installed = stand_in_app.last("installed")
    assert installed.error is None  # RS256, key from the key server by kid, aud, iss and qsh all verified
    assert installed.kid == sandbox.state.signing_key.kid
    assert installed.claims is not None
    assert installed.claims["aud"] == [stand_in_app.url]
    assert installed.claims["exp"] - installed.claims["iat"] == 180
    payload = installed.payload
    assert payload["key"] == APP_KEY
    assert payload["clientKey"] == result["clientKey"] == installed.claims["iss"]
    assert payload["baseUrl"] == payload["displayUrl"] == f"{sandbox.url}/wiki"
    assert (payload["productType"], payload["eventType"]) == ("confluence", "installed")
    assert payload["sharedSecret"] == sandbox.state.installation.shared_secret
    assert len(payload["sharedSecret"]) >= 32
    assert payload["oauthClientId"] and payload["cloudId"]
    assert "publicKey" not in payload
    assert stand_in_app.last("enabled").error is None


def test_reinstall_keeps_the_identity_and_changes_the_secret(sandbox: RunningSandbox, stand_in_app: StandInApp) -> None:
    _install(sandbox, stand_in_app)
    first = stand_in_app.last("installed").payload
    _install(sandbox, stand_in_app)
    second = stand_in_app.last("installed").payload
    assert second["sharedSecret"] != first["sharedSecret"]
    for key in ("clientKey", "oauthClientId", "cloudId", "baseUrl"):
        assert second[key] == first[key]
    assert sandbox.state.installation.shared_secret == second["sharedSecret"]


def test_access_tokens_outlive_a_reinstall_but_not_an_uninstall(
    sandbox: RunningSandbox, stand_in_app: StandInApp
) -> None:
    _install(sandbox, stand_in_app)
    token = sandbox.state.tokens.issue(
        REGULAR_ID, frozenset({"READ", "ACT_AS_USER"}), sandbox.state.installation.client_key
    )
    url = f"{sandbox.url}/wiki/rest/api/user/current"
    headers = {"Authorization": f"Bearer {token}"}
    _install(sandbox, stand_in_app)
    assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 200
    requests.post(f"{sandbox.url}/_sandbox/uninstall", timeout=TIMEOUT)
    assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 401


def test_uninstall_sends_disabled_and_uninstalled_without_secret(
    sandbox: RunningSandbox, stand_in_app: StandInApp
) -> None:
    _install(sandbox, stand_in_app)
    response = requests.post(f"{sandbox.url}/_sandbox/uninstall", timeout=TIMEOUT)
    assert response.status_code == 200
    assert stand_in_app.events()[-2:] == ["disabled", "uninstalled"]
    uninstalled = stand_in_app.last("uninstalled")
    assert uninstalled.error is None
    assert "sharedSecret" not in uninstalled.payload
    assert uninstalled.payload["eventType"] == "uninstalled"
    assert sandbox.state.installation.installed is False
    module = requests.get(
        f"{sandbox.url}/_sandbox/module-url", params={"module": "send-dialog", "user": REGULAR_ID}, timeout=TIMEOUT
    )
    assert module.status_code == 409


def test_refused_install_leaves_the_app_uninstalled(sandbox: RunningSandbox, stand_in_app: StandInApp) -> None:
    stand_in_app.answers["installed"] = 500
    response = _install(sandbox, stand_in_app)
    assert response.status_code == 502
    assert response.json()["status"] == 500
    assert response.json()["installed"] is False
    assert stand_in_app.events() == ["installed"]
    upm = requests.get(f"{sandbox.url}/wiki/plugins/servlet/upm", timeout=TIMEOUT).text
    assert "HTTP 500" in upm


def test_unreachable_or_invalid_descriptor(sandbox: RunningSandbox, stand_in_app: StandInApp) -> None:
    response = requests.post(
        f"{sandbox.url}/_sandbox/install", json={"descriptorUrl": f"{stand_in_app.url}/missing.json"}, timeout=TIMEOUT
    )
    assert response.status_code == 502
    assert "404" in response.json()["error"]
    response = requests.post(f"{sandbox.url}/_sandbox/install", json={"descriptorUrl": 42}, timeout=TIMEOUT)
    assert response.status_code == 400


def test_disable_and_enable(sandbox: RunningSandbox, stand_in_app: StandInApp) -> None:
    _install(sandbox, stand_in_app)
    assert requests.post(f"{sandbox.url}/_sandbox/disable", timeout=TIMEOUT).json()["enabled"] is False
    assert stand_in_app.last("disabled").payload["eventType"] == "disabled"
    stand_in_app.answers["enabled"] = 503
    refused = requests.post(f"{sandbox.url}/_sandbox/enable", timeout=TIMEOUT)
    assert refused.json()["enabled"] is False
    assert requests.post(f"{sandbox.url}/_sandbox/enable", timeout=TIMEOUT).json()["enabled"] is True
    assert all(call.error is None for call in stand_in_app.calls)


def test_installation_survives_a_restart_with_a_state_file(tmp_path: Path, stand_in_app: StandInApp) -> None:
    config = SandboxConfig(state_file=tmp_path / "sandbox-state.json", start_smtp=False)
    with run_sandbox(config) as first:
        _install(first, stand_in_app)
        before = first.state.installation
    assert (tmp_path / "sandbox-state.json").stat().st_mode & 0o077 == 0
    with run_sandbox(config) as second:
        after = second.state.installation
        assert after.installed and after.enabled
        assert (after.client_key, after.shared_secret) == (before.client_key, before.shared_secret)
        assert second.state.signing_key.kid != first.state.signing_key.kid  # a new key pair every start


def test_manage_apps_buttons_are_for_site_admins(sandbox: RunningSandbox, stand_in_app: StandInApp) -> None:
    stand_in_app.keys_url = f"{sandbox.url}/connect-keys"
    form = {"descriptorUrl": f"{stand_in_app.url}/atlassian-connect.json"}
    action = f"{sandbox.url}/wiki/plugins/servlet/upm/install"
    denied = requests.post(action, data=form, cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT)
    assert denied.status_code == 403 and stand_in_app.events() == []
    done = requests.post(action, data=form, cookies={"sandbox_user": ADMIN_ID}, timeout=TIMEOUT)
    assert done.status_code == 200 and "Install: done" in done.text
    assert stand_in_app.events() == ["installed", "enabled"]
    assert "pagemail (test)" in done.text
