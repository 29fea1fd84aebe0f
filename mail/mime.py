"""The MIME message for a rendered mail.

    multipart/mixed                      (only with attachments)
      multipart/alternative
        text/plain
        multipart/related                (only with inline images)
          text/html
          image/* (Content-ID)…
      attachments…

Bcc is never a header: the caller passes Bcc recipients only to the SMTP envelope. To and Cc take addresses and
group labels: a group is written as an empty RFC 5322 group (`engineering: ;`), naming it without its members.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address, BaseHeader, Group, HeaderRegistry
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid

from header_text import header_text, unsafe_header_text
from mail.render import RenderedMail

# Headers build_message writes itself (or must never write); extra_headers may not set them.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-id",
        "return-path",
    }
)


class _CachingHeaderRegistry(HeaderRegistry):
    """The standard header classes, built once per header name: the stock registry builds a new class
    for every header it parses, which is most of the cost of assembling a message."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


POLICY = default_policy.clone(header_factory=_CachingHeaderRegistry())
DEFERRED_MARKER = "pagemail-deferred-attachment-"


class HeaderInjectionError(ValueError):
    """A header value (or name) contains CR, LF or NUL, or tries to set a header it may not."""


@dataclass(frozen=True)
class GroupLabel:
    """A Confluence group named in To/Cc in place of its members' addresses."""

    name: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes | bytearray


def _check(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str")
    if unsafe_header_text(value):
        raise HeaderInjectionError(f"{what} contains a line break, a NUL character or an encoded word")
    return value


def _checked_headers(message: EmailMessage) -> None:
    """Every header, as it will be written, is one header: its folded lines all continue it. Whatever the
    interpreter's email package does with a value, a mail with an extra header line is never sent."""
    for name, value in message.items():
        folded = POLICY.fold(name, value)
        lines = folded.split("\n")
        if lines[-1] != "" or any(not line.startswith((" ", "\t")) for line in lines[1:-1]) or "\r" in folded:
            raise HeaderInjectionError(f"header {name} would be written as more than one header")


def _address(addr_spec: str, what: str, display_name: str = "") -> Address:
    _check(addr_spec, what)
    display_name = header_text(display_name)
    try:
        return Address(display_name=display_name, addr_spec=addr_spec.strip())
    except (ValueError, IndexError, HeaderParseError) as exc:  # the email parser raises several kinds
        raise ValueError(f"{what} is not a valid email address") from exc


def _recipients(values: Sequence[str | GroupLabel], what: str) -> list[Address | Group]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a sequence of addresses, not a single string")
    shown: list[Address | Group] = []
    for value in values:
        if isinstance(value, GroupLabel):
            shown.append(Group(display_name=header_text(value.name) or "group"))
        else:
            shown.append(_address(value, f"{what} address"))
    return shown


def _set_recipients(message: EmailMessage, to: list[Address | Group], cc: list[Address | Group]) -> None:
    """To and Cc; with neither, an empty group keeps the To header valid without naming anyone."""
    message["To"] = to if to else Group("undisclosed-recipients")
    if cc:
        message["Cc"] = cc


def _quoted_printable(text: str) -> bytes:
    """UTF-8, quoted-printable, lines of at most 76 characters. (The email package's own encoder does
    the same in pure Python and is several times slower on a large page; binascii's is C.)"""
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)


_BASE64_LINE = re.compile(rb"(.{76})")


def _base64_lines(data: bytes | bytearray) -> bytes:
    """MIME base64 in 76-character lines, encoded in C. (The email package encodes 57 bytes at a time in
    Python, which dominated the time to build a message with a page's images.)"""
    return _BASE64_LINE.sub(rb"\1\n", binascii.b2a_base64(data, newline=False)).rstrip(b"\n")


def _split_type(content_type: str, what: str) -> tuple[str, str]:
    _check(content_type, what)
    maintype, _, subtype = content_type.strip().lower().partition("/")
    if not maintype or not subtype or any(c in content_type for c in ' ;"\\'):
        raise ValueError(f"{what} must look like type/subtype")
    return maintype, subtype


