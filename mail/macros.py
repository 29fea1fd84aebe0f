"""Confluence macros (as rendered in export_view) → plain markup that mail clients display.

Everything is done in place on an lxml tree, before sanitising: panels become a one-cell table with a
coloured left border, code a one-cell table of wrapping lines, expands one shown open; lozenges become coloured
spans, task lists get ☑/☐, layouts are flattened, embeds become a link to the page, emoticons become
characters. Labels that depend on the reader's language carry a pm-k-* class (see mail/strings.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from mail.sanitize import MAIL_CLASSES, class_tokens, drop_element, keep_known_classes
from mail.strings import ENGLISH, LABEL_CLASS_PREFIX

Element = lxml.html.HtmlElement

# confluence-information-macro-<type> → panel kind (cell class pm-cell-<kind>, label key <kind>)
_INFO_KINDS = {
    "information": "info",
    "info": "info",
    "note": "note",
    "warning": "warning",
    "tip": "tip",
    "success": "success",
    "error": "error",
}
_LAYOUT_CLASSES = frozenset(
    {
        "contentLayout2",
        "columnLayout",
        "cell",
        "innerCell",
        "sectionColumnWrapper",
        "sectionMacro",
        "columnMacro",
        "table-wrap",
        "confluence-embedded-file-wrapper",
        "conf-macro-render",
    }
)
# AUI lozenge modifier → colour of the mail lozenge
_LOZENGE_COLOURS = {
    "success": "green",
    "error": "red",
    "removed": "red",
    "current": "yellow",
    "moved": "yellow",
    "complete": "blue",
    "inprogress": "blue",
    "progress": "purple",
    "new": "purple",
}
_EMBED_TAGS = frozenset({"iframe", "frame", "object", "embed", "applet"})
_MEDIA_TAGS = frozenset({"video", "audio"})
# Classic Confluence emoticon names and Atlassian emoji ids that have no unicode fallback in the page.
_INFO = "\N{INFORMATION SOURCE}\ufe0f"
_PLUS = "\N{HEAVY PLUS SIGN}"
_MINUS = "\N{HEAVY MINUS SIGN}"
_EMOTICONS = {
    "smile": "🙂",
    "sad": "🙁",
    "cheeky": "😛",
    "laugh": "😀",
    "wink": "😉",
    "thumbs-up": "👍",
    "thumbs-down": "👎",
    "information": _INFO,
    "tick": "✅",
    "cross": "❌",
    "warning": "⚠️",
    "plus": _PLUS,
    "minus": _MINUS,
    "question": "❓",
    "light-on": "💡",
    "light-off": "💡",
    "yellow-star": "⭐",
    "red-star": "⭐",
    "green-star": "⭐",
    "blue-star": "⭐",
    "heart": "❤️",
    "broken-heart": "💔",
    "atlassian-check_mark": "✅",
    "atlassian-cross_mark": "❌",
    "atlassian-warning": "⚠️",
    "atlassian-info": _INFO,
    "atlassian-question_mark": "❓",
    "atlassian-plus": _PLUS,
    "atlassian-minus": _MINUS,
    "atlassian-light_bulb_on": "💡",
    "atlassian-light_bulb_off": "💡",
    "atlassian-thumbs_up": "👍",
    "atlassian-thumbs_down": "👎",
    "atlassian-yellow_star": "⭐",
    "atlassian-red_star": "⭐",
    "atlassian-green_star": "⭐",
    "atlassian-blue_star": "⭐",
    "atlassian-heart": "❤️",
    "atlassian-broken_heart": "💔",
    "atlassian-smile": "🙂",
    "atlassian-sad": "🙁",
    "atlassian-tongue": "😛",
    "atlassian-wink": "😉",
    "atlassian-laughing": "😀",
}
_EMOJI_HEX_ID = re.compile(r"^[0-9a-fA-F]{2,6}(?:-[0-9a-fA-F]{2,6})*$")
_SHORTNAME = re.compile(r"^:[\w+-]+:$")
_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]{1,6})\}|\\U([0-9a-fA-F]{8})|\\u([0-9a-fA-F]{4})")
_COLOUR = re.compile(
    r"^(?:#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}"
    r"|rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\))$"
)
_BACKGROUND = re.compile(r"background(?:-color)?\s*:\s*([^;]+)", re.IGNORECASE)
_JIRA_PLACEHOLDER_SUMMARY = "Getting issue details..."
_SPACE_RUN = re.compile(r" {2,}")


# Classes that pick a handler below (with the tag, for tables and layouts).
_HANDLED_CLASSES = _LAYOUT_CLASSES | {
    "confluence-information-macro",
    "panel",
    "expand-container",
    "status-macro",
    "confluence-jim-macro",
    "inline-task-list",
    "task-list",
    "confluence-userlink",
    "user-mention",
    "plugin_attachments_container",
    "plugin_pagetree",
    "toc-macro",
    "confluenceTable",
}
# Tags a handler may care about even without a class attribute.
_TAG_HANDLED = frozenset({"pre", "img", "td", "th", "tr", "colgroup"}) | _EMBED_TAGS | _MEDIA_TAGS


def convert_macros(root: Element, page_url: str, base_url: str) -> None:
    """Rewrite Confluence macro markup under root into mail-safe markup (in place)."""
    for el in list(root.iterdescendants(etree.Element)):
        tag = el.tag
        attrib = el.attrib
        # Most elements (paragraphs, list items, formatting) need nothing: skip them cheaply.
        if not attrib and tag not in _TAG_HANDLED and ":" not in tag:
            continue
        value = attrib.get("class")
        if value is None and tag not in _TAG_HANDLED and ":" not in tag and attrib.get("data-jira-key") is None:
            continue
        handler = _handler_for(el, tag.lower(), value.split() if value else [])
        if handler is not None:
            handler(el, page_url, base_url)
        current = el.get("class") if value is not None else None
        if current is not None and current not in MAIL_CLASSES:
            # Confluence's own classes mean nothing in a mail (and handlers above have read them).
            keep_known_classes(el)


def _handler_for(el: Element, tag: str, classes: list[str]) -> Callable[[Element, str, str], None] | None:
    if ":" in tag:
        return _storage_leftover
    if tag in _EMBED_TAGS:
        return _embed_link
    if tag in _MEDIA_TAGS:
        return _media_link
    if tag == "img":
        if el.get("data-emoji-id") or el.get("data-emoticon-name") or "emoticon" in classes:
            return _emoticon
        return _centred_image if "image-center" in classes else None
    if tag == "pre":
        return _code_pre
    if not classes and tag not in ("colgroup", "td", "th", "tr"):
        return None if el.get("data-jira-key") is None else _jira
    class_set = set(classes)
    if class_set.isdisjoint(_HANDLED_CLASSES) and tag not in ("colgroup", "td", "th", "tr"):
        return None if el.get("data-jira-key") is None else _jira
    if "confluence-information-macro" in class_set:
        return _info_panel
    if "panel" in class_set and ("code" in class_set or "preformatted" in class_set):
        return _code_panel
    if "panel" in class_set:
        return _plain_panel
    if "expand-container" in class_set:
        return _expand
    if "status-macro" in class_set:
        return _status
    if "confluence-jim-macro" in class_set or el.get("data-jira-key") is not None:
        return _jira
    if "inline-task-list" in class_set or "task-list" in class_set:
        return _task_list
    if "confluence-userlink" in class_set or "user-mention" in class_set:
        return _mention
    if "plugin_attachments_container" in class_set:
        return _attachments_link
    if "plugin_pagetree" in class_set:
        return _pagetree_link
    if "toc-macro" in class_set:
        return _toc
    if class_set & _LAYOUT_CLASSES and tag in ("div", "span"):
        return _unwrap
    if tag == "table" and "confluenceTable" in class_set:
        return _table
    if tag == "colgroup":
        return _remove
    if tag in ("td", "th"):
        return _table_cell
    if tag == "tr":
        return _table_row
    return None


# --- helpers ---------------------------------------------------------------------------------------


def _first(el: Element, class_name: str) -> Element | None:
    for child in el.iterdescendants():
        value = child.get("class")
        if value and class_name in value and class_name in value.split():
            return child
    return None


def _text(el: Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _reset(el: Element, tag: str, **attrs: str) -> None:
    """Turn el into an empty <tag attrs…>, keeping its place and its tail."""
    el.clear(keep_tail=True)
    el.tag = tag
    el.attrib.update({name.rstrip("_"): value for name, value in attrs.items()})


def _append_content(target: Element, source: Element | None) -> None:
    """Move source's text and children to the end of target."""
    if source is None:
        return
    if source.text:
        _append_text(target, source.text)
    for child in list(source):
        target.append(child)  # append moves; the tail goes with it


