"""Mail-provider settings outside the live stack: the operator's configuration and the German texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, check_production, load_config
from mail.oauth.errors import FAILURES
from views.messages import GERMAN, GERMAN_HINTS, german_field_message, german_message

PRODUCTION = {
    "APP_ENV": "production",
    "BASE_URL": "https://pagemail.example.com",
    "SECRETS_KMS_KEY_ID": "alias/pagemail",
    "DATABASE_URL": "postgresql+psycopg://pagemail@db/pagemail",
}


def test_the_defaults_are_the_providers_own_hosts(tmp_path: Path) -> None:
    config = load_config({}, tmp_path)
    assert config["MICROSOFT_AUTHORITY_HOST"] == "https://login.microsoftonline.com"
    assert config["MICROSOFT_SMTP_HOST"] == "smtp.office365.com:587"
    assert config["GOOGLE_SMTP_HOST"] == "smtp.gmail.com:587"
    check_production(load_config(PRODUCTION, tmp_path))


def test_the_authority_must_be_https(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MICROSOFT_AUTHORITY_HOST"):
        load_config({"MICROSOFT_AUTHORITY_HOST": "http://localhost:8143"}, tmp_path)


@pytest.mark.parametrize("name", ["MICROSOFT_SMTP_HOST", "GOOGLE_SMTP_HOST"])
def test_production_refuses_a_local_submission_server(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        check_production(load_config({**PRODUCTION, name: "localhost:2587"}, tmp_path))


def test_production_refuses_the_sandbox_authority(tmp_path: Path) -> None:
    config = load_config({**PRODUCTION, "MICROSOFT_AUTHORITY_HOST": "https://localhost:8143"}, tmp_path)
    config["MICROSOFT_AUTHORITY_HOST"] = "http://localhost:8143"  # as if set after loading
    with pytest.raises(ConfigError, match="MICROSOFT_AUTHORITY_HOST"):
        check_production(config)


@pytest.mark.parametrize("code", sorted(FAILURES))
def test_every_provider_failure_speaks_german(code: str) -> None:
    english, hint = FAILURES[code]
    assert code in GERMAN and german_message(code, english, {}) != english
    assert GERMAN_HINTS[code] and GERMAN_HINTS[code] != hint


@pytest.mark.parametrize(
    "english",
    [
        "is required for Microsoft 365",
        "is required for Google Workspace",
        "must be entered again for another tenant id or client id",
        "must be the directory (tenant) ID, a GUID, or a verified domain name of the tenant",
        "must be the application (client) ID, a GUID",
        "must be text of at most 1024 characters, without spaces around it",
    ],
)
def test_provider_field_messages_speak_german(english: str) -> None:
    assert german_field_message(english) != english
