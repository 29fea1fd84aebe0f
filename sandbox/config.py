"""How the sandbox is set up: its public URL, the app it installs, its mail server, where it keeps state."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PUBLIC_URL = "http://localhost:8100"
DEFAULT_DESCRIPTOR_URL = "http://localhost:8000/atlassian-connect.json"
DEFAULT_SMTP_PORT = 2525
# The providers' side: an https listener (Entra ID and Google token endpoints; MSAL takes https only) and a
# submission server with STARTTLS that takes AUTH XOAUTH2.
DEFAULT_TLS_PORT = 8143
DEFAULT_PROVIDER_SMTP_PORT = 2587
# The Forge app the sandbox plays the platform for: its id (the app's FORGE_APP_ID) and manifest.
DEFAULT_FORGE_APP_ID = "7e6b2c41-3f0a-4d5e-8b9c-1a2b3c4d5e6f"
FORGE_MANIFEST = REPO_ROOT / "forge" / "manifest.yml"
CLI_STATE_FILE = REPO_ROOT / "instance" / "sandbox-state.json"
CLI_TLS_DIR = REPO_ROOT / "instance" / "sandbox-tls"


def default_fixtures_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The sandbox's own fixture pages (`sandbox/fixtures`), unless `PAGEMAIL_FIXTURES` points elsewhere."""
    env = os.environ if environ is None else environ
    override = env.get("PAGEMAIL_FIXTURES", "").strip()
    if override:
        return Path(override)
    return REPO_ROOT / "sandbox" / "fixtures"


def refuse_production(app_env: str | None) -> None:
    """The sandbox hands out tokens and plays Atlassian: it must never run next to real tenants."""
    if (app_env or "").strip().lower() == "production":
        raise RuntimeError("APP_ENV=production: the sandbox (a fake Confluence) refuses to start in production")


@dataclass(frozen=True)
class SandboxConfig:
    public_url: str = DEFAULT_PUBLIC_URL
    app_descriptor_url: str = DEFAULT_DESCRIPTOR_URL
    smtp_host: str = "127.0.0.1"
    smtp_port: int = DEFAULT_SMTP_PORT
    state_file: Path | None = None
    start_smtp: bool = False
    app_env: str = "development"
    fixtures_dir: Path = field(default_factory=default_fixtures_dir)
    forge_app_id: str = DEFAULT_FORGE_APP_ID
    # The Forge remote's base URL (the app's BASE_URL); empty: the origin of the app's descriptor URL.
    forge_remote_url: str = ""
    forge_manifest: Path = FORGE_MANIFEST
    # The https listener's port (0: not known yet / none) and where its certificate lives (None: a temporary folder).
    tls_port: int = 0
    tls_dir: Path | None = None
    # The providers' submission server (None: a free port when the catcher takes one, else the default port).
    provider_smtp_port: int | None = None

    def __post_init__(self) -> None:
        # The URL is used as an origin and a prefix everywhere; a trailing slash would double up.
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    @property
    def tenant_base_url(self) -> str:
        """The Confluence site's base URL, as apps see it (`baseUrl` in the install payload)."""
        return f"{self.public_url}/wiki"

    @property
    def oauth_server_url(self) -> str:
        return f"{self.public_url}/oauth"

    @property
    def tls_url(self) -> str:
        """The https origin of the providers' token endpoints (Entra's authority host, Google's token host)."""
        return f"https://localhost:{self.tls_port}"

    @property
    def provider_port(self) -> int:
        if self.provider_smtp_port is not None:
            return self.provider_smtp_port
        return 0 if self.smtp_port == 0 else DEFAULT_PROVIDER_SMTP_PORT

    @property
    def provider_key_file(self) -> Path | None:
        """Where the demo service account's private key is kept (command line only: tests get a fresh one)."""
        return self.tls_dir / "google-service-account.pem" if self.tls_dir and self.state_file else None

    @property
    def forge_remote(self) -> str:
        if self.forge_remote_url:
            return self.forge_remote_url.rstrip("/")
        return self.app_descriptor_url.rsplit("/atlassian-connect.json", 1)[0].rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """The command-line configuration: `SANDBOX_URL`, `SANDBOX_APP_DESCRIPTOR_URL`, `SANDBOX_SMTP_PORT`,
        `APP_ENV`, `SANDBOX_FORGE_APP_ID`, `SANDBOX_FORGE_REMOTE_URL`, `SANDBOX_TLS_PORT`,
        `SANDBOX_PROVIDER_SMTP_PORT`; the install is kept in `instance/sandbox-state.json`, the https certificate in
        `instance/sandbox-tls/` and the mail catcher runs."""
        env = os.environ if environ is None else environ
        port_text = env.get("SANDBOX_SMTP_PORT", "").strip() or str(DEFAULT_SMTP_PORT)
        try:
            smtp_port = int(port_text)
        except ValueError as exc:
            raise ValueError(f"SANDBOX_SMTP_PORT must be a port number, got {port_text!r}") from exc
        ports = {}
        defaults = {"SANDBOX_TLS_PORT": DEFAULT_TLS_PORT, "SANDBOX_PROVIDER_SMTP_PORT": DEFAULT_PROVIDER_SMTP_PORT}
        for name, default in defaults.items():
            text = env.get(name, "").strip() or str(default)
            if not text.isdigit():
                raise ValueError(f"{name} must be a port number, got {text!r}")
            ports[name] = int(text)
        return cls(
            tls_port=ports["SANDBOX_TLS_PORT"],
            provider_smtp_port=ports["SANDBOX_PROVIDER_SMTP_PORT"],
            tls_dir=CLI_TLS_DIR,
            public_url=env.get("SANDBOX_URL", "").strip() or DEFAULT_PUBLIC_URL,
            app_descriptor_url=env.get("SANDBOX_APP_DESCRIPTOR_URL", "").strip() or DEFAULT_DESCRIPTOR_URL,
            smtp_port=smtp_port,
            state_file=CLI_STATE_FILE,
            start_smtp=True,
            app_env=env.get("APP_ENV", "").strip() or "development",
            fixtures_dir=default_fixtures_dir(env),
            forge_app_id=env.get("SANDBOX_FORGE_APP_ID", "").strip() or DEFAULT_FORGE_APP_ID,
            forge_remote_url=env.get("SANDBOX_FORGE_REMOTE_URL", "").strip(),
        )
