"""The MIME message: structure, headers, encodings, and refusal of header injection; one mail also
crosses a real SMTP server and is parsed from what arrived."""

from __future__ import annotations

import re
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from mail.mime import Attachment, GroupLabel, HeaderInjectionError, build_message
from mail.render import InlineImage, Layout, MailContent, RenderedMail, prepare_page, render_mail
from sandbox.mailcatcher import MailCatcher
from tests.mail.pages import PAGE, body_of, images_for

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a0c6c8f30000000049454e44ae426082"
)


def rendered_mail(images: int = 2, subject: str = "Über die Seite: Plan") -> RenderedMail:
    found = [
        InlineImage(
            cid=f"img{n}.abc@pagemail",
            content_type="image/png",
            data=PNG_1PX,
            filename=f"bild-{n}.png",
        )
        for n in range(images)
    ]
    refs = "".join(f'<img src="cid:{image.cid}" alt="x">' for image in found)
    return RenderedMail(
        subject=subject,
        html=f"<html><body><p>Grüße</p>{refs}</body></html>",
        text="Grüße, plain text\n",
        images=found,
    )


def build(rendered: RenderedMail | None = None, **overrides: object) -> EmailMessage:
    kwargs: dict[str, object] = {
        "from_addr": "pagemail@example.com",
        "from_name": "Jürgen Müller via pagemail",
        "reply_to": "juergen@example.com",
        "to": ["bob@example.com", "Ann@Example.org"],
        "cc": ["carol@example.com"],
        "attachments": (),
        "message_id_domain": "mail.example.com",
    }
    kwargs.update(overrides)
    return build_message(rendered or rendered_mail(), **kwargs)  # type: ignore[arg-type]


def reparse(message: EmailMessage) -> EmailMessage:
    return message_from_bytes(message.as_bytes(), policy=policy.default)  # type: ignore[return-value]


def structure(part: EmailMessage) -> object:
    if part.is_multipart():
        return (part.get_content_type(), [structure(p) for p in part.iter_parts()])  # type: ignore[arg-type]
    return part.get_content_type()


def test_full_structure_with_images_and_attachments() -> None:
    attachments = [
        Attachment("Bericht Ü 2024.pdf", "application/pdf", b"%PDF-1.4 fake"),
        Attachment("data.csv", "text/csv", "a;b\n1;ä\n".encode("latin-1")),
    ]
    parsed = reparse(build(attachments=attachments))
    related = ("multipart/related", ["text/html", "image/png", "image/png"])
    assert structure(parsed) == (
        "multipart/mixed",
        [("multipart/alternative", ["text/plain", related]), "application/pdf", "text/csv"],
    )
    # Attachments travel as the caller's exact bytes (base64), text ones included.
    files = [(part.get_filename(), part.get_payload(decode=True)) for part in parsed.iter_attachments()]
    assert files == [("Bericht Ü 2024.pdf", b"%PDF-1.4 fake"), ("data.csv", "a;b\n1;ä\n".encode("latin-1"))]
    html = parsed.get_body(("html",)).get_content()
    assert "Grüße" in html
    assert parsed.get_body(("plain",)).get_content() == "Grüße, plain text\n"
    images = [p for p in parsed.walk() if p.get_content_maintype() == "image"]
    assert {p["Content-ID"] for p in images} == {"<img0.abc@pagemail>", "<img1.abc@pagemail>"}
    assert all(p.get_content_disposition() == "inline" and p.get_content() == PNG_1PX for p in images)
    assert set(re.findall(r'src="cid:([^"]+)"', html)) == {p["Content-ID"].strip("<>") for p in images}


def test_no_mixed_wrapper_without_attachments_and_no_related_without_images() -> None:
    related = ("multipart/related", ["text/html", "image/png", "image/png"])
    assert structure(reparse(build())) == ("multipart/alternative", ["text/plain", related])
    without_images = reparse(build(rendered_mail(images=0)))
    assert structure(without_images) == ("multipart/alternative", ["text/plain", "text/html"])


