"""Headers written as text (mail/mime.py: _set_header for the top level, _image_part for images) are byte for byte
what the email package's header registry writes for the same value; every other shape still goes through it."""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address, Group
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from mail import mime
from mail.mime import POLICY, HeaderInjectionError, _image_part, _set_header, build_message, readdress
from mail.render import InlineImage, RenderedMail

MailboxValue = Address | Group | list[Address | Group] | str


def _written(name: str, value: MailboxValue, direct: bool) -> tuple[bytes, bool]:
    message = EmailMessage(policy=POLICY)
    if direct:
        _set_header(message, name, value)
    else:
        message[name] = value
    raw = dict(message.raw_items())[name]
    return message.as_bytes(), type(raw) is str  # header objects are str subclasses


def _assert_same(name: str, value: MailboxValue) -> bool:
    direct, as_text = _written(name, value, direct=True)
    registry, _ = _written(name, value, direct=False)
    assert direct == registry, (name, value)
    return as_text


PLAIN_ADDRESSES = [
    Address(addr_spec="bob@example.com"),
    Address(display_name="Ann Example", addr_spec="ann@example.com"),
    Address(display_name="Ann Example via pagemail", addr_spec="pagemail@mail.acme-corp.example"),
    Address(addr_spec="first.last+tag@sub.example.co.uk"),
    Address(display_name="O'Brien", addr_spec="o'brien@example.org"),
    Address(display_name="x", addr_spec="a#b$c%d&e*f/g^h_i`j{k|l}m~n-o@x.io"),
]
ODD_ADDRESSES = [
    Address(display_name="Zoë Ünder", addr_spec="zoe@example.com"),  # RFC 2047
    Address(display_name="Smith, John", addr_spec="john@example.com"),  # quoted
    Address(display_name="J. Smith", addr_spec="j@example.com"),  # "." is special: quoted
    Address(display_name="Ann  Example", addr_spec="ann@example.com"),
    Address(display_name="=?utf-8?q?x?=", addr_spec="ann@example.com"),
    Address(display_name="A" * 70, addr_spec="long@example.com"),  # folded
    Address(addr_spec='"quoted local"@example.com'),
    Address(addr_spec="user@[192.0.2.1]"),
    Address(addr_spec="joerg@bücher.example"),
]


@pytest.mark.parametrize("address", PLAIN_ADDRESSES, ids=str)
def test_plain_addresses_are_written_as_text_exactly_as_the_registry_writes_them(address: Address) -> None:
    assert _assert_same("From", address)
    assert _assert_same("Reply-To", address)


@pytest.mark.parametrize("address", ODD_ADDRESSES, ids=repr)
def test_addresses_that_need_quoting_encoding_or_folding_go_through_the_registry(address: Address) -> None:
    assert not _assert_same("From", address)


def test_recipient_lists_and_empty_groups() -> None:
    plain = [Address(addr_spec="bob@example.com"), Group("engineering"), Address(addr_spec="c@example.com")]
    assert _assert_same("To", plain)
    assert _assert_same("To", [Group("undisclosed-recipients")])
    assert _assert_same("Cc", [Group("release team")])
    assert not _assert_same("To", [Group("Entwicklung & Qualität")])
    assert not _assert_same("To", [Group("a.b")])
    many = [Address(addr_spec=f"person{n}@example.com") for n in range(8)]  # longer than a line: folded
    assert not _assert_same("To", many)
    assert not _assert_same("Cc", [*plain, Group("Zoë's group")])


def test_subjects_dates_and_message_ids_match_the_registry() -> None:
    for subject in ["[Confluence] Benchmark page", "a", "Re: 50% off! (really) <b> #1 @home; x=1", "S" * 69]:
        assert _assert_same("Subject", subject)
    for subject in ["S" * 70, "Grüße", "=?utf-8?q?hi?=", "two  spaces", ""]:
        assert not _assert_same("Subject", subject)
    moment = datetime(2026, 12, 4, 22, 9, 33, tzinfo=UTC)
    for step in range(0, 400, 37):
        assert _assert_same("Date", format_datetime(moment + timedelta(days=step, seconds=step * 997)))
    for domain in ["pagemail.local", "mail.acme.example", "x"]:
        assert _assert_same("Message-ID", make_msgid(domain=domain))


def test_random_printable_ascii_values_write_the_same_either_way() -> None:
    rng = random.Random(2047)
    atext = string.ascii_letters + string.digits + "!#$%&'*+/^_`{|}~-"
    taken = 0
    for _ in range(400):
        words = ["".join(rng.choices(string.printable[:94], k=rng.randint(1, 9))) for _ in range(rng.randint(1, 6))]
        taken += _assert_same("Subject", " ".join(words))
        name = " ".join("".join(rng.choices(atext + ".,;<>@ ", k=rng.randint(1, 8))) for _ in range(rng.randint(1, 3)))
        local = ".".join("".join(rng.choices(atext, k=rng.randint(1, 6))) for _ in range(rng.randint(1, 3)))
        domain = ".".join("".join(rng.choices(string.ascii_lowercase + "0", k=rng.randint(1, 8))) for _ in range(2))
        address = Address(display_name=" ".join(name.split()), addr_spec=f"{local}@{domain}")
        taken += _assert_same("From", address)
        taken += _assert_same("To", [address, Group(" ".join(name.split()) or "group")])
    assert taken > 400  # the direct path was exercised, not only the fallback


