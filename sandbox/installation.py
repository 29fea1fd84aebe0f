"""The site's record of the app: who the site is to the app (clientKey, oauthClientId, cloudId — stable),
what was installed (descriptor, shared secret — fresh on every install), and whether it is enabled.

With a state file (`make run`) the record survives restarts, so the app's stored tenant stays valid.
The file holds the shared secret: it is written owner-only and only for local development.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

_IMPLIED_SCOPES = {
    "ADMIN": {"SPACE_ADMIN", "DELETE", "WRITE", "READ"},
    "SPACE_ADMIN": {"DELETE", "WRITE", "READ"},
    "DELETE": {"WRITE", "READ"},
    "WRITE": {"READ"},
}


@dataclass
class LifecycleAnswer:
    """What the app answered to the last lifecycle call (shown on Manage apps)."""

    event: str
    status: int | None
    body: str
    at: str
    error: str | None = None


@dataclass
class Installation:
    client_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    oauth_client_id: str = field(default_factory=lambda: uuid.uuid4().hex[:32])
    cloud_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    installation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    descriptor_url: str = ""
    descriptor: dict[str, Any] | None = None
    shared_secret: str = ""
    installed: bool = False
    enabled: bool = False
    installed_at: str = ""
    last_answer: LifecycleAnswer | None = None
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def app_key(self) -> str:
        return str((self.descriptor or {}).get("key", ""))

    @property
    def app_name(self) -> str:
        return str((self.descriptor or {}).get("name") or self.app_key or "app")

    @property
    def app_base_url(self) -> str:
        return str((self.descriptor or {}).get("baseUrl", "")).rstrip("/")

    @property
    def scopes(self) -> frozenset[str]:
        """The descriptor's scopes, upper-cased the way Atlassian compares them."""
        return frozenset(str(scope).upper() for scope in (self.descriptor or {}).get("scopes", []))

    @property
    def effective_scopes(self) -> frozenset[str]:
        """Declared scopes plus the ones they imply (ADMIN ⊃ SPACE_ADMIN ⊃ DELETE ⊃ WRITE ⊃ READ)."""
        granted = set(self.scopes)
        for scope, implied in _IMPLIED_SCOPES.items():
            if scope in granted:
                granted |= implied
        return frozenset(granted)

    def translate(self, key: str | None, locale: str, fallback: str) -> str:
        """A module text in the user's language (`de_DE` → the descriptor's `de-DE` file), else `fallback`."""
        if not key:
            return fallback
        return self.translations.get(locale.replace("_", "-"), {}).get(key) or fallback

    @property
    def active(self) -> bool:
        return self.installed and self.enabled and bool(self.shared_secret)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Installation:
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        answer = values.get("last_answer")
        values["last_answer"] = LifecycleAnswer(**answer) if isinstance(answer, dict) else None
        return cls(**values)


class InstallationStore:
    """Loads and saves the record as JSON; without a path it only lives in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def load(self) -> Installation:
        if self.path is None or not self.path.exists():
            return Installation()
        try:
            return Installation.from_json(json.loads(self.path.read_text("utf-8")))
        except (OSError, ValueError, TypeError):
            # A damaged state file must not stop `make run`: start as a fresh site.
            return Installation()

    def save(self, installation: Installation) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(installation.to_json(), handle, indent=2)
        os.replace(temporary, self.path)
