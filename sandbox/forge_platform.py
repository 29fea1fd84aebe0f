"""The Forge platform as a Forge Remote app sees it: signing keys (JWKS), Forge Invocation Tokens, the app system and
user tokens, the installation and its lifecycle events.

What the sandbox knows of the Forge app comes from its manifest (`forge/manifest.yml`, read like `forge deploy`
reads it, `${VARS}` filled in): the remote, the lifecycle trigger's endpoint route, the endpoints' token flags and
the scopes. Invocation tokens are RS256 JWTs, `iss` = `forge/invocation-token`, `aud` = the app's ARI, `nbf`/`exp`
(5 minutes), `app` (`id`, `installationId`, `apiBaseUrl`, `environment`, `module`), `context` (`cloudId`,
`moduleKey`, `siteUrl`) and, for a user's call, `principal`. The OAuth tokens are opaque, bound to the installation,
the user (or the app's bot account) and the manifest's scopes; they die with the installation.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.bearer_tokens import GrantStore

ISSUER = "forge/invocation-token"
APP_ARI_PREFIX = "ari:cloud:ecosystem::app/"
FIT_LIFETIME = 300
OAUTH_TOKEN_LIFETIME = 900
LIFECYCLE_TIMEOUT = 5.0  # Forge gives a remote 5 s for an event
INSTALLED = "avi:forge:installed:app"
UPGRADED = "avi:forge:upgraded:app"
UNINSTALLED = "avi:forge:uninstalled:app"
JWKS_PATH = "/forge-cdn/.well-known/jwks.json"
# Marks a REST call that came through the API gateway (`/ex/confluence/{cloudId}/...`): Forge tokens only.
FORGE_CALL = "sandbox.forge"
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ForgeError(RuntimeError):
    """The manifest or an installation step is not usable; the message says why."""


@dataclass
class SigningKey:
    kid: str = field(default_factory=lambda: f"forge-sandbox/{uuid.uuid4()}")
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


class ForgeKeys:
    """The published key set. `rotate()` publishes a new key and signs with it; the old one stays published."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = SigningKey()
        self._published: list[SigningKey] = [self.current]

    def rotate(self, *, keep_old: bool = True) -> SigningKey:
        with self._lock:
            fresh = SigningKey()
            self._published = [*self._published, fresh] if keep_old else [fresh]
            self.current = fresh
            return fresh

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.jwk() for key in self._published]}

    def sign(self, claims: dict[str, Any], key: SigningKey | None = None) -> str:
        key = key or self.current
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


@dataclass(frozen=True)
class ForgeGrant:
    account_id: str
    is_app: bool
    scopes: frozenset[str]
    installation_id: str
    expires_at: float


class ForgeTokens(GrantStore[ForgeGrant]):
    """The `x-forge-oauth-user` / `x-forge-oauth-system` tokens handed out with invocations."""

    def issue(self, account_id: str, *, is_app: bool, scopes: frozenset[str], installation_id: str) -> str:
        return self._hand_out(
            ForgeGrant(account_id, is_app, scopes, installation_id, time.time() + OAUTH_TOKEN_LIFETIME)
        )