def test_headers() -> None:
    message = build()
    raw = message.as_bytes()
    parsed = reparse(message)
    assert parsed["From"].addresses[0].display_name == "Jürgen Müller via pagemail"
    assert parsed["From"].addresses[0].addr_spec == "pagemail@example.com"
    assert b"=?utf-8?" in raw.split(b"\n\n", 1)[0].lower()  # RFC 2047 for the non-ASCII name
    assert parsed["Reply-To"] == "juergen@example.com"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["bob@example.com", "Ann@Example.org"]
    assert [a.addr_spec for a in parsed["Cc"].addresses] == ["carol@example.com"]
    assert parsed["Subject"] == "Über die Seite: Plan"
    assert parsed["Message-ID"].endswith("@mail.example.com>")
    assert parsed["Date"] and parsed["MIME-Version"] == "1.0"
    assert "Bcc" not in parsed
    assert max(len(line) for line in raw.splitlines()) <= 998
    assert all(byte < 128 for byte in raw)  # 7-bit clean for any relay


def test_only_bcc_recipients_gives_an_undisclosed_to() -> None:
    parsed = reparse(build(to=[], cc=[], reply_to=None))
    assert str(parsed["To"]) == "undisclosed-recipients:;"
    assert "Cc" not in parsed and "Reply-To" not in parsed and "Bcc" not in parsed


def test_groups_are_named_in_rfc_5322_group_syntax_without_members() -> None:
    message = build(to=["bob@example.com", GroupLabel("engineering")], cc=[GroupLabel("Équipe: Vertrieb; Süd")])
    raw = message.as_bytes()
    parsed = reparse(message)
    assert [g.display_name for g in parsed["To"].groups if g.display_name] == ["engineering"]
    assert [g.display_name for g in parsed["Cc"].groups] == ["Équipe: Vertrieb; Süd"]
    assert all(g.addresses == () for name in ("To", "Cc") for g in parsed[name].groups if g.display_name)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["bob@example.com"]
    assert b"engineering:;" in raw.split(b"\n\n", 1)[0]


def test_only_cc_recipients_still_gives_an_undisclosed_to() -> None:
    parsed = reparse(build(to=[], cc=[GroupLabel("design")], reply_to=None))
    assert str(parsed["To"]) == "undisclosed-recipients:;"
    assert [g.display_name for g in parsed["Cc"].groups] == ["design"]


def test_extra_headers_are_written_but_may_not_replace_ours() -> None:
    parsed = reparse(build(extra_headers={"Auto-Submitted": "auto-generated", "X-Pagemail-Tenant": "t1"}))
    assert parsed["Auto-Submitted"] == "auto-generated" and parsed["X-Pagemail-Tenant"] == "t1"
    for name in ("Bcc", "bcc", "From", "Subject", "Content-Type"):
        with pytest.raises(HeaderInjectionError):
            build(extra_headers={name: "x@example.com"})


@pytest.mark.parametrize(
    "overrides",
    [
        {"from_addr": "pagemail@example.com\nBcc: victim@example.com"},
        {"reply_to": "eve@example.com\r\nX-Evil: 1"},
        {"to": ["bob@example.com\r\nBcc: victim@example.com"]},
        {"cc": ["carol@example.com\x00"]},
        {"extra_headers": {"X-Note": "a\nBcc: victim@example.com"}},
        {"extra_headers": {"X-Note": "=?utf-8?q?a=0D=0ABcc:_victim@example.com?="}},
        {"extra_headers": {"X-Bad\nName": "a"}},
        {"attachments": [Attachment("a.pdf", "application/pdf\r\nX-Evil: 1", b"x")]},
        {"message_id_domain": "example.com\r\nBcc: victim@example.com"},
    ],
    ids=["from-addr", "reply-to", "to", "cc-nul", "extra-value", "extra-encoded-word", "extra-name", "type", "msgid"],
)
def test_header_injection_in_addresses_and_our_own_values_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(HeaderInjectionError):
        build(**overrides)


# CPython's email package decodes encoded words in header values it is given; affected versions (CVE-2024-6923)
# write a decoded CR LF out as a real line break. Page titles, people's and groups' names and file names come from
# page authors and Confluence users, so they reach headers as text and must stay one header each.
ATTACKS = [
    "Hello\r\nBcc: victim@example.com",
    "=?utf-8?q?Hi=0D=0ABcc:_victim@example.com=0D=0A=0D=0Aforged_body?=",
    "=?utf-8?b?SGkNCkJjYzogdmljdGltQGV4YW1wbGUuY29tDQoNCmZvcmdlZA==?=",
    "line\u2028Bcc: victim@example.com\x85X-Evil: 1\x0bX-Evil2: 1\x0cend",
    "a =?utf-8?q?=0A?= b =?iso-8859-1?Q?=0D=0ABcc=3A_v@example.com?= c",
]


