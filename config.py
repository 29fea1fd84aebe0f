"""Configuration from the environment (DESIGN §6), with the production safety checks."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULTS: dict[str, str] = {
    "BASE_URL": "http://localhost:8000",
    "APP_KEY": "pagemail",
    "APP_ENV": "development",
    "CONNECT_INSTALL_KEYS_URL": "https://connect-install-keys.atlassian.com",
    "CONNECT_ALLOWED_HOSTS": "*.atlassian.net",
    "CONNECT_ALLOW_INSECURE_HOSTS": "",
    "CONFLUENCE_MEDIA_HOSTS": "api.media.atlassian.com,*.media.atlassian.com",
    "OAUTH_AUTH_SERVER_URL": "https://oauth-2-authorization-server.services.atlassian.com",
    "CONNECT_ALL_JS_URL": "https://connect-cdn.atl-paas.net/all.js",
    "SMTP_DEFAULT_HOST": "",
    "SMTP_DEFAULT_PORT": "",
    "SMTP_DEFAULT_SECURITY": "starttls",
    "SMTP_DEFAULT_USERNAME": "",
    "SMTP_DEFAULT_PASSWORD": "",
    "SMTP_DEFAULT_FROM": "",
    "SMTP_ALLOW_PRIVATE_HOSTS": "",
    "SECRETS_KMS_KEY_ID": "",
    "SECRETS_KEY_FILE": "",
    "BACKUP_S3_BUCKET": "",
    "BACKUP_DIR": "",
    "REDIS_URL": "",
    "DATABASE_URL": "",
    # The Forge door (DESIGN §11): off while FORGE_APP_ID is empty.
    "FORGE_APP_ID": "",
    "FORGE_JWKS_URL": "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json",
    "FORGE_API_HOSTS": "api.atlassian.com",
    # Mail providers (DESIGN §6/§7): where tokens come from and where mail is submitted with them.
    "MICROSOFT_AUTHORITY_HOST": "https://login.microsoftonline.com",
    "MICROSOFT_SMTP_HOST": "smtp.office365.com:587",
    "GOOGLE_SMTP_HOST": "smtp.gmail.com:587",
}

# Read when present (AWS SDK settings, optional extras); no defaults of their own.
PASSTHROUGH = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_KMS",
    "AWS_ENDPOINT_URL_S3",
    "SECRETS_PREVIOUS_KEY_FILES",
    "SECRETS_PREVIOUS_KMS_KEY_IDS",
    "SMTP_CA_FILE",
    "BACKUP_S3_PREFIX",
    # A private CA for token endpoints in local work (the sandbox); the system store otherwise.
    "REQUESTS_CA_BUNDLE",
)

FLAGS = ("CONNECT_ALLOW_INSECURE_HOSTS", "SMTP_ALLOW_PRIVATE_HOSTS")
# The Forge app's id as `forge register` writes it into the manifest (`ari:cloud:ecosystem::app/<id>`).
FORGE_APP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ConfigError(RuntimeError):
    """An unsafe or invalid setting; the message names the variable."""


HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?")
LOCAL_NAMES = {"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"}
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")
PROVIDER_SMTP_HOSTS = ("MICROSOFT_SMTP_HOST", "GOOGLE_SMTP_HOST")


def is_true(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def host_port(value: str, default_port: int = 587) -> tuple[str, int]:
    """`host[:port]` (an IPv6 address in brackets) → (host, port); ValueError for anything else."""
    text = value.strip()
    if not text or any(c in text for c in "/?#@ \\"):
        raise ValueError("must be host:port")
    parts = urlsplit(f"//{text}")
    port = parts.port  # ValueError for a port that is not a number from 0 to 65535
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if ":" in host or not HOST_NAME.fullmatch(host):
            raise ValueError("must be host:port (an IPv6 address in brackets)") from None
    if port == 0:
        raise ValueError("the port must be from 1 to 65535")
    return host, port or default_port


def is_local_host(host: str) -> bool:
    """Loopback, private, link-local, unspecified or metadata: a name or a literal address that is not a public
    service's (what a production setting must never point at)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if not name or name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global or address.is_multicast or address.is_unspecified