def _append_text(target: Element, text: str) -> None:
    if len(target):
        last = target[-1]
        last.tail = (last.tail or "") + text
    else:
        target.text = (target.text or "") + text


def _sub(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    child = etree.SubElement(parent, tag, {name.rstrip("_"): value for name, value in attrs.items()})
    if text:
        child.text = text
    return child


def _label_class(key: str) -> str:
    return LABEL_CLASS_PREFIX + key


def _colour(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if _COLOUR.match(value) else None


def _background(style: str | None) -> str | None:
    match = _BACKGROUND.search(style or "")
    return _colour(match.group(1)) if match else None


def _replace_with_text(el: Element, text: str) -> None:
    el.tail = text + (el.tail or "")
    drop_element(el)


def _replace_with_page_link(el: Element, page_url: str, key: str) -> None:
    _reset(el, "a", href=page_url, class_=f"pm-embed {_label_class(key)}")
    el.text = ENGLISH.label(key)


# --- handlers --------------------------------------------------------------------------------------


def _storage_leftover(el: Element, page_url: str, base_url: str) -> None:
    """Raw ac:/ri: storage markup: parameters and resource identifiers go, bodies are kept."""
    tag = el.tag.lower()
    if tag == "ac:emoticon":
        name = el.get("ac:name") or ""
        fallback = decode_escapes((el.get("ac:emoji-fallback") or "").strip())
        emoji = _emoji_from_code_points((el.get("ac:emoji-id") or "").strip()) or _EMOTICONS.get(name, "")
        if not emoji and _printable(fallback) and not _SHORTNAME.match(fallback):
            emoji = fallback
        _replace_with_text(el, emoji)
    elif tag.startswith("ri:") or tag in (
        "ac:parameter",
        "ac:placeholder",
        "ac:adf-attribute",
        "ac:task-id",
        "ac:task-status",
        "ac:task-uuid",
    ):
        drop_element(el)
    elif el.getparent() is not None:
        el.drop_tag()


def _remove(el: Element, page_url: str, base_url: str) -> None:
    drop_element(el)


def _unwrap(el: Element, page_url: str, base_url: str) -> None:
    if el.getparent() is not None:
        el.drop_tag()


def _embed_link(el: Element, page_url: str, base_url: str) -> None:
    if el.tag.lower() in ("iframe", "frame"):
        _replace_with_page_link(el, page_url, "embed")  # an iframe's content is never shown anyway
    else:
        _link_before_and_unwrap(el, page_url, "embed")


def _media_link(el: Element, page_url: str, base_url: str) -> None:
    _link_before_and_unwrap(el, page_url, "media")


def _link_before_and_unwrap(el: Element, page_url: str, key: str) -> None:
    """A link to the page in place of the element, keeping what the parser put inside it: fallback
    content, or (lxml does not know <embed> is void) the page content that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    link = lxml.html.Element("a", href=page_url)
    link.set("class", f"pm-embed {_label_class(key)}")
    link.text = ENGLISH.label(key)
    el.addprevious(link)
    el.drop_tag()


def _attachments_link(el: Element, page_url: str, base_url: str) -> None:
    _reset(el, "p")
    _sub(el, "a", ENGLISH.label("attachments"), href=page_url, class_=_label_class("attachments"))


def _pagetree_link(el: Element, page_url: str, base_url: str) -> None:
    _reset(el, "p")
    _sub(el, "a", ENGLISH.label("pagetree"), href=page_url, class_=_label_class("pagetree"))


def _emoticon(el: Element, page_url: str, base_url: str) -> None:
    _replace_with_text(el, emoji_for(el))


def emoji_for(img: Element) -> str:
    """The character an emoticon <img> stands for: the code points of its emoji id, its unicode fallback (escape
    sequences such as "\\uD83D\\uDCCB" decoded), its Atlassian name, its alt. Never an escape code or a :shortname:."""
    emoji_id = (img.get("data-emoji-id") or "").strip()
    from_id = _emoji_from_code_points(emoji_id)
    if from_id:
        return from_id
    fallback = decode_escapes((img.get("data-emoji-fallback") or "").strip())
    if fallback and not _SHORTNAME.match(fallback) and _printable(fallback):
        return fallback
    for key in (emoji_id, img.get("data-emoticon-name") or ""):
        if key in _EMOTICONS:
            return _EMOTICONS[key]
    alt = decode_escapes((img.get("alt") or "").strip())
    return alt if _printable(alt) else ""


def _emoji_from_code_points(emoji_id: str) -> str:
    """ "1f4cb" → 📋, "1f468-200d-1f4bb" → 👨‍💻; anything that is not a run of real characters → ""."""
    if not _EMOJI_HEX_ID.match(emoji_id):
        return ""
    points = [int(part, 16) for part in emoji_id.split("-")]
    if any(point > 0x10FFFF or 0xD800 <= point <= 0xDFFF or point < 0x20 for point in points):
        return ""
    return "".join(map(chr, points))


def decode_escapes(text: str) -> str:
    """JavaScript/JSON escapes left in page attributes (\\uD83D\\uDCCB, \\u{1F4CB}, \\U0001F4CB) as characters;
    surrogate pairs are joined, a lone surrogate is dropped."""
    if "\\" not in text:
        return text

    def code_point(match: re.Match[str]) -> str:
        point = int(next(group for group in match.groups() if group), 16)
        return chr(point) if point <= 0x10FFFF else ""

    text = _ESCAPE.sub(code_point, text)
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "ignore")


def _printable(text: str) -> bool:
    """No escape code left over and nothing that renders as a box."""
    return bool(text) and "\\" not in text and all(ch.isprintable() or ch in "\u200d\ufe0f" for ch in text)


_INLINE_AROUND_IMAGES = frozenset({"span", "a", "strong", "em", "b", "i", "u"})


def _centred_image(el: Element, page_url: str, base_url: str) -> None:
    """Confluence centres an image with classes the mail drops: its paragraph is centred instead (align for
    Outlook, text-align for the rest), or, when it shares the paragraph with text, a centred one of its own."""
    holder: Element = el
    parent = el.getparent()
    while parent is not None and parent.tag in _INLINE_AROUND_IMAGES:
        holder, parent = parent, parent.getparent()
    if parent is None:
        return
    alone = parent.tag in ("p", "div") and not (parent.text or "").strip() and len(parent) == 1
    if alone and not (holder.tail or "").strip():
        block = parent
    else:
        block = lxml.html.Element("p")
        block.tail, holder.tail = holder.tail, None
        holder.addprevious(block)
        block.append(holder)
    block.set("align", "center")
    style = (block.get("style") or "").strip().rstrip(";")
    block.set("style", (style + ";" if style else "") + "text-align:center")


def _panel_shell(
    el: Element,
    kind: str,
    label: str | None,
    label_key: str | None,
    background: str | None = None,
    table_class: str = "pm-panel",
) -> Element:
    """Rebuild el as a one-cell table (coloured left border via CSS on the cell) and return the cell."""
    _reset(
        el,
        "table",
        class_=table_class,
        role="presentation",
        width="100%",
        cellpadding="0",
        cellspacing="0",
        border="0",
    )
    cell = _sub(_sub(el, "tr"), "td", class_=f"pm-cell-{kind}")
    if background:
        cell.set("style", f"background-color:{background}")
    if label:
        label_class = "pm-panel-label" + (f" {_label_class(label_key)}" if label_key else "")
        _sub(cell, "p", label, class_=label_class)
    return cell


def _info_panel(el: Element, page_url: str, base_url: str) -> None:
    kind = "info"
    for name in class_tokens(el):
        if name.startswith("confluence-information-macro-"):
            kind = _INFO_KINDS.get(name.removeprefix("confluence-information-macro-"), kind)
    title = ""
    body: Element | None = None
    for child in el:
        if not isinstance(child.tag, str):
            continue
        child_classes = class_tokens(child)
        if "confluence-information-macro-body" in child_classes:
            body = child
        elif "title" in child_classes:
            title = _text(child)
    if body is not None:
        el.remove(body)
    cell = _panel_shell(el, kind, title or ENGLISH.label(kind), None if title else kind)
    _append_content(cell, body)


def _plain_panel(el: Element, page_url: str, base_url: str) -> None:
    header = _first(el, "panelHeader")
    content = _first(el, "panelContent")
    content_style = content.get("style") if content is not None else None
    background = _background(content_style) or _background(el.get("style"))
    title = _text(header)
    if content is not None and content.getparent() is not None:
        content.getparent().remove(content)
    elif content is None:
        # No panelContent wrapper: the panel's own children are the content.
        content = lxml.html.Element("div")
        if header is not None and header.getparent() is not None:
            drop_element(header)
        _append_content(content, el)
    cell = _panel_shell(el, "plain", title or None, None, background)
    _append_content(cell, content)


def _code_panel(el: Element, page_url: str, base_url: str) -> None:
    title = _text(_first(el, "codeHeader")) or _text(_first(el, "preformattedHeader"))
    blocks = [pre for pre in el.iter("pre")]
    _reset(el, "div")
    if title:
        _sub(el, "p", title, class_="pm-code-title")
    for pre in blocks:
        pre.tail = None
        el.append(pre)
        _code_pre(pre, page_url, base_url)


def _code_pre(el: Element, page_url: str, base_url: str) -> None:
    """A code block as a one-cell table (Outlook draws padding, border and background only on cells), its lines
    kept by <br> and its indentation by no-break spaces: no `white-space`, which Outlook ignores, so long lines
    wrap like text in every client instead of widening the mail."""
    for br in el.iter("br"):  # line breaks written as <br> must survive flattening to text
        br.tail = "\n" + (br.tail or "")
    lines = el.text_content().expandtabs(4).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    cell = _panel_shell(el, "code", None, None, table_class="pm-code-block")
    cell.text = _code_line(lines[0]) if lines else ""
    for line in lines[1:]:
        _sub(cell, "br").tail = _code_line(line)


def _code_line(line: str) -> str:
    """Leading spaces and runs of spaces as no-break spaces (HTML would fold them), each run ending in a normal
    space so a long line can still wrap there."""
    line = line.rstrip()
    stripped = line.lstrip(" ")
    indent = "\u00a0" * (len(line) - len(stripped))
    return indent + _SPACE_RUN.sub(lambda run: "\u00a0" * (len(run.group()) - 1) + " ", stripped)


def _expand(el: Element, page_url: str, base_url: str) -> None:
    """Shown open, as a one-cell table with a grey left border (a div's border and padding are lost in Outlook)."""
    title = _text(_first(el, "expand-control-text"))
    content = _first(el, "expand-content")
    if content is not None and content.getparent() is not None:
        content.getparent().remove(content)
    cell = _panel_shell(el, "expand", None, None, table_class="pm-expand")
    if title:
        _sub(_sub(cell, "p", class_="pm-expand-title"), "strong", title)
    _append_content(cell, content)


def _toc(el: Element, page_url: str, base_url: str) -> None:
    """A table of contents numbered by Confluence ("1", "4.1" before each link) loses its bullets: one marker per
    entry. (Confluence hides them with a <style> block, which the mail drops.)"""
    if _first(el, "TOCOutline") is None:
        return
    for depth_list in el.iter("ul", "ol"):
        nested = next(depth_list.iterancestors("ul", "ol"), None) is not None
        depth_list.set("style", "list-style-type:none;margin-left:" + ("16px" if nested else "0") + ";padding-left:0")


def _lozenge_colour(classes: list[str]) -> str:
    for name in classes:
        if name.startswith("aui-lozenge-"):
            colour = _LOZENGE_COLOURS.get(name.removeprefix("aui-lozenge-"))
            if colour:
                return colour
    return "grey"


def _status(el: Element, page_url: str, base_url: str) -> None:
    text = _text(el).upper()
    colour = _lozenge_colour(class_tokens(el))
    _reset(el, "span", class_=f"pm-status pm-status-{colour}")
    el.text = text


def _jira(el: Element, page_url: str, base_url: str) -> None:
    key_link = summary_el = lozenge = None
    for child in el.iterdescendants():  # one pass: Jira macros are many on some pages
        value = child.get("class")
        if not value:
            continue
        names = value.split()
        if key_link is None and "jira-issue-key" in names:
            key_link = child
        elif summary_el is None and "summary" in names:
            summary_el = child
        elif lozenge is None and "aui-lozenge" in names and "issue-placeholder" not in names:
            lozenge = child
    key = (el.get("data-jira-key") or _text(key_link)).strip()
    if not key:
        # Not an issue we can name (e.g. a Jira chart): fall back to a link to the page.
        _replace_with_page_link(el, page_url, "embed")
        return
    href = (key_link.get("href") if key_link is not None else None) or urljoin(base_url, "/browse/" + key)
    summary = _text(summary_el)
    if summary == _JIRA_PLACEHOLDER_SUMMARY:
        summary = ""
    status = _text(lozenge).upper() if lozenge is not None else ""
    colour = _lozenge_colour(class_tokens(lozenge)) if lozenge is not None else "grey"
    _reset(el, "span", class_="pm-jira")
    link = _sub(el, "a", key, href=href)
    link.tail = f" \N{EN DASH} {summary}" if summary else None
    if status:
        link.tail = (link.tail or "") + " "
        _sub(el, "span", status, class_=f"pm-status pm-status-{colour}")


def _task_list(el: Element, page_url: str, base_url: str) -> None:
    el.attrib.clear()
    el.set("class", "pm-tasks")
    for item in el:
        if not isinstance(item.tag, str) or item.tag.lower() != "li":
            continue
        done = "checked" in class_tokens(item)
        item.attrib.clear()
        if done:
            item.set("class", "pm-task-done")
        mark = "☑ " if done else "☐ "
        first = item[0] if len(item) else None
        if not (item.text or "").strip() and first is not None and first.tag in ("p", "div"):
            first.text = mark + (first.text or "")
        else:
            item.text = mark + (item.text or "").lstrip()


def _mention(el: Element, page_url: str, base_url: str) -> None:
    href = el.get("href")
    name = _text(el)
    if href and el.tag == "a":
        _reset(el, "a", href=href, class_="pm-mention")
    else:
        _reset(el, "strong", class_="pm-mention")
    el.text = name
    # Mentions one after the other ("@Ann @Bob") would read as one bold run of names without their lozenges.
    previous = el.getprevious()
    if previous is not None and "pm-mention" in class_tokens(previous) and not (previous.tail or "").strip():
        previous.tail = ", "


def _table(el: Element, page_url: str, base_url: str) -> None:
    # Padding, grid and alignment as attributes on the table and rows, not styles on every cell:
    # big tables would otherwise grow past what Gmail shows without clipping.
    el.attrib.clear()
    el.set("class", "confluenceTable")
    el.set("width", "100%")
    el.set("border", "1")
    el.set("cellpadding", "6")
    el.set("cellspacing", "0")


def _table_row(el: Element, page_url: str, base_url: str) -> None:
    table = next(el.iterancestors("table"), None)
    if table is not None and "confluenceTable" in class_tokens(table):
        el.set("valign", "top")


def _table_cell(el: Element, page_url: str, base_url: str) -> None:
    colour = _colour(el.get("data-highlight-colour"))
    el.attrib.pop("class", None)
    if colour:
        el.set("bgcolor", colour)
