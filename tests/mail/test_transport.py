"""SMTP delivery against a real SMTP server (aiosmtpd): TLS, auth, refusals, retries, no duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from errors import ValidationError
from mail import transport
from mail.transport import Envelope, MailServerError, SmtpServer, check_connection, deliver
from sandbox.mailcatcher import MailCatcher, make_self_signed_cert
from tests.servers import free_port


@pytest.fixture(autouse=True)
def quick_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "TEMPORARY_RETRY_DELAY", 0.05)


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as running:
        yield running


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


def message(to: list[str], size: int = 0) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "pagemail@example.com"
    msg["To"] = ", ".join(to)
    msg["Subject"] = "Hello"
    msg.set_content("Hi\n" + "x" * size)
    return msg


def plain(port: int) -> SmtpServer:
    return SmtpServer("127.0.0.1", port, "none", allow_private=True, timeout=10)


def test_plain_delivery_on_loopback(catcher: MailCatcher) -> None:
    refused = deliver(
        plain(catcher.port),
        [Envelope(message(["a@example.com"]), "pagemail@example.com", ["a@example.com", "hidden@example.com"])],
    )
    assert refused == {}
    mail = catcher.wait_for(1)[0]
    assert sorted(mail.rcpt_tos) == ["a@example.com", "hidden@example.com"]
    assert "hidden@example.com" not in mail.raw.decode()


def test_starttls_with_auth(cert: tuple[Path, Path]) -> None:
    with MailCatcher(tls_cert=(str(cert[0]), str(cert[1])), require_auth=("mailer", "right-password")) as server:
        good = SmtpServer(
            "localhost", server.port, "starttls", "mailer", "right-password", allow_private=True, ca_file=str(cert[0])
        )
        check_connection(good)
        deliver(good, [Envelope(message(["b@example.com"]), "pagemail@example.com", ["b@example.com"])])
        mail = server.wait_for(1)[0]
        assert mail.used_tls and mail.authenticated_as == "mailer"
        bad = SmtpServer(
            "localhost", server.port, "starttls", "mailer", "wrong", allow_private=True, ca_file=str(cert[0])
        )
        with pytest.raises(MailServerError) as caught:
            check_connection(bad)
        assert caught.value.code == "smtp_auth" and caught.value.stage == "auth"
        assert "wrong" not in caught.value.message


def test_untrusted_certificate_is_refused(cert: tuple[Path, Path]) -> None:
    with MailCatcher(tls_cert=(str(cert[0]), str(cert[1]))) as server:
        with pytest.raises(MailServerError) as caught:
            check_connection(SmtpServer("localhost", server.port, "starttls", allow_private=True))
        assert caught.value.code == "smtp_tls"


def test_implicit_tls(cert: tuple[Path, Path]) -> None:
    with MailCatcher(tls_cert=(str(cert[0]), str(cert[1])), implicit_tls=True) as server:
        server_config = SmtpServer("localhost", server.port, "tls", allow_private=True, ca_file=str(cert[0]))
        deliver(server_config, [Envelope(message(["c@example.com"]), "pagemail@example.com", ["c@example.com"])])
        assert server.wait_for(1)[0].used_tls


def test_temporary_refusal_is_retried_once_without_duplicates(catcher: MailCatcher) -> None:
    catcher.fail_next(451, "Try again later", stage="RCPT")
    deliver(plain(catcher.port), [Envelope(message(["d@example.com"]), "p@example.com", ["d@example.com"])])
    assert len(catcher.wait_for(1)) == 1
    catcher.fail_next(451, "Busy", stage="DATA")
    deliver(plain(catcher.port), [Envelope(message(["e@example.com"]), "p@example.com", ["e@example.com"])])
    assert len(catcher.wait_for(2)) == 2


def test_repeated_temporary_refusal_is_a_clear_error(catcher: MailCatcher) -> None:
    catcher.fail_next(451, "Busy", stage="DATA", count=2)
    with pytest.raises(MailServerError) as caught:
        deliver(plain(catcher.port), [Envelope(message(["f@example.com"]), "p@example.com", ["f@example.com"])])
    assert caught.value.code == "smtp_temporary"
    assert catcher.messages() == []


def test_refused_recipient_is_reported_and_others_delivered(catcher: MailCatcher) -> None:
    catcher.reject_recipient("nobody@example.com")
    refused = deliver(
        plain(catcher.port),
        [Envelope(message(["g@example.com"]), "p@example.com", ["g@example.com", "nobody@example.com"])],
    )
    assert list(refused) == ["nobody@example.com"] and refused["nobody@example.com"][0] == 550
    assert catcher.wait_for(1)[0].rcpt_tos == ["g@example.com"]


def test_too_large() -> None:
    with MailCatcher(max_message_size=2000) as server:
        with pytest.raises(MailServerError) as caught:
            deliver(
                plain(server.port),
                [Envelope(message(["h@example.com"], size=5000), "p@example.com", ["h@example.com"])],
            )
        assert caught.value.code == "smtp_too_large"


def test_unreachable() -> None:
    with pytest.raises(MailServerError) as caught:
        check_connection(plain(free_port()))
    assert caught.value.code == "smtp_unreachable" and caught.value.stage == "connect"


REFUSED_HOSTS = ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1"]
REFUSED_HOSTS.append("0.0.0.0")  # noqa: S104 (a refused value, not a bind)


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_private_hosts_are_refused_for_tenant_servers(host: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_connection(SmtpServer(host, 587, "starttls"))
    assert caught.value.code == "smtp_host_forbidden"


def test_plain_smtp_is_only_for_local_work() -> None:
    with pytest.raises(ValidationError):
        check_connection(SmtpServer("smtp.example.com", 25, "none"))


def test_streamed_data_is_dot_stuffed_and_arrives_intact(catcher: MailCatcher) -> None:
    """Lines starting with '.' (and a lone '.') must survive SMTP's end-of-data marker, across chunk borders."""
    from mail import smtp_stream

    text = "first\n.\n..two dots\n.leading\nend\n" + ("x" * 70 + "\n.dot after many\n") * 3000
    msg = message(["i@example.com"])
    msg.set_content(text)
    msg.add_attachment(bytes(range(256)) * 4000, maintype="application", subtype="octet-stream", filename="b.bin")
    original = msg.get_body(preferencelist=("plain",)).get_content()
    old_chunk = smtp_stream.CHUNK
    smtp_stream.CHUNK = 1000  # many chunk borders
    try:
        deliver(plain(catcher.port), [Envelope(msg, "p@example.com", ["i@example.com"])])
    finally:
        smtp_stream.CHUNK = old_chunk
    received = catcher.wait_for(1)[0].message()
    got = received.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert got == original, "the text part changed in transit"
    attachment = next(received.iter_attachments())
    assert attachment.get_content() == bytes(range(256)) * 4000


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 57 * 1024, 57 * 1024 + 1, 3_000_001])
def test_deferred_attachments_are_encoded_on_the_wire(catcher: MailCatcher, size: int) -> None:
    from mail.mime import Attachment, build_message
    from mail.render import RenderedMail

    payload = bytes((i * 7 + size) % 256 for i in range(size))
    rendered = RenderedMail(subject="Files", html="<p>Hi</p>", text="Hi", images=[])
    deferred: dict[str, bytes | bytearray] = {}
    msg = build_message(
        rendered,
        from_addr="p@example.com",
        from_name="P",
        reply_to=None,
        to=["j@example.com"],
        cc=[],
        attachments=[Attachment("data.bin", "application/octet-stream", bytearray(payload))],
        defer_attachments_into=deferred,
    )
    assert len(deferred) == 1 and b"data.bin" in msg.as_bytes()  # the message itself holds only a marker
    deliver(plain(catcher.port), [Envelope(msg, "p@example.com", ["j@example.com"], deferred)])
    raw = catcher.wait_for(1)[0].raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    attachment = next(catcher.messages()[0].message().iter_attachments())
    assert attachment.get_filename() == "data.bin"
    assert attachment.get_content() == payload


