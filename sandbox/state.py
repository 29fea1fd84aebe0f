"""Everything one running sandbox knows, in memory: people, content, the app's installation, issued
tokens, injected faults and the request log. One instance per Flask app (`app.extensions["sandbox"]`).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace
from typing import Any

from flask import current_app

from sandbox.bearer_tokens import TokenStore
from sandbox.catalog import load_catalog
from sandbox.config import SandboxConfig
from sandbox.content import Catalog
from sandbox.directory import APP_ACCOUNT_ID, Directory, build_directory
from sandbox.faults import FaultPlan
from sandbox.forge_platform import ForgePlatform
from sandbox.installation import Installation, InstallationStore, LifecycleAnswer
from sandbox.mail_providers import MailProviders
from sandbox.signing_key import InstallSigningKey
from sandbox.traffic import RequestLog


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.directory: Directory = build_directory()
        self.catalog: Catalog = load_catalog(config.fixtures_dir)
        self.signing_key = InstallSigningKey()
        self.media_secret = secrets.token_bytes(32)
        self.store = InstallationStore(config.state_file)
        self.tokens: TokenStore = TokenStore()
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self.catcher: Any = None
        # Microsoft 365 and Google Workspace: token endpoints, their tokens and the submission server's catcher.
        self.providers = MailProviders(key_file=config.provider_key_file)
        self.provider_catcher: Any = None
        self.tls_files: tuple[str, str] | None = None
        self.lock = threading.RLock()
        # Lifecycle calls go over the network; one at a time, without blocking readers of the state.
        self.lifecycle_lock = threading.Lock()
        self._installation = self.store.load()
        if not self._installation.descriptor_url:
            self._installation.descriptor_url = config.app_descriptor_url
        if self._installation.installed:
            self.directory.rename_app(self._installation.app_name)
        # The Forge platform for the same site (same cloudId): a separate installation of a separate app.
        self.forge = ForgePlatform(
            public_url=config.public_url,
            cloud_id=self._installation.cloud_id,
            app_id=config.forge_app_id,
            remote_url=config.forge_remote,
            manifest_path=config.forge_manifest,
            app_account=APP_ACCOUNT_ID,
        )

    @property
    def installation(self) -> Installation:
        """A snapshot: callers never see a half-updated record."""
        with self.lock:
            return replace(self._installation)

    def save_installation(self, installation: Installation) -> None:
        with self.lock:
            self._installation = replace(installation)
            self.store.save(self._installation)
            if installation.installed:
                self.directory.rename_app(installation.app_name)
        # Access tokens already issued stay valid until they expire when the app is re-installed (a new
        # shared secret doesn't recall them); they die with the installation.
        if not installation.installed:
            self.tokens.revoke_all()

    def record_answer(self, answer: LifecycleAnswer | None) -> None:
        if answer is None:
            return
        with self.lock:
            self._installation.last_answer = answer
            self.store.save(self._installation)


def current_state() -> SandboxState:
    return current_app.extensions["sandbox"]
