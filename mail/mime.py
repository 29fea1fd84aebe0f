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
from mail.render import InlineImage, RenderedMail

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
    interpreter's email package does with a value, a mail with an extra header line is never sent. (The stored
    values are what the generator folds and writes: header objects, or the exact text of a header set raw.)"""
    for name, value in message.raw_items():
        folded = POLICY.fold(name, value)
        lines = folded.split("\n")
        if lines[-1] != "" or any(not line.startswith((" ", "\t")) for line in lines[1:-1]) or "\r" in folded:
            raise HeaderInjectionError(f"header {name} would be written as more than one header")


def _address(addr_spec: str, what: str, display_name: str = "") -> Address:
    _check(addr_spec, what)
    display_name = header_text(display_name)
    addr_spec = addr_spec.strip()
    if _PLAIN_ADDR_SPEC.fullmatch(addr_spec):
        # A dot-atom on both sides: its parts are what the email package's parser would find (without running it).
        username, _, domain = addr_spec.rpartition("@")
        return Address(display_name=display_name, username=username, domain=domain)
    try:
        return Address(display_name=display_name, addr_spec=addr_spec)
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
    _set_header(message, "To", to if to else [Group("undisclosed-recipients")])
    if cc:
        _set_header(message, "Cc", cc)


# Top-level headers of the usual shapes (plain ASCII names and addresses, a short ASCII subject, on one line) are
# stored as the exact text the email package writes for them: parsing each value through the header registry was
# most of the cost of assembling a small mail. Anything else (non-ASCII, quoting, encoded words, folding) goes through
# the registry as before; tests/mail/test_mime_headers.py checks that both ways write the same bytes.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"  # RFC 5322 atext without "=" and "?" (no encoded word can start)
_PLAIN_PHRASE = re.compile(rf"{_ATEXT}(?: {_ATEXT})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_DOMAIN = re.compile(_LABEL + r"(?:\." + _LABEL + ")*")
_PLAIN_ADDR_SPEC = re.compile(_ATEXT + r"(?:\." + _ATEXT + ")*@" + _PLAIN_DOMAIN.pattern)
_PLAIN_UNSTRUCTURED = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII words, single spaces
_MAX_LINE = 78  # the email package folds (rewrites) a longer line


def _plain_mailbox(value: Address | Group) -> str | None:
    """The header text of an address or an empty group, when it needs no quoting or encoding; else None."""
    if isinstance(value, Group):
        name = value.display_name
        plain = not value.addresses and name is not None and _PLAIN_PHRASE.fullmatch(name)
        return f"{name}:;" if plain else None
    if not _PLAIN_ADDR_SPEC.fullmatch(value.addr_spec):
        return None
    if not value.display_name:
        return value.addr_spec
    return f"{value.display_name} <{value.addr_spec}>" if _PLAIN_PHRASE.fullmatch(value.display_name) else None


def _set_header(message: EmailMessage, name: str, value: Address | Group | list[Address | Group] | str) -> None:
    """message[name] = value, stored as its written text when it has a plain shape (see above)."""
    if isinstance(value, str):
        text: str | None = value if _PLAIN_UNSTRUCTURED.fullmatch(value) and "=?" not in value else None
    else:
        shown = [_plain_mailbox(item) for item in (value if isinstance(value, list) else [value])]
        text = None if None in shown else ", ".join(shown)  # type: ignore[arg-type]
    if text is not None and len(name) + 2 + len(text) <= _MAX_LINE:
        message.set_raw(name, text)
    else:
        message[name] = value


def _quoted_printable(text: str) -> str:
    """UTF-8, quoted-printable, lines of at most 76 characters. (The email package's own encoder does
    the same in pure Python and is several times slower on a large page; binascii's is C.)"""
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True).decode("ascii")


def _base64_lines(data: bytes | bytearray) -> str:
    """MIME base64 in 76-character lines, encoded in C in one go and cut into lines by slicing. (The email package
    encodes 57 bytes at a time in Python, which dominated the time to build a message with a page's images.)"""
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
    return "\n".join([encoded[start : start + 76] for start in range(0, len(encoded), 76)])


# Part headers the message writes itself are stored as the exact text the email package would write for them (what
# its parser stores for a received mail): building a header object per part header was most of the cost of
# assembling a message. Only values of these shapes take that path; anything else goes through the header registry.
_TOKEN_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
_PLAIN_CID = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,64}")
# Printable ASCII but for the quote and the backslash (header_text has made spaces single); the name is always
# written quoted, so spaces, parentheses and the like ("MicrosoftTeams-image (37).png") need nothing more.
_PLAIN_FILENAME = re.compile(r"[A-Za-z0-9][ !#-\[\]-~]{0,39}")


def _leaf(headers: list[tuple[str, str]], payload: str) -> EmailMessage:
    part = EmailMessage(policy=POLICY)
    for name, value in headers:
        part.set_raw(name, value)
    part.set_payload(payload)
    return part


def _multipart(headers: list[tuple[str, str]], parts: list[EmailMessage]) -> EmailMessage:
    holder = EmailMessage(policy=POLICY)
    for name, value in headers:
        holder.set_raw(name, value)
    holder.set_payload(parts)  # type: ignore[arg-type]
    return holder


def _text_headers(subtype: str) -> list[tuple[str, str]]:
    # Quoted-printable keeps both parts 7-bit clean for any relay, whatever the page's language.
    return [("Content-Transfer-Encoding", "quoted-printable"), ("Content-Type", f'text/{subtype}; charset="utf-8"')]