def _mail() -> RenderedMail:
    return RenderedMail(subject="Hello", html="<p>Hi</p>", text="Hi", images=[])


def test_a_built_message_reads_back_its_recipients_and_readdress_keeps_one_header_each() -> None:
    message = build_message(
        _mail(),
        from_addr="pagemail@example.com",
        from_name="Ann Example via pagemail",
        reply_to="ann@example.com",
        to=["bob@example.com"],
        cc=[],
    )
    assert [a.addr_spec for a in message["To"].addresses] == ["bob@example.com"]
    assert message["From"].addresses[0].display_name == "Ann Example via pagemail"
    assert message["Subject"] == "Hello"
    first_id = message["Message-ID"]
    readdress(message, to=["carol@example.com"], cc=["dan@example.com"], message_id_domain="mail.example")
    assert [a.addr_spec for a in message["Cc"].addresses] == ["dan@example.com"]
    assert message["Message-ID"] != first_id and message["Message-ID"].endswith("@mail.example>")
    head = message.as_bytes().split(b"\n\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0] for line in head.split("\n") if not line.startswith((" ", "\t"))]
    assert names.count("To") == names.count("Cc") == names.count("Message-ID") == 1
    with pytest.raises(HeaderInjectionError):
        readdress(message, to=["carol@example.com"], cc=[], message_id_domain="x\r\nBcc: eve@example.com")


def test_image_parts_with_any_printable_file_name_are_written_as_the_email_package_writes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(1522)
    names = ["MicrosoftTeams-image (37).png", "image-20240621-200218.png", "a;b=c?.png", "x" * 40]
    allowed = string.ascii_letters + string.digits + " ._+-()!#$%&'*,/:;<=>?@[]^`{|}~"
    names += [
        rng.choice(string.ascii_letters) + "".join(rng.choices(allowed, k=rng.randint(0, 39))) for _ in range(300)
    ]
    for name in names:
        image = InlineImage(
            cid="img1.0123456789abcdef@pagemail", content_type="image/png", data=b"\x89PNG", filename=name
        )
        direct = _image_part(image)
        assert type(dict(direct.raw_items())["Content-Disposition"]) is str  # the direct way was taken
        with monkeypatch.context() as patch:
            patch.setattr(mime, "_PLAIN_FILENAME", re.compile("(?!)"))  # the email package writes every header
            registry = _image_part(image)
        assert direct.as_bytes() == registry.as_bytes(), name


def test_addresses_of_plain_shape_are_taken_apart_as_the_email_package_parses_them() -> None:
    rng = random.Random(5322)
    atext = string.ascii_letters + string.digits + "!#$%&'*+/^_`{|}~-"
    specs = [address.addr_spec for address in PLAIN_ADDRESSES]
    for _ in range(300):
        local = ".".join("".join(rng.choices(atext, k=rng.randint(1, 6))) for _ in range(rng.randint(1, 3)))
        labels = ("".join(rng.choices(string.ascii_lowercase + "09", k=rng.randint(1, 8))) for _ in range(2))
        specs.append(f"{local}@{'.'.join(labels)}")
    for spec in specs:
        for name in ["", "Ann Example", "Zoë Ünder", "Smith, John"]:
            built = mime._address(f" {spec} ", "from address", name)
            assert built == Address(display_name=name, addr_spec=spec), spec
            assert built.addr_spec == spec


def test_multipart_content_types_are_written_as_the_email_package_folds_them() -> None:
    image = InlineImage(
        cid="img1.0123456789abcdef@pagemail", content_type="image/png", data=b"\x89PNG", filename="a.png"
    )
    rendered = RenderedMail(subject="Hello", html="<p>Hi</p>", text="Hi", images=[image])
    message = build_message(
        rendered, from_addr="a@example.com", from_name="", reply_to=None, to=["b@example.com"], cc=[]
    )
    ours = message.as_bytes()
    multiparts = [part for part in message.walk() if part.is_multipart()]
    assert [part.get_content_type() for part in multiparts] == ["multipart/alternative", "multipart/related"]
    for part in multiparts:
        value = dict(part.raw_items())["Content-Type"]
        assert type(value) is str and "\n" in value  # stored folded: written as it is
        part.replace_header("Content-Type", value.replace("\n", ""))  # the one-line value: the package folds it
    assert message.as_bytes() == ours
    assert all(part.get_boundary() for part in multiparts)
