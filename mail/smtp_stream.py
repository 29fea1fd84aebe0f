"""Send one message over an open SMTP connection, streaming its DATA.

smtplib's `send_message` serialises the whole message into one bytes object and copies it twice more (line
endings, dot-stuffing), and the email package keeps every attachment base64-encoded, line by line: with 20 MB of
attachments that is several times the mail in memory. Here attachments stay raw until they are sent: the message
carries a marker per attachment (mail.mime.build_message(defer_attachments_into=...)), and the writer below
replaces each marker by base64 lines encoded block by block on their way to the socket. The SMTP dialogue and
its exceptions are smtplib's own.
"""

from __future__ import annotations

import binascii
import smtplib
import struct
from collections.abc import Mapping, Sequence
from email.generator import BytesGenerator
from email.message import EmailMessage

from mail.mime import DEFERRED_MARKER

CHUNK = 64 * 1024
DEFERRED_PREFIX = DEFERRED_MARKER.encode("ascii")
BASE64_BLOCK = 57 * 1024  # raw bytes per encoded block: a whole number of 76-character lines
# A whole encoded block cut into its 1,024 lines by one call in C (a slice per line in Python cost twice as long).
_BLOCK_LINES = struct.Struct("76s" * (BASE64_BLOCK // 57))


class _DotStuffingWriter:
    """A file-like target for the generator: CRLF lines in, dot-stuffed chunks out to the socket.

    Each deferred-attachment marker (mail/mime.py) is replaced by that attachment's base64 lines, encoded block
    by block as they go out."""

    def __init__(self, smtp: smtplib.SMTP, deferred: Mapping[str, bytes | bytearray]) -> None:
        self.smtp = smtp
        self.buffer = bytearray()
        self.at_line_start = True
        self.deferred = {marker.encode("ascii"): data for marker, data in deferred.items()}

    def write(self, data: bytes | str) -> int:
        chunk = data.encode("ascii", "surrogateescape") if isinstance(data, str) else bytes(data)
        if not chunk:
            return 0
        if self.deferred and DEFERRED_PREFIX in chunk:
            # The email generator hands over whole part bodies at once; splice each marker's base64 in.
            for marker, raw in self.deferred.items():
                before, found, after = chunk.partition(marker)
                if found:
                    self._write_plain(before)
                    self._write_base64(raw)
                    self.at_line_start = False
                    chunk = after
        self._write_plain(chunk)
        return len(data)

    def _write_plain(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.at_line_start and chunk.startswith(b"."):
            self.buffer += b"."
        self.buffer += chunk.replace(b"\n.", b"\n..")
        self.at_line_start = chunk.endswith(b"\n")
        if len(self.buffer) >= CHUNK:
            self.flush()

    def _write_base64(self, raw: bytes | bytearray) -> None:
        """MIME base64: 76-character lines (57 raw bytes each), CRLF between them, no CRLF after the last."""
        view = memoryview(raw)
        for start in range(0, len(view), BASE64_BLOCK):
            encoded = binascii.b2a_base64(view[start : start + BASE64_BLOCK], newline=False)
            if start:
                self.buffer += b"\r\n"
            if len(encoded) == _BLOCK_LINES.size:
                lines = _BLOCK_LINES.unpack(encoded)
            else:  # the last block
                lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
            self.buffer += b"\r\n".join(lines)
            if len(self.buffer) >= CHUNK:
                self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.smtp.send(bytes(self.buffer))
            self.buffer.clear()

    def finish(self) -> None:
        self.buffer += b".\r\n" if self.at_line_start else b"\r\n.\r\n"
        self.flush()


def send_streaming(
    smtp: smtplib.SMTP,
    message: EmailMessage,
    sender: str,
    recipients: Sequence[str],
    deferred: Mapping[str, bytes | bytearray] | None = None,
) -> dict[str, tuple[int, bytes]]:
    """MAIL, RCPT, DATA like `SMTP.sendmail` (same exceptions, same refused-recipients answer)."""
    smtp.ehlo_or_helo_if_needed()
    international = any(not a.isascii() for a in (sender, *recipients))
    options: list[str] = []
    if international:
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("the mail server does not support internationalised addresses")
        options = ["SMTPUTF8", "BODY=8BITMIME"]
    code, reply = smtp.mail(sender, options)
    if code != 250:
        _recover(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
        if code == 421:
            smtp.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        _recover(smtp, 0)
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        _recover(smtp, code)
        raise smtplib.SMTPDataError(code, reply)
    writer = _DotStuffingWriter(smtp, deferred or {})
    policy = message.policy.clone(linesep="\r\n", utf8=international)
    BytesGenerator(writer, mangle_from_=False, policy=policy).flatten(message, linesep="\r\n")  # type: ignore[arg-type]
    writer.finish()
    code, reply = smtp.getreply()
    if code != 250:
        _recover(smtp, code)
        raise smtplib.SMTPDataError(code, reply)
    return refused


def _recover(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal: 421 means the server is closing; otherwise reset the transaction (as smtplib does)."""
    if code == 421:
        smtp.close()
        return
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass
