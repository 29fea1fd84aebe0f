"""The sandbox mail catcher: a real SMTP server on an ephemeral port, smtplib as the client, and the inbox
pages through Flask's test client on an app that has only the inbox blueprint."""

from __future__ import annotations

import io
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography import x509
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from sandbox.mailcatcher import MailCatcher, inbox_blueprint, make_self_signed_cert

CLIENT_TIMEOUT = 30.0  # seconds; generous for a busy CI machine, never reached when things work
SENDER = "bounces@pagemail.test"
LOGO_CID = "logo.1234@pagemail.test"


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as running:
        yield running


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def client(catcher: MailCatcher) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(inbox_blueprint(catcher))
    return app.test_client()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (11, 99, 206)).save(buffer, format="PNG")
    return buffer.getvalue()


def _page_mail(html: str | None = None, subject: str = "Release notes 1.2") -> EmailMessage:
    """Shaped like the app's mails: mixed( alternative( text, related( html, cid image ) ), attachment )."""
    msg = EmailMessage()
    msg["From"] = "Wiki via pagemail <wiki@pagemail.test>"
    msg["To"] = "Anna Example <anna@example.com>"
    msg["Cc"] = "bob@example.com"
    msg["Reply-To"] = "Carol Sender <carol@example.com>"
    msg["Subject"] = subject
    msg.set_content("Plain text version of the page\n")
    default_html = f'<html><body><p>Hello</p><img src="cid:{LOGO_CID}" alt="logo"></body></html>'
    msg.add_alternative(html or default_html, subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(_png(), "image", "png", cid=f"<{LOGO_CID}>", filename="logo.png", disposition="inline")
    msg.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename="spec.pdf")
    return msg


def _send(port: int, msg: EmailMessage, rcpts: list[str]) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT) as smtp:
        return smtp.send_message(msg, from_addr=SENDER, to_addrs=rcpts)


def _csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {tokens[0]: tokens[1:] for tokens in directives}


def _tls_client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


# -- delivery and the inbox ----------------------------------------------------------------------------