def build_message(
    rendered: RenderedMail,
    *,
    from_addr: str,
    from_name: str,
    reply_to: str | None,
    to: Sequence[str | GroupLabel],
    cc: Sequence[str | GroupLabel],
    attachments: Sequence[Attachment] = (),
    message_id_domain: str = "pagemail.local",
    extra_headers: Mapping[str, str] = {},
    defer_attachments_into: MutableMapping[str, bytes | bytearray] | None = None,
) -> EmailMessage:
    """Assemble the message. Raises HeaderInjectionError for CR/LF/NUL in any header value and
    ValueError for malformed addresses or content types.

    With `defer_attachments_into`, each attachment's body is a one-line marker and the mapping receives
    marker → bytes: the SMTP stream (mail/smtp_stream.py) base64-encodes the bytes as it sends, so a large
    attachment is never held encoded in memory (the email package would hold it several times over)."""
    subject = header_text(rendered.subject)
    _check(message_id_domain, "message_id_domain")
    sender = _address(from_addr, "from address", from_name)
    reply = _address(reply_to, "reply-to address") if reply_to else None
    to_addresses = _recipients(to, "to")
    cc_addresses = _recipients(cc, "cc")
    extras: list[tuple[str, str]] = []
    for name, value in extra_headers.items():
        _check(name, "header name")
        _check(value, f"header {name}")
        if not name or ":" in name or any(not 33 <= ord(c) <= 126 for c in name):
            raise HeaderInjectionError("header name must be printable ASCII without spaces or colons")
        if name.lower() in _RESERVED_HEADERS:
            raise HeaderInjectionError(f"header {name} may not be set through extra_headers")
        extras.append((name, value))

    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    _set_recipients(msg, to_addresses, cc_addresses)
    if reply is not None:
        msg["Reply-To"] = reply
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=message_id_domain.strip() or "pagemail.local")
    for name, value in extras:
        msg[name] = value

    # Quoted-printable keeps both parts 7-bit clean for any relay, whatever the page's language.
    msg.set_content(
        _quoted_printable(rendered.text),
        maintype="text",
        subtype="plain",
        cte="7bit",
        params={"charset": "utf-8"},
    )
    msg.replace_header("Content-Transfer-Encoding", "quoted-printable")
    msg.add_alternative(
        _quoted_printable(rendered.html),
        maintype="text",
        subtype="html",
        cte="7bit",
        params={"charset": "utf-8"},
    )
    msg.get_payload()[1].replace_header("Content-Transfer-Encoding", "quoted-printable")
    if rendered.images:
        html_part = msg.get_payload()[1]
        for image in rendered.images:
            maintype, subtype = _split_type(image.content_type, "image content type")
            if maintype != "image":
                raise ValueError("inline parts must be images")
            _check(image.cid, "image Content-ID")
            html_part.add_related(
                _base64_lines(image.data),
                maintype=maintype,
                subtype=subtype,
                cte="7bit",
                cid=f"<{image.cid}>",
                disposition="inline",
                filename=header_text(image.filename) or "image",
            )
            html_part.get_payload()[-1].replace_header("Content-Transfer-Encoding", "base64")
    for attachment in attachments:
        maintype, subtype = _split_type(attachment.content_type, "attachment content type")
        filename = header_text(attachment.filename) or "attachment"
        if defer_attachments_into is not None:
            marker = f"{DEFERRED_MARKER}{secrets.token_hex(16)}"
            defer_attachments_into[marker] = attachment.data
            msg.add_attachment(b"", maintype=maintype, subtype=subtype, filename=filename)
            part = msg.get_payload()[-1]
            part.set_payload(marker + "\n")
            continue
        # Bytes in, base64 out: text attachments are never re-encoded (their charset is unknown here).
        msg.add_attachment(bytes(attachment.data), maintype=maintype, subtype=subtype, filename=filename)
    _checked_headers(msg)
    return msg


def readdress(
    message: EmailMessage,
    *,
    to: Sequence[str | GroupLabel],
    cc: Sequence[str | GroupLabel],
    message_id_domain: str,
) -> None:
    """Point an assembled message at another batch of visible recipients, with a Message-ID of its own.

    A send split into several mails reuses one assembled message (its parts are the bulk of the memory)."""
    to_addresses = _recipients(to, "to")
    cc_addresses = _recipients(cc, "cc")
    for name in ("To", "Cc", "Message-ID"):
        del message[name]
    _set_recipients(message, to_addresses, cc_addresses)
    message["Message-ID"] = make_msgid(
        domain=_check(message_id_domain, "message_id_domain").strip() or "pagemail.local"
    )
    _checked_headers(message)