def test_deferred_inline_images_go_out_as_the_email_package_writes_them(catcher: MailCatcher) -> None:
    from mail.mime import build_message
    from mail.render import InlineImage, RenderedMail

    images = [
        InlineImage(cid=f"img{n}@pagemail", filename=f"shot {n}.png", content_type="image/png", data=data)
        # (a block and a bit of one, exactly two blocks of the stream's base64 encoder, a few lines, nothing)
        for n, data in enumerate([bytes(range(256)) * 300, bytes(range(256)) * 456, b"\x89PNG" + bytes(57 * 3), b""])
    ]
    rendered = RenderedMail(subject="Pictures", html="<p>Hi</p>", text="Hi", images=images)
    kwargs: dict = {"from_addr": "p@example.com", "from_name": "P", "reply_to": None, "to": ["j@example.com"], "cc": []}
    deferred: dict[str, bytes | bytearray] = {}
    streamed = build_message(rendered, **kwargs, defer_attachments_into=deferred)
    assert len(deferred) == len(images)
    assert len(streamed.as_bytes()) < 2000  # the message holds markers, not the images' base64
    deliver(plain(catcher.port), [Envelope(streamed, "p@example.com", ["j@example.com"], deferred)])
    wire = catcher.wait_for(1)[0].raw
    whole = build_message(rendered, **kwargs).as_bytes(policy=streamed.policy.clone(linesep="\r\n"))

    def image_sections(raw: bytes) -> list[bytes]:
        # Each image part from its Content-Type line to the next boundary: headers and base64 lines, byte for byte.
        return [section.split(b"\r\n--", 1)[0] for section in raw.split(b"Content-Type: image/png")[1:]]

    assert image_sections(wire) == image_sections(whole) and len(image_sections(wire)) == len(images)
    received = catcher.messages()[0].message()
    got = [part.get_content() for part in received.walk() if part.get_content_maintype() == "image"]
    assert got == [image.data for image in images]


