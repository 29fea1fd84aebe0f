"""The mail's size budget: Gmail clips an HTML part over 102 KB ("[Message clipped]"), and what it hides is the
end of the mail: the button and the footer.

First the mail is made smaller without changing what it shows: in the sanitised content (tidy), runs of
whitespace, empty paragraphs and inline elements and empty style attributes go; after inlining (finish), the
classes no @media rule uses (inlining has done their work) and the whitespace in the kept CSS. If it is still over
BUDGET_BYTES, the page content is cut at a block boundary (a top-level block, or a table row, list item or panel
paragraph inside one) so that everything up to there, a note that the page continues in Confluence, the button and
the footer fit.

Where a cut may fall is marked on the content tree before sanitising (mark_cut_points: data-pm-cut="<token>-<n>",
numbered in document order); the same number cuts the tree the text part is written from (cut_tree), so both
parts end at the same place."""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

import lxml.html
from lxml import etree

from mail.sanitize import CUT_ATTRIBUTE, parse_document

# Gmail clips at 102 KB; some room stays for what a relay or a forward adds.
BUDGET_BYTES = 95 * 1024
# The template marks the end of the page content (templates/mail/page.html); finish() takes the mark out.
CONTENT_END = "<!--pm-content-end-->"
# A table keeps its header and first row, a list or panel its first item, wherever the cut falls.
_TABLE_KEEP = 2
_MAX_DEPTH = 6
# The closing tags of the blocks around a cut, at most (checked again after cutting).
_CLOSING_SLACK = 256

_BLOCK_TAGS = (
    "p|div|table|tbody|thead|tfoot|tr|td|th|ul|ol|li|h[1-6]|blockquote|hr|dl|dt|dd|caption|br"  # br: a line ends
)
_ATTRIBUTES = r'(?: [^\s"\'>/=]+="[^"]*")*'  # name="value" pairs, as html5ever writes them
_SPACE_RUN = re.compile(r"  +")
# A space before a block's tag is never shown. (One after it is not either, but finding those costs more than the
# few bytes they are.)
_BEFORE_BLOCK_TAG = re.compile(rf" <(?=/?(?:{_BLOCK_TAGS})[ >])")  # searched by its two literal characters
_EMPTY_STYLE = re.compile(rf'(<[a-zA-Z][a-zA-Z0-9]*{_ATTRIBUTES}?) style=""')
_EMPTY_INLINE = re.compile(rf"<(span|strong|b|em|i|u|s|del|strike|small|sub|sup|code|font){_ATTRIBUTES}></\1>")
_EMPTY_BLOCK = re.compile(rf"<(p|div|h[1-6]|blockquote){_ATTRIBUTES}>(?: |<br>)*</\1>")
_KEPT_STYLE = re.compile(r"(<head><style>)(.*?)</style>", re.DOTALL)
# A start tag's class attribute: css-inline writes it first in the tag (and escapes `<` in text, so only real tags
# match). One written elsewhere would only be left in place, costing bytes.
_CLASS_ATTRIBUTE = re.compile(r'(<[a-zA-Z][a-zA-Z0-9]*) class="([^"]*)"')
_WBR_COMMENT = "<!--wbr-->"
# Cut marks as mark_cut_points writes them (the page's own data-pm-cut attributes never pass the sanitiser).
_ANY_MARK = re.compile(rf' {CUT_ATTRIBUTE}="[0-9a-f]+-[0-9]+"')
_CLASS_IN_CSS = re.compile(r"\.(-?[_a-zA-Z][_a-zA-Z0-9-]*)")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_RUN = re.compile(r"\s+")
_CSS_SPACE = re.compile(r"\s*([{};,>])\s*")


# --- on the content, before sanitising and after -----------------------------------------------------------------


def tidy(html: str) -> str:
    """The sanitised content without what costs bytes and shows nothing: runs of whitespace (one space), spaces
    before a block's tags, empty style attributes, empty inline elements and empty paragraphs. String work on
    nh3's output, whose shape is known (every attribute value in double quotes, `<` escaped in text); no <pre> is
    left whose spaces and newlines would count (code blocks are lines of no-break spaces and <br>, macros.py)."""
    for control in "\n\t\r\f":
        html = html.replace(control, " ")
    if ' style=""' in html:
        html = _EMPTY_STYLE.sub(r"\1", html)
    # <p><span><strong></strong></span></p> goes from the inside out: inline elements first, then the blocks.
    for pattern in (_EMPTY_INLINE, _EMPTY_BLOCK):
        for _depth in range(3):
            html, removed = pattern.subn("", html)
            if not removed:
                break
    if "  " in html:
        html = _SPACE_RUN.sub(" ", html)
    return _BEFORE_BLOCK_TAG.sub("<", html)