def _headers_of(raw: bytes) -> list[str]:
    block = raw.split(b"\n\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0].lower() for line in block.split("\n") if line and not line[0].isspace()]


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("where", ["subject", "from-name", "group", "attachment-name", "image-name"])
def test_text_from_pages_and_people_stays_one_header_line(attack: str, where: str) -> None:
    rendered = rendered_mail(subject=attack if where == "subject" else "Plan")
    if where == "image-name":
        rendered.images[0] = InlineImage(rendered.images[0].cid, "image/png", PNG_1PX, attack)
    overrides: dict[str, object] = {
        "from-name": {"from_name": attack},
        "group": {"to": [GroupLabel(attack)]},
        "attachment-name": {"attachments": [Attachment(attack, "application/pdf", b"%PDF")]},
    }.get(where, {})
    raw = build(rendered, **overrides).as_bytes()
    names = _headers_of(raw)
    assert "bcc" not in names and "x-evil" not in names and "x-evil2" not in names
    assert names.count("subject") == 1 and names.count("to") == 1
    parsed = message_from_bytes(raw, policy=policy.default)
    assert "Bcc" not in parsed and "forged" not in parsed.get_body(preferencelist=("plain",)).get_content()
    for name, value in parsed.items():
        assert "\n" not in str(value) and "\r" not in str(value), (name, value)


def test_defused_encoded_words_still_read_as_written() -> None:
    title = "Release =?utf-8?q?notes?= 2.0"
    parsed = reparse(build(rendered_mail(subject=title)))
    assert parsed["Subject"].replace("\u200b", "") == title


@pytest.mark.parametrize("address", ["not an address", "a@", "@example.com", "a b@example.com", ""])
def test_malformed_addresses_are_clear_errors(address: str) -> None:
    with pytest.raises(ValueError, match="not a valid email address"):
        build(to=[address])


def test_bad_content_types_are_refused() -> None:
    with pytest.raises(ValueError, match="type/subtype"):
        build(attachments=[Attachment("a.bin", "nonsense", b"x")])
    with pytest.raises(TypeError):
        build(to="bob@example.com")


def test_a_rendered_fixture_crosses_a_real_smtp_server() -> None:
    prepared = prepare_page(body_of("Usability-Testing_-PHI_-Sep_1237385238.html"), PAGE, Layout())
    rendered = render_mail(
        prepared,
        PAGE,
        MailContent("Jürgen Müller", "Bitte lesen", "de"),
        Layout(),
        "Seite: Usability Testing",
        images_for(prepared),
    )
    message = build_message(
        rendered,
        from_addr="pagemail@example.com",
        from_name="Jürgen via pagemail",
        reply_to="juergen@example.com",
        to=["bob@example.com"],
        cc=[],
        attachments=[Attachment("notes.txt", "text/plain", "Notiz: ä\n".encode())],
    )
    with MailCatcher() as catcher:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=30) as smtp:
            smtp.send_message(message, to_addrs=["bob@example.com", "hidden@example.com"])
        (caught,) = catcher.wait_for(1, timeout=30)
    assert sorted(caught.rcpt_tos) == ["bob@example.com", "hidden@example.com"]
    received = caught.message()
    assert b"hidden@example.com" not in caught.raw  # the Bcc recipient is only in the envelope
    html = received.get_body(("html",)).get_content()
    assert "Jürgen Müller hat Ihnen eine Seite gesendet" in html
    cids = set(re.findall(r'src="cid:([^"]+)"', html))
    parts = {p["Content-ID"].strip("<>"): p for p in received.walk() if p["Content-ID"]}
    assert cids == set(parts) and len(parts) == len(prepared.images)
    assert all(p.get_content()[:8] == b"\x89PNG\r\n\x1a\n" for p in parts.values())
    assert "Bitte lesen" in received.get_body(("plain",)).get_content()
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "notes.txt"
    assert attachment.get_payload(decode=True) == "Notiz: ä\n".encode()
