"""German error messages: the catalog covers every code the code base can answer, and the live API speaks German
to German pages and English to everyone else."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import LiveStack
from views.messages import GERMAN, german_details, german_field_message, german_message, wants_german

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "errors.py", *(p for d in ("connect", "mail", "views", "models") for p in (ROOT / d).rglob("*.py"))]
CODE_PATTERNS = (
    re.compile(r"\bcode\s*=\s*\"([a-z_]+)\""),  # code="..." and class defaults code = "..."
    re.compile(r"Decision\(False,\s*\"([a-z_]+)\""),  # permission decisions
    re.compile(r"error_response\(\d+,\s*\"([a-z_]+)\""),  # answered directly in views/errors.py
)
# Permission rules list their code as a lone snake_case string in a tuple (mail/permissions.py).
PERMISSION_CODE = re.compile(r"^\s+\"([a-z]+(?:_[a-z]+)+)\",\s*$", re.MULTILINE)

# Codes answered in English on purpose: their message carries a value that their details don't hold.
ENGLISH_ONLY = {
    "bad_request",
    "forbidden",
    "upstream_unavailable",
    "invalid_email",
    "domain_not_allowed",
    "smtp_failed",
    "smtp_unreachable",
    "smtp_refused",
    "confluence_bad_request",
    "install_keys_unavailable",
}

SITE_ADMIN = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"
REGULAR = "5f8a3c2e1b7d4e6f9a0b1c2d"
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"  # can't read the restricted page
RESTRICTED_PAGE = "1514897411"
GERMAN_PAGE = {"X-Pagemail-Locale": "de-DE"}


def source_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)


def codes_in_source() -> set[str]:
    text = source_text()
    codes = {code for pattern in CODE_PATTERNS for code in pattern.findall(text)}
    codes |= set(PERMISSION_CODE.findall((ROOT / "mail" / "permissions.py").read_text(encoding="utf-8")))
    return codes


def test_the_scan_finds_the_known_codes() -> None:
    codes = codes_in_source()
    assert {"not_site_admin", "page_not_found", "smtp_auth", "not_in_space_groups", "internal_error"} <= codes
    assert len(codes) >= 45


def test_every_code_in_the_source_is_in_the_catalog() -> None:
    missing = sorted(codes_in_source() - set(GERMAN))
    assert missing == []


def test_only_the_listed_codes_stay_english() -> None:
    assert {code for code, entry in GERMAN.items() if entry is None} == ENGLISH_ONLY


def test_every_translated_english_message_still_exists_in_the_source() -> None:
    # A reworded English message would otherwise silently lose its German text.
    text = source_text()
    stale = [
        (code, english)
        for code, entry in GERMAN.items()
        if isinstance(entry, Mapping)
        for english in entry
        if english not in text
    ]
    assert stale == []


def test_templates_keep_the_dynamic_values() -> None:
    details = {"field": "attachments", "total": 3 * 1048576, "limit": 1048576}
    sizes = german_message("attachments_too_large", "The attachments add up to 3.0 MB; the limit is 1.0 MB", details)
    assert "3,0 MB" in sizes and "1,0 MB" in sizes
    plain = german_message("attachments_too_large", "The attachments are larger than allowed", {"field": "x"})
    assert plain == "Die Anhänge sind größer als erlaubt."
    assert "'subject'" in german_message("header_injection", "...", {"field": "subject"})
    assert "552" in german_message("smtp_too_large", "The mail is too large", {"stage": "DATA", "smtpCode": 552})


def test_a_value_the_details_lack_keeps_the_english_message() -> None:
    refused = "The mail server refused the mail: 550 5.7.1 relaying denied"
    assert german_message("smtp_refused", refused, {"stage": "DATA", "smtpCode": 550}) == refused
    dynamic = "Confluence failed to answer (503)"
    assert german_message("confluence_unavailable", dynamic, {}) == dynamic
    assert german_message("header_injection", "'to' must be a single line of text", {}) == (
        "'to' must be a single line of text"
    )


def test_field_messages_in_german_keep_their_values() -> None:
    assert german_field_message("must be at most 200 characters") == "darf höchstens 200 Zeichen lang sein"
    assert german_field_message("must be a whole number from 1 to 65535") == (
        "muss eine ganze Zahl von 1 bis 65535 sein"
    )
    css = german_field_message("@import is not allowed; Custom CSS may be at most 20 KB")
    assert css == "@import ist nicht erlaubt; Eigenes CSS darf höchstens 20 KB groß sein"
    assert german_field_message("something new") == "something new"
    details = german_details({"fields": {"smtp.port": "must be true or false"}, "other": 1})
    assert details == {"fields": {"smtp.port": "muss true oder false sein"}, "other": 1}


@pytest.mark.parametrize(
    ("locale", "german"),
    [("de-DE", True), ("de", True), ("DE_at", True), ("en-US", False), ("dev", False), (None, False)],
)
def test_which_locales_get_german(locale: str | None, german: bool) -> None:
    assert wants_german(locale) is german


def test_german_page_gets_german_not_site_admin(stack: LiveStack) -> None:
    response = stack.api("GET", "/api/admin/settings", REGULAR, headers=GERMAN_PAGE)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "not_site_admin" and error["details"] == {}
    assert error["message"] == "Nur Confluence-Administratoren können die pagemail-Einstellungen ändern."


def test_german_page_gets_german_page_not_found(stack: LiveStack) -> None:
    response = stack.api("POST", "/api/preview", EMMA, headers=GERMAN_PAGE, json={"contentId": RESTRICTED_PAGE})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "page_not_found"
    assert error["message"] == "Diese Seite gibt es nicht, oder Sie dürfen sie nicht sehen."


@pytest.mark.parametrize("headers", [{}, {"X-Pagemail-Locale": "en-US"}])
def test_english_stays_english(stack: LiveStack, headers: dict[str, str]) -> None:
    admin = stack.api("GET", "/api/admin/settings", REGULAR, headers=headers)
    assert admin.json()["error"]["message"] == "Only Confluence administrators can change pagemail settings"
    page = stack.api("POST", "/api/preview", EMMA, headers=headers, json={"contentId": RESTRICTED_PAGE})
    assert page.json()["error"] == {
        "code": "page_not_found",
        "message": "This page does not exist or you may not view it",
        "details": {},
    }


def test_german_field_messages_from_the_admin_api(stack: LiveStack) -> None:
    # Invalid settings are refused as a whole, so this request changes nothing on the shared stack.
    body = {"debugLoggingHours": 48, "mail": {"subjectPrefix": "x" * 61}}
    response = stack.api("PUT", "/api/admin/settings", SITE_ADMIN, headers=GERMAN_PAGE, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_settings"
    assert error["message"] == "Einige Einstellungen sind ungültig; nichts wurde gespeichert."
    assert error["details"]["fields"] == {
        "debugLoggingHours": "muss eine ganze Zahl von Stunden von 0 (aus) bis 24 sein",
        "mail.subjectPrefix": "darf höchstens 60 Zeichen lang sein",
    }