def _deferred(data: bytes | bytearray, into: MutableMapping[str, bytes | bytearray]) -> str:
    """A one-line marker in place of a body that the SMTP stream base64-encodes from `data` as it sends."""
    marker = f"{DEFERRED_MARKER}{secrets.token_hex(16)}"
    into[marker] = data
    return marker


def _image_part(image: InlineImage, defer_into: MutableMapping[str, bytes | bytearray] | None = None) -> EmailMessage:
    maintype, subtype = _split_type(image.content_type, "image content type")
    if maintype != "image":
        raise ValueError("inline parts must be images")
    _check(image.cid, "image Content-ID")
    filename = header_text(image.filename) or "image"
    content_type = f"{maintype}/{subtype}"
    if _TOKEN_TYPE.fullmatch(content_type) and _PLAIN_CID.fullmatch(image.cid) and _PLAIN_FILENAME.fullmatch(filename):
        return _leaf(
            [
                ("Content-Type", content_type),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", f'inline; filename="{filename}"'),
                ("Content-ID", f"<{image.cid}>"),
                ("MIME-Version", "1.0"),
            ],
            _base64_lines(image.data) if defer_into is None else _deferred(image.data, defer_into),
        )
    # Any other name or type: the email package writes (and encodes) the headers, in the same order.
    part = EmailMessage(policy=POLICY)
    part.set_content(
        _base64_lines(image.data).encode("ascii"),
        maintype=maintype,
        subtype=subtype,
        cte="7bit",
        cid=f"<{image.cid}>",
        disposition="inline",
        filename=filename,
    )
    part.replace_header("Content-Transfer-Encoding", "base64")
    return part


def _body(
    rendered: RenderedMail, defer_into: MutableMapping[str, bytes | bytearray] | None = None
) -> tuple[list[tuple[str, str]], list[EmailMessage]]:
    """The alternative part's content headers and its parts: text/plain, then text/html (in multipart/related
    with the images when there are any). The same parts, headers and order as EmailMessage.set_content,
    add_alternative and add_related give."""
    text = _leaf(_text_headers("plain"), _quoted_printable(rendered.text))
    html_payload = _quoted_printable(rendered.html)
    if not rendered.images:
        html = _leaf([*_text_headers("html"), ("MIME-Version", "1.0")], html_payload)
    else:
        parts = [_leaf(_text_headers("html"), html_payload)]
        parts.extend(_image_part(image, defer_into) for image in rendered.images)
        html = _multipart([("MIME-Version", "1.0"), ("Content-Type", _with_boundary("multipart/related"))], parts)
    return [("Content-Type", _with_boundary("multipart/alternative"))], [text, html]


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

    With `defer_attachments_into`, each attachment's body, and each plain-shaped inline image's, is a one-line
    marker and the mapping receives marker → bytes: the SMTP stream (mail/smtp_stream.py) base64-encodes the bytes
    as it sends, so a large file is never held encoded in memory (the email package would hold it several times
    over) and the generator does not write its base64 line by line. The bytes on the wire are the same."""
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
    _set_header(msg, "From", sender)
    _set_recipients(msg, to_addresses, cc_addresses)
    if reply is not None:
        _set_header(msg, "Reply-To", reply)
    _set_header(msg, "Subject", subject)
    _set_header(msg, "Date", format_datetime(datetime.now(UTC)))
    _set_message_id(msg, message_id_domain)
    for name, value in extras:
        msg[name] = value
    msg.set_raw("MIME-Version", "1.0")

    content_headers, parts = _body(rendered, defer_attachments_into)
    for name, value in content_headers:
        msg.set_raw(name, value)
    msg.set_payload(parts)  # type: ignore[arg-type]
    for attachment in attachments:
        maintype, subtype = _split_type(attachment.content_type, "attachment content type")
        filename = header_text(attachment.filename) or "attachment"
        if defer_attachments_into is not None:
            marker = _deferred(attachment.data, defer_attachments_into)
            msg.add_attachment(b"", maintype=maintype, subtype=subtype, filename=filename)
            part = msg.get_payload()[-1]
            part.set_payload(marker + "\n")
            continue
        # Bytes in, base64 out: text attachments are never re-encoded (their charset is unknown here).
        msg.add_attachment(bytes(attachment.data), maintype=maintype, subtype=subtype, filename=filename)
    if attachments:
        msg.set_boundary(_boundary())  # the multipart/mixed that add_attachment made
    _checked_headers(msg)
    return msg


def _boundary() -> str:
    """A random boundary, in the email package's form, chosen when the multipart is built: without one the generator
    searches the whole serialised mail (megabytes of base64) for a clash on every send. 63 random bits no part can
    hold by chance or by design (base64 and quoted-printable text never contain a run of "=")."""
    return f"{'=' * 15}{secrets.randbits(63):019d}=="


def _with_boundary(content_type: str) -> str:
    """The multipart's Content-Type with a new boundary, folded before the boundary as the email package folds it
    (the line would be over 78 characters): stored folded, the header is written as it is, not parsed and refolded
    every time the message is checked or sent."""
    return f'{content_type};\n boundary="{_boundary()}"'


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
    _check(message_id_domain, "message_id_domain")
    for name in ("To", "Cc", "Message-ID"):
        del message[name]
    _set_recipients(message, to_addresses, cc_addresses)
    _set_message_id(message, message_id_domain)
    _checked_headers(message)


def _set_message_id(message: EmailMessage, domain: str) -> None:
    domain = domain.strip() or "pagemail.local"
    message_id = make_msgid(domain=domain)
    if _PLAIN_DOMAIN.fullmatch(domain):
        _set_header(message, "Message-ID", message_id)
    else:
        message["Message-ID"] = message_id