def load_config(env: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    """Build the Flask config from environment variables (and defaults)."""
    config: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        value = env.get(name, default)
        config[name] = is_true(value) if name in FLAGS else value.strip()
    for name in PASSTHROUGH:
        if env.get(name):
            config[name] = env[name]
    config["BASE_URL"] = config["BASE_URL"].rstrip("/")
    config["OAUTH_AUTH_SERVER_URL"] = config["OAUTH_AUTH_SERVER_URL"].rstrip("/")
    config["CONNECT_INSTALL_KEYS_URL"] = config["CONNECT_INSTALL_KEYS_URL"].rstrip("/")
    config["MICROSOFT_AUTHORITY_HOST"] = config["MICROSOFT_AUTHORITY_HOST"].rstrip("/")
    if not config["MICROSOFT_AUTHORITY_HOST"].startswith("https://"):
        # MSAL talks to https authorities only; a sandbox serves one with its own CA (REQUESTS_CA_BUNDLE).
        raise ConfigError("MICROSOFT_AUTHORITY_HOST must be an https URL such as https://login.microsoftonline.com")
    for name in PROVIDER_SMTP_HOSTS:
        try:
            host_port(config[name])
        except ValueError as exc:
            raise ConfigError(f"{name} must be host:port, such as smtp.office365.com:587 ({exc})") from None
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'pagemail.sqlite'}"
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if config["DATABASE_URL"].startswith("postgresql"):
        # pre-ping drops connections the server closed; sizes suit threaded workers (DESIGN §4, issue 5).
        # A hung or unreachable database must not hold requests for minutes: short connect, pool and statement
        # timeouts turn it into a quick 503 (views/errors.py).
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "pool_size": 10,
            "max_overflow": 10,
            "pool_timeout": 10,
            "connect_args": {"connect_timeout": 5, "options": "-c statement_timeout=15000 -c lock_timeout=5000"},
        }
    config["FORGE_APP_ID"] = config["FORGE_APP_ID"].lower().removeprefix("ari:cloud:ecosystem::app/")
    if config["FORGE_APP_ID"] and not FORGE_APP_ID.fullmatch(config["FORGE_APP_ID"]):
        raise ConfigError("FORGE_APP_ID must be the Forge app's id (a UUID), or empty to keep the Forge door closed")
    if not config["SECRETS_KEY_FILE"]:
        config["SECRETS_KEY_FILE"] = str(instance_path / "secrets.key")
    config["INSTANCE_PATH"] = str(instance_path)
    config["IS_PRODUCTION"] = config["APP_ENV"] == "production"
    # Bodies are small JSON; attachments never go through us upwards.
    config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    return config


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse to start in production with a setting that is only safe for local work."""
    if not config.get("IS_PRODUCTION"):
        return
    problems: list[str] = []
    if not str(config["BASE_URL"]).startswith("https://"):
        problems.append("BASE_URL must be https:// in production")
    if config["CONNECT_ALLOW_INSECURE_HOSTS"]:
        problems.append("CONNECT_ALLOW_INSECURE_HOSTS must be off in production")
    if config["SMTP_ALLOW_PRIVATE_HOSTS"]:
        problems.append("SMTP_ALLOW_PRIVATE_HOSTS must be off in production")
    if config["SMTP_DEFAULT_HOST"] and config["SMTP_DEFAULT_SECURITY"] not in ("starttls", "tls"):
        problems.append("SMTP_DEFAULT_SECURITY must be starttls or tls in production")
    if not config["SECRETS_KMS_KEY_ID"]:
        problems.append("SECRETS_KMS_KEY_ID must be set in production (KMS envelope encryption)")
    if str(config["DATABASE_URL"]).startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL in production, not SQLite")
    for name in ("CONNECT_INSTALL_KEYS_URL", "OAUTH_AUTH_SERVER_URL", "CONNECT_ALL_JS_URL"):
        if not str(config[name]).startswith("https://"):
            problems.append(f"{name} must be https:// in production (is the sandbox configured?)")
    allowed = str(config["CONNECT_ALLOWED_HOSTS"])
    if any(h.strip().split(":")[0] in {"localhost", "127.0.0.1", "*"} for h in allowed.split(",")):
        problems.append("CONNECT_ALLOWED_HOSTS must not allow localhost or * in production")
    if config["FORGE_APP_ID"]:
        if not str(config["FORGE_JWKS_URL"]).startswith("https://"):
            problems.append("FORGE_JWKS_URL must be https:// in production (is the sandbox configured?)")
        forge_hosts = str(config["FORGE_API_HOSTS"])
        if any(h.strip().split(":")[0] in {"localhost", "127.0.0.1", "*"} for h in forge_hosts.split(",")):
            problems.append("FORGE_API_HOSTS must not allow localhost or * in production")
    authority = urlsplit(str(config["MICROSOFT_AUTHORITY_HOST"]))
    if authority.scheme != "https" or is_local_host(authority.hostname or ""):
        problems.append(
            "MICROSOFT_AUTHORITY_HOST must be https:// on a public host in production (is the sandbox configured?)"
        )
    for name in PROVIDER_SMTP_HOSTS:
        try:
            local = is_local_host(host_port(str(config[name]))[0])
        except ValueError:
            local = True
        if local:
            problems.append(f"{name} must not be a loopback or private host in production (is the sandbox configured?)")
    media = str(config["CONFLUENCE_MEDIA_HOSTS"])
    if any(h.strip().split(":")[0] in {"localhost", "127.0.0.1", "*"} for h in media.split(",")):
        problems.append("CONFLUENCE_MEDIA_HOSTS must not allow localhost or * in production")
    if problems:
        raise ConfigError("Unsafe configuration for APP_ENV=production: " + "; ".join(problems))


def env_with_dotenv(environ: Mapping[str, str], root: Path) -> dict[str, str]:
    """The process environment, completed by a `.env` file in development (the environment wins)."""
    merged = dict(environ)
    if environ.get("APP_ENV", "development") != "production" and (root / ".env").is_file():
        from dotenv import dotenv_values

        for key, value in dotenv_values(root / ".env").items():
            if value is not None:
                merged.setdefault(key, value)
    return merged
