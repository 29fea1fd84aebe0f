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


@pytest.mark.parametrize(
    "authority",
    ["https://localhost:8143", "https://127.0.0.1:8143", "https://[::1]:8143", "https://10.0.0.7", "https://0.0.0.0"],
)
def test_production_refuses_the_sandbox_authority(tmp_path: Path, authority: str) -> None:
    config = load_config({**PRODUCTION, "MICROSOFT_AUTHORITY_HOST": authority}, tmp_path)
    with pytest.raises(ConfigError, match="MICROSOFT_AUTHORITY_HOST"):
        check_production(config)


def test_production_refuses_an_authority_changed_to_http_after_loading(tmp_path: Path) -> None:
    config = load_config(PRODUCTION, tmp_path)
    config["MICROSOFT_AUTHORITY_HOST"] = "http://login.microsoftonline.com"
    with pytest.raises(ConfigError, match="MICROSOFT_AUTHORITY_HOST"):
        check_production(config)


@pytest.mark.parametrize("name", ["MICROSOFT_SMTP_HOST", "GOOGLE_SMTP_HOST"])
@pytest.mark.parametrize(
    "value", ["[::1]:587", "0.0.0.0:587", "192.168.1.20:587", "10.1.2.3", "169.254.169.254:25", "mail.internal:587"]
)
def test_production_refuses_a_private_submission_server(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        check_production(load_config({**PRODUCTION, name: value}, tmp_path))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("smtp.office365.com:587", ("smtp.office365.com", 587)),
        ("smtp.gmail.com", ("smtp.gmail.com", 587)),
        ("[2001:db8::25]:2525", ("2001:db8::25", 2525)),
        ("localhost:2587", ("localhost", 2587)),
    ],
)
def test_submission_servers_are_parsed_once_at_boot(tmp_path: Path, value: str, expected: tuple[str, int]) -> None:
    from config import host_port

    load_config({"MICROSOFT_SMTP_HOST": value}, tmp_path)
    assert host_port(value) == expected


@pytest.mark.parametrize(
    "value", ["smtp.office365.com:smtp", "::1", "::1:587", "smtp.example.com:70000", "user@smtp.example.com", "a b"]
)
def test_a_bad_submission_server_fails_at_boot(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="GOOGLE_SMTP_HOST must be host:port"):
        load_config({"GOOGLE_SMTP_HOST": value}, tmp_path)


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
        "must be entered again for another mailbox",
        "can't remove the saved credential while it is the mail connection in use",
        "can't remove the saved credential and enter a new one at once",
    ],
)
def test_provider_field_messages_speak_german(english: str) -> None:
    assert german_field_message(english) != english
