"""Sending pages end to end: the app and the sandbox over real HTTP, a real SMTP server, the MIME parsed."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from typing import Any

import pytest

from tests.conftest import LiveStack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin, visible email
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"  # regular user
CHIARA = "60b4d1e7a2c94f3b8e5d6a71"  # hidden email
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"  # can't read the restricted page
SIMPLE_PAGE = "2000000001"
BENCH_PAGE = "2000000003"
PDF_PAGE = "13992558"
EXCERPT_PAGE = "2000000002"
RESTRICTED_PAGE = "1514897411"
IMAGES_PAGE = "1237385238"


def group_id(stack: LiveStack, name: str) -> str:
    answer = stack.api("GET", "/api/recipients", ADA, params={"query": name}).json()
    return next(g["groupId"] for g in answer["groups"] if g["name"] == name)


def send(stack: LiveStack, sender: str = ADA, **body: Any) -> Any:
    return stack.api("POST", "/api/send", sender, json=body)


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def check_cids(message: EmailMessage) -> list[EmailMessage]:
    html = html_part(message)
    referenced = set(re.findall(r"cid:([^\"'\s)>]+)", html))
    parts = [p for p in message.walk() if p["Content-ID"]]
    present = {p["Content-ID"].strip("<>") for p in parts}
    assert referenced == present, (referenced, present)
    return parts  # type: ignore[return-value]


def test_page_with_images_to_a_user_a_group_and_an_external_address(stack: LiveStack) -> None:
    design = group_id(stack, "design")
    response = send(
        stack,
        contentId=IMAGES_PAGE,
        to=[{"accountId": BEN}],
        cc=[{"groupId": design}],
        bcc=[{"email": "Partner@External.example"}],
        message="Have a look\nat this.",
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["sent"] is True and result["mails"] == 1
    mail = stack.catcher.wait_for(1)[0]
    message = parsed(mail.raw)
    users = {u["accountId"]: u for u in stack.users()}
    design_members = [u for u in users.values() if "design" in u["groups"]]
    expected = {users[BEN]["email"].lower(), "partner@external.example"} | {u["email"].lower() for u in design_members}
    assert {a.lower() for a in mail.rcpt_tos} == expected
    assert result["recipients"] == len(expected)
    # Headers: From is ours (DMARC), replies go to the sender, Bcc is never a header.
    assert "pagemail@localhost" in message["From"] and "Ada Lindqvist" in message["From"]
    assert message["Reply-To"].addresses[0].addr_spec == users[ADA]["email"]
    assert users[BEN]["email"] in message["To"]
    assert "Bcc" not in message and b"partner@external.example" not in mail.raw.lower().split(b"\r\n\r\n")[0]
    assert message["Subject"].startswith("[Confluence] ")
    # Structure: alternative (text + related (html + images)).
    assert message.get_content_type() in ("multipart/alternative", "multipart/mixed")
    assert message.get_body(preferencelist=("plain",)) is not None
    images = check_cids(message)
    assert images, "the page's images are embedded"
    html = html_part(message)
    assert "<script" not in html.lower() and "data:" not in html and "javascript:" not in html.lower()
    assert "Have a look" in html
    from io import BytesIO

    from PIL import Image

    for part in images:
        with Image.open(BytesIO(part.get_content())) as picture:
            assert picture.width <= 1280  # twice the 640 px column at most (sharp on high-density screens)


def test_preview_is_the_same_mail_without_sending(stack: LiveStack) -> None:
    response = stack.api("POST", "/api/preview", ADA, json={"contentId": SIMPLE_PAGE, "to": [{"accountId": BEN}]})
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["subject"].startswith("[Confluence] ") and "<html" in preview["html"].lower()
    assert "cid:" not in preview["html"]
    assert stack.catcher.messages() == []


def test_restricted_page_is_refused_and_nothing_sent(stack: LiveStack) -> None:
    response = send(stack, EMMA, contentId=RESTRICTED_PAGE, to=[{"accountId": BEN}])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "page_not_found"
    preview = stack.api("POST", "/api/preview", EMMA, json={"contentId": RESTRICTED_PAGE})
    assert preview.status_code == 404
    assert stack.catcher.messages() == []
    allowed = send(stack, ADA, contentId=RESTRICTED_PAGE, to=[{"accountId": BEN}])
    assert allowed.status_code == 200, allowed.text


def test_confluence_429_is_survived(stack: LiveStack) -> None:
    stack.control(
        "POST",
        "faults",
        json={
            "rules": [
                {
                    "pathPrefix": f"/wiki/rest/api/content/{SIMPLE_PAGE}",
                    "status": 429,
                    "count": 2,
                    "retryAfter": 1,
                    "method": "GET",
                }
            ]
        },
    )
    response = send(stack, contentId=SIMPLE_PAGE, to=[{"accountId": BEN}])
    assert response.status_code == 200, response.text
    assert len(stack.catcher.wait_for(1)) == 1


def test_confluence_failing_is_a_clear_error(stack: LiveStack) -> None:
    stack.control(
        "POST",
        "faults",
        json={
            "rules": [
                {"pathPrefix": f"/wiki/rest/api/content/{SIMPLE_PAGE}", "status": 500, "count": 50, "method": "GET"}
            ]
        },
    )
    response = send(stack, contentId=SIMPLE_PAGE, to=[{"accountId": BEN}])
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "confluence_unavailable"
    assert stack.catcher.messages() == []


@pytest.mark.parametrize("subject", ["Hello\r\nBcc: victim@example.com", "Hi\nthere", "x\0y"])
def test_header_injection_is_refused(stack: LiveStack, subject: str) -> None:
    response = send(stack, contentId=SIMPLE_PAGE, to=[{"accountId": BEN}], subject=subject)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "subject"
    injected = send(stack, contentId=SIMPLE_PAGE, to=[{"email": "a@example.com\r\nBcc: victim@example.com"}])
    assert injected.status_code == 400
    assert stack.catcher.messages() == []


def test_smtp_refusal_is_answered_clearly(stack: LiveStack) -> None:
    stack.catcher.fail_next(554, "Message rejected as spam", stage="DATA")
    response = send(stack, contentId=SIMPLE_PAGE, to=[{"accountId": BEN}])
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "smtp_refused" and "554" in error["message"]
    assert stack.catcher.messages() == []


def test_attachments_and_excerpt(stack: LiveStack) -> None:
    response = send(stack, contentId=PDF_PAGE, to=[{"accountId": BEN}], attachments="all")
    assert response.status_code == 200, response.text
    message = parsed(stack.catcher.wait_for(1)[0].raw)
    attached = [p for p in message.iter_attachments() if p.get_content_disposition() == "attachment"]
    assert attached and attached[0].get_filename()
    stack.catcher.clear()
    response = send(stack, contentId=EXCERPT_PAGE, to=[{"accountId": BEN}], excerptOnly=True)
    assert response.status_code == 200, response.text
    full = stack.api("POST", "/api/preview", ADA, json={"contentId": EXCERPT_PAGE}).json()["html"]
    excerpt = html_part(parsed(stack.catcher.wait_for(1)[0].raw))
    assert len(excerpt) < len(full)
    no_excerpt = send(stack, contentId=SIMPLE_PAGE, to=[{"accountId": BEN}], excerptOnly=True)
    assert no_excerpt.status_code == 400 and no_excerpt.json()["error"]["code"] == "no_excerpt"


def test_users_without_email_are_named_and_duplicates_removed(stack: LiveStack) -> None:
    response = send(
        stack,
        contentId=SIMPLE_PAGE,
        to=[{"accountId": BEN}],
        cc=[{"accountId": BEN}],
        bcc=[{"email": "ben.okafor@example.com"}, {"accountId": CHIARA}],
    )
    assert response.status_code == 200, response.text
    mail = stack.catcher.wait_for(1)[0]
    assert [a.lower() for a in mail.rcpt_tos].count("ben.okafor@example.com") == 1


def test_attachment_over_the_limit_is_refused(stack: LiveStack) -> None:
    response = send(
        stack,
        contentId=BENCH_PAGE,
        to=[{"accountId": BEN}],
        attachments=[a["id"] for p in stack.pages() if p["id"] == BENCH_PAGE for a in p["attachments"]],
    )
    # The benchmark page carries more than the default 20 MB only if the sandbox made it so; either way, clear.
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "attachments_too_large"


def test_above_the_per_mail_limit_several_mails_without_exposing_bcc(stack: LiveStack) -> None:
    import sqlalchemy as sa

    from models import TenantSettings, db

    with stack.app.app_context():
        settings = db.session.execute(sa.select(TenantSettings)).scalar_one()
        settings.max_recipients = 2
        db.session.commit()
    try:
        to = [{"email": f"to{i}@external.example"} for i in range(3)]
        bcc = [{"email": f"hidden{i}@external.example"} for i in range(2)]
        response = send(stack, contentId=SIMPLE_PAGE, to=to, bcc=bcc)
        assert response.status_code == 200, response.text
        assert response.json()["mails"] == 3 and response.json()["recipients"] == 5
        mails = stack.catcher.wait_for(3)
        ids = set()
        for mail in mails:
            assert len(mail.rcpt_tos) <= 2
            header_block = mail.raw.split(b"\r\n\r\n", 1)[0].lower()
            assert b"hidden" not in header_block
            message = parsed(mail.raw)
            ids.add(message["Message-ID"])
            visible = {a.addr_spec for a in message["To"].addresses}
            assert visible <= set(mail.rcpt_tos)
        assert len(ids) == 3
        assert sorted(a for m in mails for a in m.rcpt_tos) == sorted(
            [r["email"] for r in to] + [r["email"] for r in bcc]
        )
    finally:
        with stack.app.app_context():
            settings = db.session.execute(sa.select(TenantSettings)).scalar_one()
            settings.max_recipients = 100
            db.session.commit()


def test_preview_tells_the_mails_size_its_attachments_and_gmails_clip(stack: LiveStack) -> None:
    largest = stack.api("POST", "/api/preview", ADA, json={"contentId": "999391233"}).json()
    # The largest page (276 KB source) is ended at a block boundary by the renderer instead of clipped by Gmail.
    assert largest["truncated"] is True and largest["clipped"] is False
    assert largest["htmlBytes"] <= largest["gmailClipBytes"] == 102 * 1024
    pdf = next(p for p in stack.pages() if p["id"] == PDF_PAGE)
    chosen = [a["id"] for a in pdf["attachments"]][:1]
    small = stack.api("POST", "/api/preview", ADA, json={"contentId": PDF_PAGE, "attachments": chosen}).json()
    assert small["clipped"] is False and small["htmlBytes"] < small["gmailClipBytes"]
    assert [a["title"] for a in small["attachments"]] == [a["title"] for a in pdf["attachments"] if a["id"] in chosen]
    assert small["mailBytes"] > small["htmlBytes"] + sum(a["size"] for a in small["attachments"])
    assert stack.catcher.messages() == []
