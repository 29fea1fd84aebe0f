"""Regression tests for the security review's findings, against the live stack (app + sandbox over HTTP)."""

from __future__ import annotations

import pytest

from mail.send import MailSettings, build_subject
from tests.conftest import LiveStack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"
SIMPLE_PAGE = "2000000001"
ENCODED_CRLF = "=?utf-8?q?Hi=0D=0ABcc:_v@example.com?="


@pytest.mark.parametrize(
    "subject",
    [ENCODED_CRLF, "Hi\u2028Bcc: victim@example.com", "Hi\x85there", "Hi\x0bthere", "Hi\x0cthere", "a\r\nBcc: v@x.com"],
)
def test_a_subject_that_could_add_headers_is_refused_and_nothing_sent(stack: LiveStack, subject: str) -> None:
    body = {"contentId": SIMPLE_PAGE, "to": [{"accountId": BEN}], "subject": subject}
    response = stack.api("POST", "/api/send", ADA, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "header_injection"
    assert stack.catcher.messages() == []


@pytest.mark.parametrize("field", ["senderName", "subjectPrefix"])
def test_admin_header_values_with_encoded_words_are_refused(stack: LiveStack, field: str) -> None:
    before = stack.api("GET", "/api/admin/settings", ADA).json()
    response = stack.api("PUT", "/api/admin/settings", ADA, json={"mail": {field: ENCODED_CRLF}})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["fields"] == {f"mail.{field}": "must be a single line of plain text"}
    assert stack.api("GET", "/api/admin/settings", ADA).json() == before


def test_a_page_title_with_an_encoded_word_gives_a_safe_default_subject() -> None:
    subject = build_subject(MailSettings(subject_prefix="[Wiki]"), None, f"Plan {ENCODED_CRLF}\u2028end")
    assert "\n" not in subject and "\r" not in subject and "=?" not in subject
    assert subject.startswith("[Wiki] Plan =") and subject.endswith("end")


def test_one_send_reaches_a_bounded_number_of_people(stack: LiveStack, monkeypatch: pytest.MonkeyPatch) -> None:
    from mail import recipients

    monkeypatch.setattr(recipients, "MAX_RECIPIENTS_PER_SEND", 50)
    marketing = next(g["id"] for g in stack.control("GET", "users")["groups"] if g["name"] == "marketing")
    body = {"contentId": SIMPLE_PAGE, "to": [{"groupId": marketing}], "confirmed": True}
    for path in ("/api/recipients/summary", "/api/send"):
        response = stack.api("POST", path, ADA, json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "too_many_recipients" and error["details"] == {"limit": 50, "length": 61}
    german = stack.api("POST", "/api/send", ADA, json=body, headers={"X-Pagemail-Locale": "de"}).json()
    assert german["error"]["message"] == "Eine E-Mail kann an höchstens 50 Empfänger gehen; diese erreichte 61."
    assert stack.catcher.messages() == []


def test_a_refused_mail_of_a_split_send_is_reported_and_the_rest_still_go(stack: LiveStack) -> None:
    with stack.settings(max_recipients=2):
        to = [{"email": f"p{n}@external.example"} for n in range(5)]
        stack.catcher.fail_next(554, "Message rejected as spam", stage="DATA", after=1)
        response = stack.api("POST", "/api/send", ADA, json={"contentId": SIMPLE_PAGE, "to": to})
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["partial"] is True and result["recipients"] == 3 and result["notDelivered"] == 2
        assert [b["status"] for b in result["batches"]] == ["delivered", "failed", "delivered"]
        assert result["batches"][1]["error"]["code"] == "smtp_refused"
        delivered = sorted(a for mail in stack.catcher.wait_for(2) for a in mail.rcpt_tos)
        assert delivered == ["p0@external.example", "p1@external.example", "p4@external.example"]
        # The retry token reaches only the two who missed it; it is the sender's and this page's only.
        body = {"contentId": SIMPLE_PAGE, "to": to, "retry": result["retry"]}
        for other, bad in ((BEN, body), (ADA, {**body, "contentId": "2000000002"}), (ADA, {**body, "retry": "x"})):
            refused = stack.api("POST", "/api/send", other, json=bad)
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "retry_invalid", refused.text
        stack.catcher.clear()
        again = stack.api("POST", "/api/send", ADA, json=body)
        assert again.status_code == 200, again.text
        assert again.json()["recipients"] == 2 and "partial" not in again.json()
        assert sorted(a for mail in stack.catcher.wait_for(1) for a in mail.rcpt_tos) == [
            "p2@external.example",
            "p3@external.example",
        ]
    stack.catcher.clear_failures()


@pytest.mark.parametrize("key", ["ENG%0A", "ENG%0D", "EN%C2%B2", "ENG%20", "ENG.x", "%2E%2E"])
def test_a_malformed_space_key_is_a_400_never_a_lookup(stack: LiveStack, key: str) -> None:
    stack.control("DELETE", "requests")
    response = stack.api("GET", f"/api/spaces/{key}/settings", ADA)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == {"field": "spaceKey"}
    assert not [r for r in stack.control("GET", "requests")["requests"] if "/space/" in r["path"]]