def test_page_mail_is_caught_and_the_inbox_shows_it_like_a_mail_client(
    catcher: MailCatcher, client: FlaskClient
) -> None:
    refused = _send(catcher.port, _page_mail(), ["anna@example.com", "bob@example.com", "dave@example.com"])
    assert refused == {}
    [mail] = catcher.wait_for(1)
    assert mail.mail_from == SENDER
    assert mail.rcpt_tos == ["anna@example.com", "bob@example.com", "dave@example.com"]
    assert mail.peer_is_loopback and not mail.used_tls and mail.authenticated_as is None
    assert mail.message()["Subject"] == "Release notes 1.2"
    assert mail.message().get_content_type() == "multipart/mixed"

    listing = client.get("/inbox")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "Release notes 1.2" in page and f'href="/inbox/{mail.id}"' in page
    assert "Has attachments" in page

    detail = client.get(f"/inbox/{mail.id}").get_data(as_text=True)
    assert "Carol Sender &lt;carol@example.com&gt;" in detail  # Reply-To, escaped
    assert "Envelope recipients" in detail and "dave@example.com" in detail  # the Bcc'd one: envelope only
    assert f'<iframe class="mail-html" sandbox src="/inbox/{mail.id}/html"' in detail
    assert "Plain text version of the page" in detail
    assert "multipart/related" in detail and f"Content-ID: &lt;{LOGO_CID}&gt;" in detail
    assert "Missing inline parts" not in detail and "Bcc header" not in detail

    html_view = client.get(f"/inbox/{mail.id}/html")
    assert html_view.status_code == 200 and html_view.mimetype == "text/html"
    body = html_view.get_data(as_text=True)
    assert f'src="/inbox/{mail.id}/cid/{LOGO_CID}"' in body and "cid:" not in body

    image = client.get(f"/inbox/{mail.id}/cid/{LOGO_CID}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == _png()

    part_link = re.search(rf'href="(/inbox/{mail.id}/part/\d+)">spec.pdf<', detail)
    assert part_link is not None
    attachment = client.get(part_link[1])
    assert attachment.data == b"%PDF-1.4 not really" and attachment.mimetype == "application/pdf"
    assert attachment.headers["Content-Disposition"] == "attachment; filename=spec.pdf"

    raw = client.get(f"/inbox/{mail.id}/raw")
    assert raw.mimetype == "text/plain" and raw.data == mail.raw


def test_html_view_is_sandboxed_and_forbids_scripts(catcher: MailCatcher, client: FlaskClient) -> None:
    hostile = '<p onclick="steal()">Hi</p><script>alert(1)</script><img src="https://tracker.example/p.gif">'
    _send(catcher.port, _page_mail(html=hostile, subject="<b>bold</b> subject"), ["anna@example.com"])
    [mail] = catcher.wait_for(1)

    csp = _csp(client.get(f"/inbox/{mail.id}/html").headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"] and "script-src" not in csp  # scripts fall back to 'none'
    assert csp["img-src"] == ["'self'"]  # no remote images, like a client that blocks them
    assert "sandbox" in csp and csp["sandbox"] == []

    for path in ("/inbox", f"/inbox/{mail.id}"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert "<script>alert" not in page and "<b>bold</b>" not in page
        assert "&lt;b&gt;bold&lt;/b&gt; subject" in page
        page_csp = _csp(response.headers["Content-Security-Policy"])
        assert page_csp["default-src"] == ["'none'"] and "script-src" not in page_csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_missing_cid_parts_are_flagged(catcher: MailCatcher, client: FlaskClient) -> None:
    html = f'<img src="cid:{LOGO_CID}"><div style="background:url(cid:gone@pagemail.test)">x</div>'
    _send(catcher.port, _page_mail(html=html), ["anna@example.com"])
    [mail] = catcher.wait_for(1)

    detail = client.get(f"/inbox/{mail.id}").get_data(as_text=True)
    assert "Missing inline parts" in detail
    assert '<code class="missing-cid">cid:gone@pagemail.test</code>' in detail
    assert f"cid:{LOGO_CID}</code>" not in detail  # the present one is not flagged
    assert f"/inbox/{mail.id}/cid/gone@pagemail.test" in client.get(f"/inbox/{mail.id}/html").get_data(True)
    assert client.get(f"/inbox/{mail.id}/cid/gone@pagemail.test").status_code == 404


def test_a_bcc_header_in_the_sent_mail_is_flagged(catcher: MailCatcher, client: FlaskClient) -> None:
    raw = (
        b"From: wiki@pagemail.test\r\nTo: anna@example.com\r\nBcc: secret@example.com\r\n"
        b"Subject: leaky\r\n\r\nhello\r\n"
    )
    with smtplib.SMTP("127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT) as smtp:
        smtp.sendmail(SENDER, ["anna@example.com", "secret@example.com"], raw)
    [mail] = catcher.wait_for(1)
    assert "A Bcc header is in the sent mail" in client.get(f"/inbox/{mail.id}").get_data(as_text=True)


def test_json_api_lists_serves_raw_and_clears(catcher: MailCatcher, client: FlaskClient) -> None:
    _send(catcher.port, _page_mail(), ["anna@example.com", "dave@example.com"])
    [mail] = catcher.wait_for(1)

    [entry] = client.get("/_sandbox/mails").get_json()
    assert entry["id"] == mail.id and entry["mailFrom"] == SENDER
    assert entry["rcptTos"] == ["anna@example.com", "dave@example.com"]
    assert entry["subject"] == "Release notes 1.2"
    assert entry["from"] == "Wiki via pagemail <wiki@pagemail.test>"
    assert entry["to"] == "Anna Example <anna@example.com>" and entry["cc"] == "bob@example.com"
    assert entry["replyTo"] == "Carol Sender <carol@example.com>"
    assert entry["size"] == len(mail.raw) and entry["usedTls"] is False and entry["authenticatedAs"] is None

    raw = client.get(f"/_sandbox/mails/{mail.id}/raw")
    assert raw.status_code == 200 and raw.mimetype == "message/rfc822" and raw.data == mail.raw
    assert client.get("/_sandbox/mails/9999/raw").status_code == 404

    assert client.delete("/_sandbox/mails").status_code == 204
    assert client.get("/_sandbox/mails").get_json() == [] and catcher.messages() == []


def test_clear_button_empties_the_inbox(catcher: MailCatcher, client: FlaskClient) -> None:
    _send(catcher.port, _page_mail(), ["anna@example.com"])
    [mail] = catcher.wait_for(1)
    response = client.post("/inbox/clear")
    assert response.status_code == 303 and response.headers["Location"] == "/inbox"
    assert catcher.messages() == []
    assert client.get(f"/inbox/{mail.id}").status_code == 404
    assert "No mail yet" in client.get("/inbox").get_data(as_text=True)


def test_unknown_mails_and_parts_answer_404(catcher: MailCatcher, client: FlaskClient) -> None:
    _send(catcher.port, _page_mail(), ["anna@example.com"])
    [mail] = catcher.wait_for(1)
    for path in (
        "/inbox/424242",
        "/inbox/424242/html",
        "/inbox/424242/raw",
        f"/inbox/{mail.id}/part/999",
        f"/inbox/{mail.id}/part/0",
        f"/inbox/{mail.id}/cid/nope@x",
    ):
        assert client.get(path).status_code == 404, path


def test_concurrent_senders_are_all_kept(catcher: MailCatcher) -> None:
    def send(n: int) -> None:
        _send(catcher.port, _page_mail(subject=f"mail {n}"), [f"user{n}@example.com"])

    senders = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(CLIENT_TIMEOUT)
    mails = catcher.wait_for(6)
    assert sorted(str(mail.message()["Subject"]) for mail in mails) == [f"mail {n}" for n in range(6)]
    assert len({mail.id for mail in mails}) == 6


# -- TLS and authentication ----------------------------------------------------------------------------


def test_starttls_with_a_trusted_self_signed_cert_and_auth(cert: tuple[Path, Path]) -> None:
    cert_file, key_file = cert
    with MailCatcher(tls_cert=(str(cert_file), str(key_file)), require_auth=("mailer", "s3cret")) as catcher:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls") and not smtp.has_extn("auth")  # no AUTH in plain text
            assert smtp.mail(SENDER)[0] == 530  # STARTTLS first
            smtp.starttls(context=_tls_client_context(cert_file))
            smtp.ehlo()
            assert "PLAIN" in smtp.esmtp_features["auth"] and "LOGIN" in smtp.esmtp_features["auth"]
            assert smtp.mail(SENDER)[0] == 530  # authentication first
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                smtp.login("mailer", "wrong")
            assert wrong.value.smtp_code == 535

        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT) as smtp:
            smtp.starttls(context=_tls_client_context(cert_file))
            smtp.login("mailer", "s3cret")
            smtp.send_message(_page_mail(), from_addr=SENDER, to_addrs=["anna@example.com"])
        [mail] = catcher.wait_for(1)
        assert mail.used_tls and mail.authenticated_as == "mailer"


def test_starttls_rejects_a_client_that_does_not_trust_the_cert(cert: tuple[Path, Path]) -> None:
    with (
        MailCatcher(tls_cert=(str(cert[0]), str(cert[1]))) as catcher,
        smtplib.SMTP("127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT) as smtp,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        smtp.starttls(context=ssl.create_default_context())  # system CAs only


def test_implicit_tls_with_auth(cert: tuple[Path, Path]) -> None:
    cert_file, key_file = cert
    with MailCatcher(
        tls_cert=(str(cert_file), str(key_file)), implicit_tls=True, require_auth=("mailer", "s3cret")
    ) as catcher:
        with smtplib.SMTP_SSL(
            "127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT, context=_tls_client_context(cert_file)
        ) as smtp:
            smtp.ehlo()
            assert not smtp.has_extn("starttls")
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                smtp.login("mailer", "nope")
            assert wrong.value.smtp_code == 535
            smtp.login("mailer", "s3cret")
            smtp.send_message(_page_mail(), from_addr=SENDER, to_addrs=["anna@example.com"])
        [mail] = catcher.wait_for(1)
        assert mail.used_tls and mail.authenticated_as == "mailer"


def test_auth_in_plain_text_when_no_cert_is_given() -> None:
    with MailCatcher(require_auth=("mailer", "s3cret")) as catcher:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT) as smtp:
            smtp.ehlo()
            assert smtp.mail(SENDER)[0] == 530
            smtp.rset()
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                smtp.login("mailer", "S3CRET")
            assert wrong.value.smtp_code == 535
            smtp.login("mailer", "s3cret")
            smtp.send_message(_page_mail(), from_addr=SENDER, to_addrs=["anna@example.com"])
        [mail] = catcher.wait_for(1)
        assert not mail.used_tls and mail.authenticated_as == "mailer"


def test_a_server_without_auth_does_not_offer_it(catcher: MailCatcher) -> None:
    with smtplib.SMTP("127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            smtp.login("someone", "anything")


# -- failing mail servers ------------------------------------------------------------------------------


def test_fail_next_at_rcpt_then_recovers(catcher: MailCatcher) -> None:
    catcher.fail_next(451, "4.3.0 Try again later")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(catcher.port, _page_mail(), ["anna@example.com"])
    assert refused.value.recipients == {"anna@example.com": (451, b"4.3.0 Try again later")}
    assert catcher.messages() == []

    assert _send(catcher.port, _page_mail(), ["anna@example.com"]) == {}
    assert len(catcher.wait_for(1)) == 1


@pytest.mark.parametrize(("stage", "error"), [("MAIL", smtplib.SMTPSenderRefused), ("DATA", smtplib.SMTPDataError)])
def test_fail_next_at_mail_and_data(
    catcher: MailCatcher, stage: str, error: type[smtplib.SMTPResponseException]
) -> None:
    catcher.fail_next(554, "5.7.1 Rejected by policy", stage=stage, count=2)
    for _attempt in range(2):
        with pytest.raises(error) as failed:
            _send(catcher.port, _page_mail(), ["anna@example.com"])
        assert failed.value.smtp_code == 554 and failed.value.smtp_error == b"5.7.1 Rejected by policy"
    _send(catcher.port, _page_mail(), ["anna@example.com"])
    assert len(catcher.wait_for(1)) == 1


def test_reject_recipient_refuses_only_that_address(catcher: MailCatcher) -> None:
    catcher.reject_recipient("Bob@Example.com")
    refused = _send(catcher.port, _page_mail(), ["anna@example.com", "bob@example.com"])
    assert refused == {"bob@example.com": (550, b"No such user")}
    [mail] = catcher.wait_for(1)
    assert mail.rcpt_tos == ["anna@example.com"]

    catcher.clear_failures()
    assert _send(catcher.port, _page_mail(), ["bob@example.com"]) == {}


def test_messages_over_the_size_limit_get_552() -> None:
    big = _page_mail()
    big.add_attachment(b"x" * 20_000, maintype="application", subtype="octet-stream", filename="big.bin")
    with MailCatcher(max_message_size=10_000) as catcher:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # smtplib declares SIZE at MAIL FROM
            _send(catcher.port, big, ["anna@example.com"])
        assert refused.value.smtp_code == 552

        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=CLIENT_TIMEOUT) as smtp:  # a client that doesn't
            smtp.ehlo()
            assert smtp.mail(SENDER)[0] == 250 and smtp.rcpt("anna@example.com")[0] == 250
            assert smtp.data(big.as_bytes(policy=policy.SMTP))[0] == 552
        assert catcher.messages() == []


# -- the catcher itself --------------------------------------------------------------------------------


def test_wait_for_raises_timeout_error_when_mail_does_not_come(catcher: MailCatcher) -> None:
    assert catcher.wait_for(0) == []
    with pytest.raises(TimeoutError):
        catcher.wait_for(1, timeout=0.2)


def test_port_zero_binds_a_real_port_and_stop_releases_it() -> None:
    first, second = MailCatcher(), MailCatcher()
    with first, second:
        assert first.port != 0 and second.port != 0 and first.port != second.port
        port = first.port
        with pytest.raises(RuntimeError):
            first.start()
        with pytest.raises(OSError):
            MailCatcher(port=port).start()  # taken
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT).close()


def test_bad_knob_values_are_refused(catcher: MailCatcher) -> None:
    with pytest.raises(ValueError):
        catcher.fail_next(451, "later", stage="QUIT")
    with pytest.raises(ValueError):
        catcher.fail_next(250, "not a failure")
    with pytest.raises(ValueError):
        catcher.reject_recipient("x@example.com", message="two\r\n250 lines")
    with pytest.raises(ValueError):
        MailCatcher(implicit_tls=True)


def test_self_signed_cert_names_localhost_and_loopback(tmp_path: Path) -> None:
    cert_file, key_file = make_self_signed_cert(tmp_path / "certs", hostname="mail.sandbox.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)  # cert and key belong together
    san = (
        x509.load_pem_x509_certificate(cert_file.read_bytes())
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert set(san.get_values_for_type(x509.DNSName)) == {"mail.sandbox.test", "localhost"}
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert key_file.stat().st_mode & 0o077 == 0
