"""Installing an app the way Confluence Cloud does: fetch the descriptor, then signed lifecycle calls.

Every lifecycle call (installed, enabled, disabled, uninstalled) is a JSON POST to the app's
`baseUrl + lifecycle.<event>`, carrying `Authorization: JWT <RS256 token>` (signed install): the
header names the key (`kid`) the app fetches from the key server; the claims are `iss` = clientKey,
`aud` = [the app's baseUrl], `qsh` over the POST relative to the app's baseUrl, `iat`, `exp` (+180 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from sandbox.installation import Installation, LifecycleAnswer
from sandbox.qsh import canonical_request_for_url, qsh_of
from sandbox.signing_key import InstallSigningKey

DESCRIPTOR_TIMEOUT = 10.0
LIFECYCLE_TIMEOUT = 15.0
SERVER_VERSION = "6452"
PLUGINS_VERSION = "1000.0.0.8d2c2a6a1b3e"
EVENTS = ("installed", "enabled", "disabled", "uninstalled")


class DescriptorError(ValueError):
    """The descriptor could not be fetched or is not an installable Connect descriptor."""


@dataclass(frozen=True)
class Tenant:
    """The site facts that go into every lifecycle payload."""

    base_url: str


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fetch_descriptor(url: str) -> dict[str, Any]:
    """GET and check the app's descriptor."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DescriptorError(f"descriptor URL must be http(s): {url!r}")
    try:
        response = requests.get(url, timeout=DESCRIPTOR_TIMEOUT, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise DescriptorError(f"could not fetch the descriptor: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise DescriptorError(f"descriptor answered HTTP {response.status_code}")
    try:
        descriptor = response.json()
    except ValueError as exc:
        raise DescriptorError("descriptor is not JSON") from exc
    check_descriptor(descriptor)
    return descriptor


def fetch_translations(descriptor: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The descriptor's `translations.paths` files (locale → key → text); unreadable files are skipped."""
    paths = ((descriptor.get("translations") or {}).get("paths")) or {}
    base = str(descriptor.get("baseUrl", "")).rstrip("/")
    found: dict[str, dict[str, str]] = {}
    for locale, path in paths.items() if isinstance(paths, dict) else ():
        if not isinstance(path, str) or not path.startswith("/"):
            continue
        try:
            response = requests.get(base + path, timeout=DESCRIPTOR_TIMEOUT)
            texts = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            continue
        if isinstance(texts, dict):
            found[str(locale)] = {str(key): str(value) for key, value in texts.items() if isinstance(value, str)}
    return found


def check_descriptor(descriptor: Any) -> None:
    """The parts of a descriptor the install needs (Confluence checks the full schema; this is the core)."""
    if not isinstance(descriptor, dict):
        raise DescriptorError("descriptor must be a JSON object")
    if not isinstance(descriptor.get("key"), str) or not descriptor["key"]:
        raise DescriptorError("descriptor has no key")
    base = descriptor.get("baseUrl")
    if not isinstance(base, str) or urlsplit(base).scheme not in ("http", "https"):
        raise DescriptorError("descriptor baseUrl must be an http(s) URL")
    if (descriptor.get("authentication") or {}).get("type", "").lower() != "jwt":
        raise DescriptorError("descriptor authentication type must be jwt")
    lifecycle = descriptor.get("lifecycle") or {}
    if not isinstance(lifecycle, dict) or not isinstance(lifecycle.get("installed"), str):
        raise DescriptorError("descriptor has no lifecycle.installed URL")
    if not (descriptor.get("apiMigrations") or {}).get("signed-install"):
        raise DescriptorError(
            "descriptor must opt in to apiMigrations.signed-install (the sandbox only signs installs)"
        )


def lifecycle_payload(event: str, installation: Installation, tenant: Tenant) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "key": installation.app_key,
        "clientKey": installation.client_key,
        "sharedSecret": installation.shared_secret,
        "serverVersion": SERVER_VERSION,
        "pluginsVersion": PLUGINS_VERSION,
        "baseUrl": tenant.base_url,
        "displayUrl": tenant.base_url,
        "productType": "confluence",
        "description": f"Atlassian Confluence at {tenant.base_url} ",
        "eventType": event,
        "oauthClientId": installation.oauth_client_id,
        "cloudId": installation.cloud_id,
        "installationId": f"ari:cloud:ecosystem::installation/{installation.installation_id}",
    }
    if event == "uninstalled":
        del payload["sharedSecret"]  # signed install: the uninstall carries no secret
    return payload


def lifecycle_token(url: str, installation: Installation, key: InstallSigningKey, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": installation.client_key,
        "aud": [installation.app_base_url],
        "qsh": qsh_of(canonical_request_for_url("POST", url, installation.app_base_url)),
        "iat": issued,
        "exp": issued + 180,
    }
    return key.sign(claims)


def send_lifecycle(
    event: str, installation: Installation, tenant: Tenant, key: InstallSigningKey
) -> LifecycleAnswer | None:
    """POST one lifecycle event; None when the descriptor doesn't ask for it."""
    path = ((installation.descriptor or {}).get("lifecycle") or {}).get(event)
    if not isinstance(path, str) or not path:
        return None
    url = installation.app_base_url + (path if path.startswith("/") else "/" + path)
    headers = {
        "Authorization": f"JWT {lifecycle_token(url, installation, key)}",
        "Content-Type": "application/json",
        "User-Agent": "Atlassian Connect (sandbox)",
    }
    try:
        response = requests.post(
            url,
            json=lifecycle_payload(event, installation, tenant),
            headers=headers,
            timeout=LIFECYCLE_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return LifecycleAnswer(event, None, "", now_iso(), error=f"{type(exc).__name__}: the app is unreachable")
    return LifecycleAnswer(event, response.status_code, response.text[:500], now_iso())


def succeeded(answer: LifecycleAnswer | None) -> bool:
    return answer is None or (answer.status is not None and 200 <= answer.status < 300)