def new_token() -> str:
    """A per-mail token for the cut marks, so no text on a page can look like one."""
    return secrets.token_hex(4)


def mark_cut_points(root: lxml.html.HtmlElement, token: str) -> None:
    """Number the places the content may be cut (in document order) with data-pm-cut="<token>-<n>"."""
    _mark(root, 0, 0, token, itertools.count())


def _mark(container: etree._Element, depth: int, keep: int, token: str, numbers: itertools.count[int]) -> None:
    for index, child in enumerate(el for el in container if isinstance(el.tag, str)):
        if index >= keep:
            child.set(CUT_ATTRIBUTE, f"{token}-{next(numbers)}")
        if depth >= _MAX_DEPTH:
            continue
        tag = child.tag
        if tag == "table":
            cell = _single_cell(child)
            if cell is not None:  # a panel, code block or expand: cut between its paragraphs
                _mark(cell, depth + 1, 1, token, numbers)
            else:
                _mark_rows(child, token, numbers)
        elif tag in ("ul", "ol", "li", "div", "blockquote", "dl"):
            _mark(child, depth + 1, 1, token, numbers)


def _mark_rows(table: etree._Element, token: str, numbers: itertools.count[int]) -> None:
    rows = [row for section in _sections(table) for row in section if row.tag == "tr"]
    for row in rows[_TABLE_KEEP:]:
        row.set(CUT_ATTRIBUTE, f"{token}-{next(numbers)}")


def _sections(table: etree._Element) -> list[etree._Element]:
    return [table, *(child for child in table if child.tag in ("thead", "tbody", "tfoot"))]


def _single_cell(table: etree._Element) -> etree._Element | None:
    rows = [row for section in _sections(table) for row in section if row.tag == "tr"]
    if len(rows) != 1:
        return None
    cells = [cell for cell in rows[0] if cell.tag in ("td", "th")]
    return cells[0] if len(cells) == 1 else None


# Selectors that look at what follows an element: with them, what comes after a block can change how it is styled.
_FORWARD_SELECTOR = re.compile(r":(?:last-|only-|nth-last-|has\()", re.IGNORECASE)


def drop_what_cannot_fit(root: lxml.html.HtmlElement, css: str, budget: int = BUDGET_BYTES) -> bool:
    """Remove the top-level blocks from the first one that has more than `budget` characters of the page's text
    before it (whitespace not counted): each such character is at least a byte of the finished HTML, so finish()
    would cut before that block anyway. Doing it before serialising, sanitising and inlining spares that work on a
    long page (the work grows with the page; what is mailed does not). Nothing changes in what is mailed; so it is
    not done when `css` has a selector that looks at later siblings (`:last-child`, `:has(…)`). Returns whether
    anything was removed."""
    if _FORWARD_SELECTOR.search(css):
        return False
    text = len("".join((root.text or "").split()))
    for child in root:
        if text > budget:
            _remove_from(child, root)
            return True
        content = etree.tostring(child, method="text", encoding="unicode", with_tail=True)  # in C
        text += len("".join(content.split()))
    return False


def cut_tree(root: etree._Element, cut: str) -> None:
    """Remove the element marked `cut` and everything after it (in document order) under root."""
    found = root.xpath(f".//*[@{CUT_ATTRIBUTE}=$cut]", cut=cut)
    if found:
        _remove_from(found[0], root)


def _remove_from(el: etree._Element, stop: etree._Element) -> None:
    """Remove el, its following siblings, and the following siblings of each ancestor below stop."""
    parent = el.getparent()
    if parent is None:
        return
    for sibling in [el, *el.itersiblings()]:
        parent.remove(sibling)
    while parent is not None and parent is not stop:
        for sibling in list(parent.itersiblings()):
            sibling.getparent().remove(sibling)
        parent.tail = None  # text after the cut
        parent = parent.getparent()


# --- on the inlined document -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    html: str
    cut: str | None  # the cut mark the content was cut at, None when it all fits


