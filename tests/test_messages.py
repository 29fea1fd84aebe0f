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
    "smtp_failed",
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
    assert (
        german_message("header_injection", "...", {"field": "subject"}) == "Der Betreff darf nur eine Zeile Text sein."
    )
    assert "'title'" in german_message("header_injection", "...", {"field": "title"})
    assert "552" in german_message("smtp_too_large", "The mail is too large", {"stage": "DATA", "smtpCode": 552})


def test_a_value_the_details_lack_keeps_the_english_message() -> None:
    refused = "The mail server refused the mail: 550 5.7.1 relaying denied"
    assert german_message("smtp_refused", refused, {"stage": "DATA", "smtpCode": 550}) == refused
    with_reply = {"stage": "DATA", "smtpCode": 550, "reply": "5.7.1 relaying denied"}
    assert german_message("smtp_refused", refused, with_reply) == (
        "Der Mailserver hat die E-Mail abgelehnt: 550 5.7.1 relaying denied"
    )
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


# Every error the send dialog can meet, as its details come from the code: each has a German sentence that keeps
# the values and leaves no English library text behind.
DIALOG_ERRORS: dict[str, dict[str, object]] = {
    "no_recipients": {"field": "to"},
    "no_deliverable_recipients": {"field": "to", "skipped": []},
    "header_injection": {"field": "subject"},
    "text_too_long": {"field": "message", "limit": 5000, "length": 5120},
    "too_many_recipients": {"field": "cc", "limit": 500},
    "invalid_recipient": {"field": "bcc"},
    "invalid_email": {"field": "recipients", "email": "partner@exam_ple.com", "problem": "domain"},
    "external_not_allowed": {"field": "recipients", "email": "a@b.example"},
    "domain_not_allowed": {
        "field": "recipients",
        "email": "a@evil.example",
        "domain": "evil.example",
        "allowed": "x.com",
    },
    "group_too_large": {"field": "recipients", "groupId": "g", "max_group_members": 5000},
    "attachment_not_found": {"field": "attachments", "attachments": ["att1"]},
    "attachments_too_large": {"field": "attachments", "total": 30 * 1048576, "limit": 20 * 1048576},
    "no_excerpt": {"field": "excerptOnly"},
    "confirmation_required": {"recipients": 66, "threshold": 25},
    "recipients_cannot_view": {"count": 12},
    "page_not_found": {},
    "space_disabled": {},
    "not_in_allowed_groups": {},
    "not_in_space_groups": {},
    "rate_limited": {"retryAt": 0},
    "smtp_not_configured": {},
    "smtp_unreachable": {"stage": "connect", "reason": "ConnectionRefusedError"},
    "smtp_tls": {"stage": "tls", "reason": "CERTIFICATE_VERIFY_FAILED"},
    "smtp_timeout": {"stage": "connect"},
    "smtp_too_large": {"stage": "DATA", "smtpCode": 552},
    "smtp_refused": {"stage": "DATA", "smtpCode": 550, "reply": "5.7.1 relaying denied"},
    "smtp_disconnected": {"stage": "DATA"},
    "smtp_temporary": {"stage": "DATA"},
    "confluence_timeout": {},
    "confluence_rate_limited": {},
    "internal_error": {},
}


@pytest.mark.parametrize(("code", "details"), DIALOG_ERRORS.items(), ids=list(DIALOG_ERRORS))
def test_every_error_the_dialog_can_show_has_a_german_sentence(code: str, details: dict[str, object]) -> None:
    english = "an English sentence that must not survive"
    entry = GERMAN[code]
    if isinstance(entry, Mapping):  # codes raised with a few fixed messages: each must have its German one
        for fixed in entry:
            assert german_message(code, fixed, details) == entry[fixed] != fixed
        return
    german = german_message(code, english, details)
    assert german != english and "{" not in german
    assert german[-1] in ".!?)" or german.endswith(str(details.get("reply")))
    for value in ("domain", "reply", "reason"):
        if value in details:
            assert str(details[value]) in german


@pytest.mark.parametrize(
    ("body", "code", "german"),
    [
        (
            {"to": [{"email": "partner@exam_ple.com"}]},
            "invalid_email",
            "partner@exam_ple.com ist keine gültige E-Mail-Adresse: der Teil nach dem @ ist kein gültiger Domainname.",
        ),
        ({"to": [{"email": "ümlaut@example.com"}]}, "invalid_email", None),
        ({"message": "Wort " * 1100, "to": [{"accountId": REGULAR}]}, "text_too_long", None),
        ({"subject": "a\nBcc: x@example.com", "to": [{"accountId": REGULAR}]}, "header_injection", None),
    ],
)
def test_the_dialogs_errors_answer_in_human_german(
    stack: LiveStack, body: dict[str, object], code: str, german: str | None
) -> None:
    payload = {"contentId": "2000000001", **body}
    response = stack.api("POST", "/api/send", SITE_ADMIN, headers=GERMAN_PAGE, json=payload)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if german:
        assert error["message"] == german
    assert "must" not in error["message"] and "'" not in error["message"]
    english = stack.api("POST", "/api/send", SITE_ADMIN, json=payload).json()["error"]["message"]
    assert english != error["message"] and "'" not in english
    assert stack.catcher.messages() == []
