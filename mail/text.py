"""The text/plain alternative, written from the tree the HTML part is serialised from (restricted to what the
allowlist keeps, mail/sanitize.py), so the page is parsed once for both.

Headings become "# …", lists "- …" / "1. …", links "text <url>", table rows "Header: value" lines (short rows
of a table without headers " | "-joined), struck text "~~…~~", images "[image: alt]", code blocks stay
verbatim; paragraphs are wrapped at 76 columns.
"""

from __future__ import annotations

import re
import textwrap
from functools import lru_cache

import lxml.html

WIDTH = 76
# Deeper than this, an element is flattened to its text (keeps recursion bounded on hostile input).
MAX_DEPTH = 120

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "pre",
        "blockquote",
        "hr",
        "dl",
        "dt",
        "dd",
        "caption",
        "center",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "figure",
        "figcaption",
        "details",
        "summary",
        "address",
    }
)
_LIST_TAGS = frozenset({"ul", "ol"})
# Inline text keeps its source whitespace until a paragraph is finished; <br> is marked with NUL,
# which cannot occur in the text (parse_fragment removes control characters).
_BREAK = "\x00"
_STRUCK = re.compile(r"^(\s*)(.*?)(\s*)$", re.DOTALL)


def _collapse(text: str) -> str:
    return " ".join(text.replace(_BREAK, " ").split())


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Greedy word wrap of single-spaced text, as textwrap does it with these settings but found by one regex (a
    page's table cells are many short paragraphs). URLs and long words stay whole: a broken URL is worse than a
    long line. Lines after the first get `indent`."""
    width = max(width, 20)
    if len(text) <= width:
        return [text]
    lines = _line_pattern(width).findall(text)
    if indent and len(lines) > 1:
        rest = text[len(lines[0]) :].lstrip(" ")
        lines = [lines[0]] + [indent + line for line in _line_pattern(width - len(indent)).findall(rest)]
    return lines


@lru_cache(maxsize=64)
def _line_pattern(width: int) -> re.Pattern[str]:
    # As much as fits before a space (or the end), else one word however long.
    return re.compile(rf"\S.{{0,{width - 1}}}(?= |$)|\S+")


class _Renderer:
    def __init__(self, image_word: str) -> None:
        self.image_word = image_word

    # -- blocks: each returns a list of lines ---------------------------------------------------------
    def children(self, el: lxml.html.HtmlElement, width: int, depth: int, tight: bool = False) -> list[str]:
        # Called for every block of a page: running text is gathered in `inline` and written out as a paragraph
        # before each block and at the end.
        out: list[str] = []
        inline: list[str] = []
        if el.text:
            inline.append(el.text)
        for child in el:
            tag = child.tag
            if isinstance(tag, str):  # the HTML parser lower-cases tags
                if tag in _BLOCK_TAGS:
                    if inline:
                        _add_block(out, self.paragraph("".join(inline), width), tight)
                        inline.clear()
                    _add_block(out, self.block(child, tag, width, depth + 1), tight)
                else:
                    self.collect(child, inline, depth + 1)
            if child.tail:
                inline.append(child.tail)
        if inline:
            _add_block(out, self.paragraph("".join(inline), width), tight)
        return out

    def paragraph(self, raw: str, width: int) -> list[str]:
        if _BREAK not in raw:  # most paragraphs: one line of running text (or only whitespace between blocks)
            text = " ".join(raw.split())
            return _wrap(text, width) if text else []
        lines: list[str] = []
        for segment in raw.split(_BREAK):
            text = " ".join(segment.split())
            lines.extend(_wrap(text, width) if text else [""])
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def block(self, el: lxml.html.HtmlElement, tag: str, width: int, depth: int) -> list[str]:
        if depth > MAX_DEPTH:
            return self.paragraph(el.text_content(), width)
        if tag == "p" or tag == "div":  # most blocks, and none of the cases below
            if not len(el):  # plain text only: the paragraph children() would make of it
                return self.paragraph(el.text, width) if el.text else []
            return self.children(el, width, depth)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = _collapse(self.inline(el, depth))
            return ["#" * int(tag[1]) + " " + text] if text else []
        if tag == "pre":
            lines = [line.rstrip() for line in el.text_content().expandtabs(4).split("\n")]
            while lines and not lines[0]:
                lines.pop(0)
            while lines and not lines[-1]:
                lines.pop()
            return lines
        if tag == "hr":
            return ["----"]
        if tag in _LIST_TAGS:
            return self.list_lines(el, tag, width, depth)
        if tag == "li":
            return self.item_lines(el, "- ", width, depth)
        if tag == "table":
            cell = _single_cell(el)
            if cell is not None and "pm-cell-code" in (cell.get("class") or ""):
                return _code_lines(cell)
            if cell is not None:  # a panel or a layout table: its content, not a one-column row
                return self.children(cell, width, depth + 1)
            return self.table_lines(el, width, depth)
        if tag in ("tr", "thead", "tbody", "tfoot"):
            return self.table_lines(el, width, depth)
        if tag == "blockquote":
            return ["> " + line if line else ">" for line in self.children(el, width - 2, depth)]
        if tag == "dd":
            return ["    " + line if line else "" for line in self.children(el, width - 4, depth)]
        return self.children(el, width, depth)

    def list_lines(self, el: lxml.html.HtmlElement, tag: str, width: int, depth: int) -> list[str]:
        lines: list[str] = []
        number = _start(el)
        for child in el:
            child_tag = child.tag.lower() if isinstance(child.tag, str) else ""
            if child_tag == "li":
                marker = f"{number}. " if tag == "ol" else "- "
                number += 1
                lines.extend(self.item_lines(child, marker, width, depth + 1))
            elif child_tag in _LIST_TAGS:  # Confluence nests task lists directly in lists
                nested = self.block(child, child_tag, width - 2, depth + 1)
                lines.extend("  " + line if line else "" for line in nested)
        return lines

    def item_lines(self, el: lxml.html.HtmlElement, marker: str, width: int, depth: int) -> list[str]:
        body = self.children(el, width - len(marker), depth, tight=True)
        if not body:
            return []
        pad = " " * len(marker)
        return [marker + body[0]] + [pad + line if line else "" for line in body[1:]]

    def table_lines(self, el: lxml.html.HtmlElement, width: int, depth: int) -> list[str]:
        """A table as text a phone can show: with a header row, each row becomes "Header: value" lines; a row
        headed by its first cell, "Row header: value"; a row of short cells stays one "a | b" line. Cells keep
        their paragraphs and lists."""
        lines: list[str] = []
        rows: list[lxml.html.HtmlElement] = []
        for child in el if el.tag == "table" else [el]:
            tag = child.tag.lower() if isinstance(child.tag, str) else ""
            if tag == "caption":
                caption = _collapse(self.inline(child, depth + 1))
                if caption:
                    lines.append(caption)
            elif tag in ("thead", "tbody", "tfoot"):
                rows.extend(row for row in child.iterchildren("tr"))
            elif tag == "tr":
                rows.append(child)
        first = list(rows[0].iterchildren("td", "th")) if rows else []
        headers: list[str] = []
        if len(rows) > 1 and first and all(_heading(cell) for cell in first):
            for cell in first:
                headers.extend([_collapse(self.inline(cell, depth + 1))] * _span(cell))
            rows = rows[1:]
        spaced = bool(headers)  # rows of "Header: value" lines are set apart; one-line rows are not
        for row in rows:
            row_lines = self.row_lines(row, headers, width, depth + 1)
            if row_lines:
                if lines and (spaced or len(row_lines) > 1):
                    lines.append("")
                lines.extend(row_lines)
                spaced = bool(headers) or len(row_lines) > 1
        return lines

    def row_lines(self, row: lxml.html.HtmlElement, headers: list[str], width: int, depth: int) -> list[str]:
        cells = list(row.iterchildren("td", "th"))
        if not headers and len(cells) > 1 and _heading(cells[0]) and not all(map(_heading, cells)):
            # A row headed by its own first cell ("Status | DONE" → "Status: DONE").
            label = _collapse(self.inline(cells[0], depth))
            values = [self.children(cell, width - 2, depth, tight=True) for cell in cells[1:]]
            shown = [line for value in values for line in value]
            return _labelled(label, shown, width) if shown else []
        values = [self.children(cell, width - 2, depth, tight=True) for cell in cells]
        if not headers:
            if all(len(value) <= 1 for value in values):
                joined = " | ".join(value[0] for value in values if value)
                if len(joined) <= width:
                    return [joined] if joined else []
            return [line for value in values for line in value]
        lines: list[str] = []
        column = 0
        for cell, value in zip(cells, values, strict=True):
            label = headers[column] if column < len(headers) else ""
            column += _span(cell)
            if value:
                lines.extend(_labelled(label, value, width))
        return lines

    # -- inline: raw text (whitespace collapsed later), _BREAK for <br> -----------------------------
    def inline(self, el: lxml.html.HtmlElement, depth: int) -> str:
        parts: list[str] = []
        self.collect(el, parts, depth)
        return "".join(parts)

    def collect(self, el: lxml.html.HtmlElement, parts: list[str], depth: int) -> None:
        """Append the text of el's content (not its tail) to parts."""
        tag = el.tag
        if tag == "br":
            parts.append(_BREAK)
        elif tag == "img":
            alt = _collapse(el.get("alt") or "")
            if alt.lower().startswith(self.image_word.lower() + ":"):  # already "Image: <file name>"
                parts.append(f"[{alt}]")
            else:
                parts.append(f"[{self.image_word}: {alt}]" if alt else f"[{self.image_word}]")
        elif tag in ("s", "del", "strike") or "line-through" in (el.get("style") or ""):
            inner: list[str] = []
            self.collect_children(el, inner, depth)
            text = "".join(inner)
            # Struck text keeps its meaning ("~~done~~"), its surrounding spaces stay outside the marks.
            parts.append(_STRUCK.sub(r"\1~~\2~~\3", text) if text.strip() else text)
        elif tag == "a":
            href = el.get("href")
            classes = el.get("class") or ""
            if href and "pm-url" in classes:
                parts.append(href)  # a bare URL the HTML part shows shortened: here it is whole
                return
            if "pm-mention" in classes:  # a person's name; their profile URL is noise in plain text
                self.collect_children(el, parts, depth)
                return
            content: list[str] = []
            self.collect_children(el, content, depth)
            parts.append(self.link("".join(content), href))
        elif depth > MAX_DEPTH:
            parts.append(f" {el.text_content()} ")
        elif tag in _BLOCK_TAGS:  # a block inside running text: keep words apart
            parts.append(" ")
            self.collect_children(el, parts, depth)
            parts.append(" ")
        else:
            self.collect_children(el, parts, depth)

    def collect_children(self, el: lxml.html.HtmlElement, parts: list[str], depth: int) -> None:
        if el.text:
            parts.append(el.text)
        for child in el:
            if isinstance(child.tag, str):
                self.collect(child, parts, depth + 1)
            if child.tail:
                parts.append(child.tail)

    def link(self, content: str, href: str | None) -> str:
        label = _collapse(content)
        if not href or href.startswith("cid:"):
            return content
        if not label:
            return href
        if href in (label, "mailto:" + label):
            return label
        return f"{label} <{href}>"


def _add_block(out: list[str], lines: list[str], tight: bool) -> None:
    """Blocks are set apart by a blank line, unless tight (the paragraphs of a list item or a table cell)."""
    if lines:
        if out and out[-1] != "" and not tight:
            out.append("")
        out.extend(lines)


def _labelled(label: str, lines: list[str], width: int) -> list[str]:
    """ "Label: value" wrapped with a hanging indent; a value of several lines goes under "Label:"."""
    if not label:
        return lines
    if len(lines) == 1:
        return _wrap(f"{label}: {lines[0]}", width, indent="  ")
    return [f"{label}:"] + ["  " + line if line else "" for line in lines]


def _code_lines(cell: lxml.html.HtmlElement) -> list[str]:
    """A code cell's lines as written: <br> ends a line, no-break spaces are the indentation."""
    parts: list[str] = [cell.text or ""]
    for child in cell.iterdescendants():
        if child.tag == "br":
            parts.append("\n")
        elif isinstance(child.tag, str) and child.text:
            parts.append(child.text)
        if child.tail:
            parts.append(child.tail)
    return [line.rstrip() for line in "".join(parts).replace("\u00a0", " ").split("\n")]


def _heading(cell: lxml.html.HtmlElement) -> bool:
    """A header cell: <th>, or a cell Confluence highlights (authors shade their header cells rather than use th)."""
    return cell.tag == "th" or cell.get("bgcolor") is not None


def _span(cell: lxml.html.HtmlElement) -> int:
    try:
        return max(1, min(int(cell.get("colspan") or 1), 50))
    except ValueError:
        return 1


def _single_cell(table: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    sections = (table, *table.iterchildren("thead", "tbody", "tfoot"))
    rows = [row for section in sections for row in section.iterchildren("tr")]
    if len(rows) != 1:
        return None
    cells = list(rows[0].iterchildren("td", "th"))
    return cells[0] if len(cells) == 1 else None


def _start(el: lxml.html.HtmlElement) -> int:
    try:
        return int(el.get("start") or 1)
    except ValueError:
        return 1


def element_to_text(root: lxml.html.HtmlElement, *, image_word: str = "image") -> str:
    """Plain text of everything under root (root's own tag is a container and not rendered)."""
    out: list[str] = []
    for line in _Renderer(image_word).children(root, WIDTH, 0):
        line = line.rstrip()
        if line or (out and out[-1]):  # at most one blank line in a row, none at the start
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def compose_text(
    *,
    header_text: str,
    intro: str,
    message: str,
    title: str,
    page_url: str,
    body_text: str,
    button_label: str,
    footer: str,
    continues: str = "",
) -> str:
    """The whole text/plain part: the same parts, in the same order, as the HTML template. `continues` ends a
    page that was cut for size (the HTML part says the same)."""

    def paragraph(text: str) -> str:
        # Plain text written by people: keep their line breaks, wrap only over-long lines.
        out: list[str] = []
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            line = line.rstrip()
            if len(line) > WIDTH:  # their spacing kept: textwrap, not the page's single-spaced wrap
                out.extend(textwrap.wrap(line, WIDTH, break_long_words=False, break_on_hyphens=False))
            else:
                out.append(line)
        return "\n".join(out).strip("\n")

    parts = [
        paragraph(header_text) if header_text.strip() else "",
        paragraph(intro),
        paragraph(message) if message.strip() else "",
        f"{title}\n{'=' * min(max(len(title), 4), WIDTH)}\n<{page_url}>",
        body_text,
        f"[\N{HORIZONTAL ELLIPSIS}] {continues}" if continues else "",
        f"{button_label}: {page_url}",
        f"-- \n{footer}",
    ]
    return "\n\n".join(part for part in parts if part) + "\n"