@pytest.mark.parametrize("stage", ["RCPT", "MAIL"])
def test_a_server_closing_with_421_is_a_temporary_refusal_not_a_crash(catcher: MailCatcher, stage: str) -> None:
    catcher.fail_next(421, "Service not available, closing channel", stage=stage)
    with pytest.raises(MailServerError) as caught:
        deliver(plain(catcher.port), [Envelope(message(["k@example.com"]), "p@example.com", ["k@example.com"])])
    assert caught.value.code == "smtp_temporary" and caught.value.status == 502
    assert catcher.messages() == []


def test_each_mail_of_a_send_is_reported_and_a_refused_one_does_not_stop_the_rest(catcher: MailCatcher) -> None:
    envelopes = [Envelope(message([f"b{n}@example.com"]), "p@example.com", [f"b{n}@example.com"]) for n in range(3)]
    outcomes = transport.deliver_batches(plain(catcher.port), envelopes[:1])
    assert [o.status for o in outcomes] == ["delivered"]
    catcher.fail_next(554, "Message rejected as spam", stage="DATA")
    outcomes = transport.deliver_batches(plain(catcher.port), envelopes[1:])
    assert [o.status for o in outcomes] == ["failed", "delivered"]
    assert outcomes[0].error is not None and outcomes[0].error.code == "smtp_refused"
    assert sorted(a for m in catcher.wait_for(2) for a in m.rcpt_tos) == ["b0@example.com", "b2@example.com"]


def test_after_a_lost_connection_the_remaining_mails_are_not_tried(catcher: MailCatcher) -> None:
    envelopes = [Envelope(message([f"c{n}@example.com"]), "p@example.com", [f"c{n}@example.com"]) for n in range(3)]
    catcher.fail_next(421, "Shutting down", stage="DATA")
    outcomes = transport.deliver_batches(plain(catcher.port), envelopes)
    assert [o.status for o in outcomes] == ["failed", "not_tried", "not_tried"]
    assert catcher.messages() == []


@pytest.mark.parametrize(
    "host",
    [
        "100.64.0.1",
        "100.127.255.254",
        "192.0.0.8",
        "198.18.0.1",
        "2002:7f00:1::1",
        "2002:a9fe:a9fe::1",
        "100.100.100.200",
    ],
)
def test_addresses_that_are_not_global_are_refused(host: str) -> None:
    assert transport.host_problem(host, allow_private=False) is not None
    with pytest.raises(ValidationError) as caught:
        check_connection(SmtpServer(host, 587, "starttls"))
    assert caught.value.code == "smtp_host_forbidden"


@pytest.mark.parametrize(
    "host",
    ["0xa9fea9fe", "2852039166", "::ffff:169.254.169.254", "169.254.170.2", "0251.0376.0251.0376", "[fd00:ec2::254]"],
)
def test_metadata_addresses_in_any_spelling_are_refused_even_with_private_hosts_allowed(host: str) -> None:
    assert transport.host_problem(host, allow_private=True) is not None
    with pytest.raises((ValidationError, MailServerError)) as caught:
        check_connection(SmtpServer(host.strip("[]"), 587, "starttls", allow_private=True))
    assert caught.value.code in ("smtp_host_forbidden", "smtp_unreachable")


def test_a_public_address_is_allowed() -> None:
    assert transport.host_problem("93.184.215.14", allow_private=False) is None
    assert transport.host_problem("smtp.example.com", allow_private=False) is None
