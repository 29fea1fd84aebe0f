"""forge/manifest.yml against the backend it points at (Atlassian's own validation runs in `make test` via npm).

What the backend and the manifest must agree on: the lifecycle route, the tokens every API call brings, the
modules' endpoint, the events, least scopes (no write scope), and that the remote is the only backend egress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from forge.lifecycle import EVENTS, LIFECYCLE_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "forge" / "manifest.yml"


def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def endpoints() -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in manifest()["modules"]["endpoint"]}


def test_the_lifecycle_trigger_reaches_the_backends_route() -> None:
    triggers = manifest()["modules"]["trigger"]
    assert len(triggers) == 1
    trigger = triggers[0]
    assert set(trigger["events"]) == set(EVENTS)
    endpoint = endpoints()[trigger["endpoint"]]
    assert endpoint["route"]["path"] == LIFECYCLE_PATH


def test_every_ui_module_calls_the_api_with_both_tokens() -> None:
    modules = manifest()["modules"]
    ui = [
        *modules["confluence:contentAction"],
        *modules["confluence:globalSettings"],
        *modules["confluence:spaceSettings"],
    ]
    assert {m["key"] for m in ui} == {"send-as-mail", "pagemail-settings", "pagemail-space-settings"}
    resources = {r["key"] for r in manifest()["resources"]}
    for module in ui:
        assert module["resource"] in resources
        endpoint = endpoints()[module["resolver"]["endpoint"]]
        assert "route" not in endpoint  # invokeRemote's path (/api/...) goes below the remote's base URL as is
        assert endpoint["auth"] == {"appUserToken": {"enabled": True}, "appSystemToken": {"enabled": True}}


def test_the_app_id_and_the_remote_come_from_the_deploys_environment() -> None:
    document = manifest()
    assert document["app"]["id"] == "ari:cloud:ecosystem::app/${FORGE_APP_ID}"
    assert [r["baseUrl"] for r in document["remotes"]] == ["${PAGEMAIL_REMOTE_URL}"]
    assert set(document["environment"]["variables"]) == {"FORGE_APP_ID", "PAGEMAIL_REMOTE_URL"}
    assert document["permissions"]["external"]["fetch"]["backend"] == [{"remote": "pagemail-backend"}]
    assert "client" not in document["permissions"]["external"]["fetch"]


def test_least_scopes() -> None:
    scopes = manifest()["permissions"]["scopes"]
    assert len(scopes) == len(set(scopes))
    assert not [s for s in scopes if s.startswith(("write:", "delete:", "manage:", "admin:"))]
    assert {"read:app-user-token", "read:app-system-token", "read:email-address:confluence"} <= set(scopes)