@dataclass(frozen=True)
class Manifest:
    """The parts of the Forge manifest the platform acts on."""

    app_id: str
    remote_url: str
    lifecycle_path: str | None
    lifecycle_events: tuple[str, ...]
    scopes: frozenset[str]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def read_manifest(path: Path, variables: dict[str, str]) -> Manifest:
    """Parse the manifest, fill in `${VARS}` (from `variables`, else the manifest's defaults) like `forge deploy`."""
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ForgeError(f"the Forge manifest can't be read: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise ForgeError("the Forge manifest is not a YAML mapping")
    defaults = {
        str(item.get("key")): str(item.get("default"))
        for item in (document.get("environment") or {}).get("variables") or []
        if isinstance(item, dict) and "default" in item
    }
    values = {**defaults, **variables}

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return ENV_VAR.sub(lambda m: values.get(m.group(1), m.group(0)), value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    manifest = fill(document)
    app_ari = str((manifest.get("app") or {}).get("id", ""))
    modules = manifest.get("modules") or {}
    remotes = {str(r.get("key")): r for r in manifest.get("remotes") or [] if isinstance(r, dict)}
    endpoints = {str(e.get("key")): e for e in modules.get("endpoint") or [] if isinstance(e, dict)}
    lifecycle_path, events, remote_url = None, (), ""
    for trigger in modules.get("trigger") or []:
        endpoint = endpoints.get(str(trigger.get("endpoint")))
        if endpoint and any(str(e).startswith("avi:forge:") for e in trigger.get("events") or []):
            lifecycle_path = str((endpoint.get("route") or {}).get("path") or "/")
            events = tuple(str(e) for e in trigger.get("events") or [])
            remote_url = str((remotes.get(str(endpoint.get("remote"))) or {}).get("baseUrl", ""))
    if not remote_url and remotes:
        remote_url = str(next(iter(remotes.values())).get("baseUrl", ""))
    scopes = frozenset(str(s) for s in (manifest.get("permissions") or {}).get("scopes") or [])
    return Manifest(
        app_id=app_ari.removeprefix(APP_ARI_PREFIX),
        remote_url=remote_url.rstrip("/"),
        lifecycle_path=lifecycle_path,
        lifecycle_events=events,
        scopes=scopes,
        raw=manifest,
    )


def connect_style_scopes(oauth_scopes: frozenset[str]) -> frozenset[str]:
    """What the REST routes check (they were written for Connect's scopes), from the manifest's OAuth scopes."""
    granted: set[str] = set()
    if any(scope.startswith(("read:", "readonly:")) and "confluence" in scope for scope in oauth_scopes):
        granted.add("READ")
    if "read:email-address:confluence" in oauth_scopes:
        granted.add("ACCESS_EMAIL_ADDRESSES")
    return frozenset(granted)


@dataclass
class ForgeInstallation:
    installed: bool = False
    installation_id: str = ""
    environment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    manifest: Manifest | None = None
    last_answer: dict[str, Any] | None = None


@dataclass(frozen=True)
class Invocation:
    """What Forge sends with one remote call: the FIT and, as the manifest asks, the two OAuth tokens."""

    token: str
    user_token: str
    system_token: str
    api_base_url: str

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "x-forge-oauth-user": self.user_token,
            "x-forge-oauth-system": self.system_token,
        }


class ForgePlatform:
    def __init__(
        self, *, public_url: str, cloud_id: str, app_id: str, remote_url: str, manifest_path: Path, app_account: str
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.cloud_id = cloud_id
        self.app_id = app_id
        self.remote_url = remote_url.rstrip("/")
        self.manifest_path = manifest_path
        self.app_account = app_account
        self.keys = ForgeKeys()
        self.tokens = ForgeTokens()
        self.installation = ForgeInstallation()
        self.lock = threading.Lock()

    # -- facts ----------------------------------------------------------------------------------------------------
    @property
    def app_ari(self) -> str:
        return APP_ARI_PREFIX + self.app_id

    @property
    def api_base_url(self) -> str:
        """Where the app reaches this site's REST API (Atlassian's API gateway: api.atlassian.com/ex/confluence/…)."""
        return f"{self.public_url}/ex/confluence/{self.cloud_id}"

    @property
    def installation_ari(self) -> str:
        return f"ari:cloud:ecosystem::installation/{self.installation.installation_id}"

    @property
    def scopes(self) -> frozenset[str]:
        manifest = self.installation.manifest
        return connect_style_scopes(manifest.scopes) if manifest else frozenset()

    # -- tokens ---------------------------------------------------------------------------------------------------
    def claims(self, account_id: str | None, module_key: str = "", extension: dict[str, Any] | None = None) -> dict:
        """The claims of a FIT for this installation (tests change them to make bad tokens)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": self.app_ari,
            "iat": now,
            "nbf": now,
            "exp": now + FIT_LIFETIME,
            "jti": str(uuid.uuid4()),
            "app": {
                "id": self.app_ari,
                "installationId": self.installation_ari,
                "apiBaseUrl": self.api_base_url,
                "environment": {"type": "DEVELOPMENT", "id": self.installation.environment_id},
                "module": {"type": "xen:macro" if module_key else "core:endpoint", "key": module_key or "lifecycle"},
            },
            "context": {
                "cloudId": self.cloud_id,
                "moduleKey": module_key,
                "siteUrl": self.public_url,
                **({"extension": extension} if extension else {}),
            },
        }
        if account_id:
            claims["principal"] = account_id
        return claims

    def invocation(
        self, account_id: str | None, module_key: str = "", extension: dict[str, Any] | None = None
    ) -> Invocation:
        """A FIT and the tokens for a call from the Custom UI (or, without a user, from a trigger)."""
        if not self.installation.installed:
            raise ForgeError("the Forge app is not installed")
        token = self.keys.sign(self.claims(account_id, module_key, extension))
        installation = self.installation.installation_id
        system = self.tokens.issue(self.app_account, is_app=True, scopes=self.scopes, installation_id=installation)
        user = (
            self.tokens.issue(account_id, is_app=False, scopes=self.scopes, installation_id=installation)
            if account_id
            else ""
        )
        return Invocation(token, user, system, self.api_base_url)

    def caller(self, token: str) -> ForgeGrant | None:
        """The grant of an OAuth token sent to the API gateway, while its installation is the current one."""
        grant = self.tokens.lookup(token)
        if grant is None or not self.installation.installed:
            return None
        return grant if grant.installation_id == self.installation.installation_id else None

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def install(self) -> dict[str, Any]:
        with self.lock:
            manifest = read_manifest(
                self.manifest_path, {"PAGEMAIL_REMOTE_URL": self.remote_url, "FORGE_APP_ID": self.app_id}
            )
            if manifest.app_id != self.app_id:
                raise ForgeError("the manifest's app.id is not the sandbox's Forge app id")
            upgrade = self.installation.installed
            if not upgrade:
                self.installation.installation_id = str(uuid.uuid4())
            self.installation.manifest = manifest
            self.installation.installed = True
            answer = self._send(UPGRADED if upgrade else INSTALLED)
            return {"installed": True, "event": UPGRADED if upgrade else INSTALLED, "answer": answer, **self.facts()}

    def uninstall(self) -> dict[str, Any]:
        with self.lock:
            if not self.installation.installed:
                return {"installed": False, "error": "the Forge app is not installed"}
            answer = self._send(UNINSTALLED)
            # Gone whatever the app answered, as on a real site; its tokens die with it.
            self.installation.installed = False
            self.tokens.revoke_all()
            return {"installed": False, "event": UNINSTALLED, "answer": answer, **self.facts()}

    def facts(self) -> dict[str, Any]:
        return {
            "appId": self.app_id,
            "installationId": self.installation_ari if self.installation.installed else None,
            "cloudId": self.cloud_id,
            "apiBaseUrl": self.api_base_url,
            "remoteUrl": self.remote_url,
            "jwksUrl": f"{self.public_url}{JWKS_PATH}",
        }

    def _send(self, event: str) -> dict[str, Any]:
        """POST one lifecycle event to the remote's trigger endpoint, as Forge does (one attempt here)."""
        manifest = self.installation.manifest
        if manifest is None or manifest.lifecycle_path is None or event not in manifest.lifecycle_events:
            return {"event": event, "status": None, "error": "the manifest routes no such event to the remote"}
        url = manifest.remote_url + manifest.lifecycle_path
        invocation = Invocation(self.keys.sign(self.claims(None)), "", "", self.api_base_url)
        system = self.tokens.issue(
            self.app_account, is_app=True, scopes=self.scopes, installation_id=self.installation.installation_id
        )
        body = {
            "id": self.installation_ari,
            "eventType": event,
            "context": f"ari:cloud:confluence::site/{self.cloud_id}",
            "installerAccountId": None,
            "app": {"id": self.app_id, "version": "1.0.0", "name": "pagemail"},
            "environment": {"id": self.installation.environment_id},
        }
        headers = {"Authorization": f"Bearer {invocation.token}", "x-forge-oauth-system": system}
        try:
            response = requests.post(url, json=body, headers=headers, timeout=LIFECYCLE_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            answer = {"event": event, "status": None, "error": f"{type(exc).__name__}: the remote is unreachable"}
        else:
            answer = {"event": event, "status": response.status_code, "body": response.text[:300]}
        self.installation.last_answer = answer
        return answer
