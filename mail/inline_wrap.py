"""Width safety for the content column: nothing on a page may make the mail wider than its column, on a phone
(390 px) or on a desktop (the 680 px container).

Three things widen a mail: unbreakable text (a bare URL as link text, a long code token), wide tables and
images. Here, in the content tree before it is sanitised:
- a link whose text is its own long URL shows host + a trimmed path (the href keeps the whole URL);
- long tokens get <wbr> break opportunities (after / . - _ ? & = and at least every 18 characters), so even
  clients without `word-break` can wrap them; copying the text copies no extra characters;
- a table scrolls sideways inside its own box rather than widen the mail; one with many columns gets a
  min-width (per column, capped at the content column) instead of being squeezed into columns a word wide;
- an image is never wider than the cell it sits in (Outlook ignores max-width and would widen the table).
The stylesheet adds `word-wrap: break-word` (overflow-wrap's name every client knows) on the content cell and
`table-layout: fixed` on the container. Not `word-break: break-word`: it lets table columns shrink below their
longest word ("Environme|nt"), and the <wbr> already give long tokens their breaks.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

CONTENT_WIDTH = 640  # px: the mail's content column (680 px container minus padding)
LONG_TOKEN = 24  # characters: shorter words never need help to wrap
BREAK_EVERY = 18  # characters: the longest run without a break opportunity
SHORT_URL = 48  # characters: the longest label a bare URL gets
SCROLL_COLUMN = 90  # px: the narrowest a column of a wide table gets before the table scrolls
SCROLL_FROM_COLUMNS = 5  # fewer columns fit a phone (366 px) without help
CELL_PADDING = 6  # px: cellpadding of content tables (mail/macros.py)

_LONG = re.compile(rf"\S{{{LONG_TOKEN},}}")
_BARE_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_SOFT_BREAK_AFTER = frozenset("/.-_?&=#,;:@+|~\\")
# Elements whose text is not laid out as text (or is already handled).
_SKIP_TEXT = frozenset({"style", "script", "wbr", "br", "img", "table", "tbody", "thead", "tfoot", "tr", "ul", "ol"})


def make_width_safe(root: lxml.html.HtmlElement) -> None:
    """Shorten bare-URL link labels, add break opportunities to long tokens, let wide tables scroll (in place)."""
    for a in root.iter("a"):
        _shorten_bare_url(a)
    for img in root.iter("img"):
        if img.get("width") and not img.get("style"):
            img.set("style", f"width:{img.get('width')}px")  # Apple Mail goes by CSS, Outlook by the attribute
    # Only text long enough to hold a long token is looked at (found by libxml2, not a walk in Python).
    for text in root.xpath(f".//text()[string-length() >= {LONG_TOKEN}]"):
        owner = text.getparent()
        # The longest word, measured in C (str.split and len), before any regex runs over the text.
        long_token = max(map(len, text.split()), default=0) >= LONG_TOKEN
        if long_token and owner is not None and (text.is_tail or owner.tag not in _SKIP_TEXT):
            _break_text(owner, text.is_tail)
    for table in [table for table in root.iter("table") if "confluenceTable" in (table.get("class") or "")]:
        _scroll_if_wide(table)


def short_url_label(url: str) -> str:
    """host/first/…/last, each piece trimmed: what a reader needs to recognise a link, in one short line."""
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return _trim(url, SHORT_URL)
    if not host:
        return _trim(url, SHORT_URL)
    segments = [segment for segment in parts.path.split("/") if segment]
    label = _trim(host, SHORT_URL - 8)
    if len(segments) == 1:
        label += "/" + _trim(segments[0], 20)
    elif segments:
        label += "/" + _trim(segments[0], 12) + "/\N{HORIZONTAL ELLIPSIS}/" + _trim(segments[-1], 20)
    elif parts.query or parts.fragment:
        label += "/\N{HORIZONTAL ELLIPSIS}"
    return _trim(label, SHORT_URL)


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _shorten_bare_url(a: etree._Element) -> None:
    label = ("".join(a.itertext()) if len(a) else a.text or "").strip()
    if len(label) <= SHORT_URL or not _BARE_URL.match(label) or a.find(".//img") is not None:
        return
    for child in list(a):  # formatting inside a bare URL (rare) goes with it
        a.remove(child)
    a.text = short_url_label(label)
    # The text part shows the whole URL instead of the short label (mail/text.py).
    a.set("class", ((a.get("class") or "") + " pm-url").strip())


def break_points(token: str) -> list[int]:
    """Offsets inside a long token where a line may break: after URL-ish punctuation once a few characters have
    passed, and at least every BREAK_EVERY characters. Only between two ASCII characters, so no emoji, accent or
    combining mark is split."""
    points: list[int] = []
    run = 0
    for index in range(1, len(token)):
        run += 1
        before, after = token[index - 1], token[index]
        if not (before.isascii() and after.isascii()):
            continue
        if (before in _SOFT_BREAK_AFTER and run >= 6) or run >= BREAK_EVERY:
            points.append(index)
            run = 0
    return points


def _pieces(text: str) -> list[str]:
    """text split at the break opportunities of its long tokens."""
    pieces: list[str] = []
    start = 0
    for match in _LONG.finditer(text):
        for point in break_points(match.group()):
            pieces.append(text[start : match.start() + point])
            start = match.start() + point
    pieces.append(text[start:])
    return pieces


def _break_text(el: etree._Element, is_tail: bool) -> None:
    pieces = _pieces(el.tail if is_tail else el.text)
    if len(pieces) == 1:
        return
    if is_tail:
        el.tail = pieces[0]
        anchor = el
        for piece in pieces[1:]:
            wbr = etree.Element("wbr")
            wbr.tail = piece
            anchor.addnext(wbr)
            anchor = wbr
        return
    el.text = pieces[0]
    for position, piece in enumerate(pieces[1:]):
        wbr = etree.Element("wbr")
        wbr.tail = piece
        el.insert(position, wbr)


def column_count(table: etree._Element) -> int:
    """Columns of a table: the widest of its first rows (colspans counted)."""
    widest = 0
    for row_number, row in enumerate(_rows(table)):
        if row_number == 3:
            break
        width = 0
        for cell in row:
            if cell.tag in ("td", "th"):
                width += _span(cell.get("colspan"))
        widest = max(widest, width)
    return widest


def _rows(table: etree._Element) -> list[etree._Element]:
    rows: list[etree._Element] = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if row.tag == "tr")
    return rows


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 50))
    except ValueError:
        return 1


def _scroll_if_wide(table: etree._Element) -> None:
    """A table of several columns goes into a box that scrolls sideways: should its words still not fit a phone,
    the table scrolls instead of widening the mail. Many columns also get a width to scroll at."""
    columns = column_count(table)
    if columns < 2 or table.getparent() is None or next(table.iterancestors("table"), None) is not None:
        return
    if columns >= SCROLL_FROM_COLUMNS:
        min_width = min(CONTENT_WIDTH, SCROLL_COLUMN * columns)
        style = (table.get("style") or "").strip().rstrip(";")
        table.set("style", (style + ";" if style else "") + f"min-width:{min_width}px")
    box = etree.Element("div", {"class": "pm-scroll"})
    box.tail, table.tail = table.tail, None
    table.addprevious(box)
    box.append(table)


def available_width(el: etree._Element) -> int:
    """The width (px) el can have where it sits: the content column, divided among the columns of every table
    around it, less cell padding and borders. An estimate (columns are taken as equal), on the safe side."""
    width = CONTENT_WIDTH
    for ancestor in reversed(list(el.iterancestors("td", "th"))):  # outermost first
        row = ancestor.getparent()
        table = next(ancestor.iterancestors("table"), None)
        columns = column_count(table) if table is not None else 1
        if row is not None and columns <= 1:
            columns = sum(_span(cell.get("colspan")) for cell in row if cell.tag in ("td", "th"))
        span = _span(ancestor.get("colspan"))
        padding = 2 * CELL_PADDING + 2 if table is not None and table.get("cellpadding") else 28
        width = max(16, width * span // max(columns, 1) - padding)
    return width
