"""Text that may go into a mail header: the one rule shared by the mail builder (mail/mime.py) and the settings
validation (models/settings_update.py), which must not import each other's packages."""

from __future__ import annotations

import re

# Everything str.splitlines() (and so the email package's folding) or a mail reader may take for a line end, and NUL.
LINE_BREAKS = re.compile("[\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# An RFC 2047 encoded word. Python's email package decodes these in header values it is given, and some versions
# (CVE-2024-6923) then write a decoded CR LF as a real line break: an encoded word in a value could add headers.
ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[^?\s]*\?.*?\?=", re.DOTALL)
_DEFUSED = "=\u200b?"  # a zero-width space after "=": reads the same, is no encoded word any more


def unsafe_header_text(value: str) -> bool:
    """Whether text would be refused in a header: a line break of any kind, NUL, or an encoded word."""
    return bool(LINE_BREAKS.search(value) or ENCODED_WORD.search(value))


def header_text(value: str) -> str:
    """Text from elsewhere (a page title, a person's or group's name, a file name) made safe for a header:
    line breaks become spaces and encoded words are defused, so the header shows the text as it was written."""
    flat = " ".join(LINE_BREAKS.sub(" ", value).split())
    return ENCODED_WORD.sub(lambda m: m.group(0).replace("=?", _DEFUSED), flat)