def finish(html: str, *, token: str, note_html: str, budget: int = BUDGET_BYTES) -> Finished:
    """The inlined document made small, and cut to the budget if it must be (note_html ends the cut content).

    A document within the budget is never parsed again: this is string work on css-inline's output."""
    media_classes: frozenset[str] = frozenset()
    kept = _KEPT_STYLE.search(html)
    if kept is not None:
        css = _minify_css(kept.group(2))
        media_classes = frozenset(_CLASS_IN_CSS.findall(css))
        html = html[: kept.start(2)] + css + html[kept.end(2) :]
    # Class attributes without a class an @media rule names go in one regex pass; the few left keep those classes.
    html = _unused_class_attribute(media_classes).sub(r"\1", html)
    if media_classes:
        html = _CLASS_ATTRIBUTE.sub(lambda tag: _kept_classes(tag, media_classes), html)
    unmarked = _ANY_MARK.sub("", html)
    if CONTENT_END not in unmarked or len(unmarked.encode("utf-8")) - len(CONTENT_END) <= budget:
        return Finished(unmarked.replace(CONTENT_END, "", 1), None)

    marks = re.compile(rf' {CUT_ATTRIBUTE}="{token}-(\d+)"'.encode())
    data = html.encode("utf-8")
    end = data.rfind(CONTENT_END.encode())

    # libxml2 does not know <wbr> is void and would nest the rest of a paragraph in it (a long token, hundreds deep):
    # it travels through the parser as a comment.
    document = parse_document(html.replace("<wbr>", _WBR_COMMENT))
    marker = next(c for c in document.iter(etree.Comment) if f"<!--{c.text}-->" == CONTENT_END)
    cell = marker.getparent()
    note = lxml.html.fragment_fromstring(note_html)
    note_bytes = len(etree.tostring(note, encoding="unicode", method="html").encode("utf-8"))
    after_content = len(data) - end - len(CONTENT_END)
    marker.addprevious(note)
    cell.remove(marker)
    target = budget
    for _attempt in range(4):
        # Offsets come from the uncut document; a later attempt only cuts earlier, where nothing has changed.
        cut = _choose_cut(data, marks, after_content + note_bytes + _CLOSING_SLACK, target)
        if cut is not None:
            found = cell.xpath(f".//*[@{CUT_ATTRIBUTE}=$cut]", cut=f"{token}-{cut}")
            if found:
                _remove_from(found[0], cell)
                cell.append(note)
        trial = marks.sub(b"", _serialise(document).replace(_WBR_COMMENT, "<wbr>").encode("utf-8"))
        if len(trial) <= budget or cut is None:
            break
        target -= len(trial) - budget + 512  # the estimate was short: aim lower
    return Finished(trial.decode("utf-8"), f"{token}-{cut}" if cut is not None else None)


@lru_cache(maxsize=16)
def _unused_class_attribute(media_classes: frozenset[str]) -> re.Pattern[str]:
    """A start tag's class attribute none of whose classes is in media_classes."""
    if not media_classes:
        return _CLASS_ATTRIBUTE
    names = "|".join(re.escape(name) for name in sorted(media_classes, key=len, reverse=True))
    # Not (a class at the value's start or after a space) that is one of the names (then a space or the quote).
    return re.compile(rf'(<[a-zA-Z][a-zA-Z0-9]*) class="(?!(?:[^"]*\s)?(?:{names})[\s"])[^"]*"')


def _kept_classes(tag: re.Match[str], media_classes: frozenset[str]) -> str:
    kept = [name for name in tag.group(2).split() if name in media_classes]
    return tag.group(1) + (f' class="{" ".join(kept)}"' if kept else "")


def _minify_css(css: str) -> str:
    """Comments and the whitespace around punctuation out (selectors keep their descendant spaces)."""
    css = _CSS_COMMENT.sub("", css)
    return _CSS_SPACE.sub(r"\1", _CSS_RUN.sub(" ", css)).strip()


def _serialise(document: etree._Element) -> str:
    return etree.tostring(document, encoding="unicode", method="html", doctype="<!DOCTYPE html>")


def _choose_cut(data: bytes, marks: re.Pattern[bytes], fixed_after: int, budget: int) -> int | None:
    """The last cut mark whose content before it, with what must follow, fits the budget; the first if none does."""
    best: int | None = None
    marks_before = 0
    for match in marks.finditer(data):
        start = data.rfind(b"<", 0, match.start())
        if start - marks_before + fixed_after > budget:
            break
        best = int(match.group(1))
        marks_before += len(match.group(0))
    if best is None:
        first = marks.search(data)
        return int(first.group(1)) if first else None
    return best
