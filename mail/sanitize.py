"""What may stay in a mail body: parse/serialise helpers, URL and image policy, and the nh3 allowlist.

The page HTML is untrusted. The lxml passes here and in macros.py only make it readable and absolute;
the guarantee (no script, no event handlers, no foreign URL schemes, no data: URIs) comes from nh3,
which runs last on everything that goes into a mail.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple
from urllib.parse import parse_qs, quote, unquote, urljoin, urlsplit, urlunsplit

import lxml.html
import nh3
from lxml import etree

from mail.inline_wrap import CONTENT_WIDTH, available_width
from mail.strings import LABEL_CLASS_PREFIX, LABEL_KEYS

# Removed together with everything inside them before any other processing.
REMOVE_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "link",
        "meta",
        "title",
        "head",
        "base",
        "form",
        "input",
        "button",
        "select",
        "textarea",
        "option",
        "optgroup",
        "datalist",
        "output",
        "svg",
        "math",
        "canvas",
        "map",
        "frameset",
        "noframes",
        "noembed",
        "param",
        "source",
        "track",
        "dialog",
        "xmp",
        "plaintext",
        "portal",
        "slot",
    }
)

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
    }
)

# nh3 drops these with their content as a backstop (they never reach it from prepare_page).
CLEAN_CONTENT_TAGS = frozenset(
    REMOVE_WITH_CONTENT
    | {
        "iframe",
        "frame",
        "object",
        "embed",
        "applet",
        "video",
        "audio",
        "picture",
    }
)

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang", "dir", "style", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"role", "width", "cellpadding", "cellspacing", "border"},
    "tr": {"valign"},
    "td": {"colspan", "rowspan", "valign", "width", "bgcolor"},
    "th": {"colspan", "rowspan", "valign", "width", "bgcolor", "scope"},
    "ol": {"start", "type"},
    "li": {"value"},
    "time": {"datetime"},
}

# Only properties that change how text looks; nothing that loads or positions anything.
ALLOWED_STYLE_PROPERTIES = frozenset(
    {
        "color",
        "background-color",
        "text-align",
        "text-decoration",
        "font-weight",
        "font-style",
        "vertical-align",
        "margin-left",
        "padding-left",
        "list-style-type",
    }
)
# render_mail sets these itself, with values it computed (image and wide-table widths), on the prepared page: the
# page's own widths never get this far (restrict_to_allowlist drops them), so none can widen the mail.
LAYOUT_STYLE_PROPERTIES = frozenset({"width", "min-width"})
# render_mail marks where the page may be cut (mail/inline_budget.py); restrict_to_allowlist drops any from the page.
CUT_ATTRIBUTE = "data-pm-cut"

# Classes written by macros.py (styled by templates/mail/base.css); confluenceTable is kept so that
# an admin's custom CSS can address tables (and their cells through it).
MAIL_CLASSES = frozenset(
    {
        "confluenceTable",
        "pm-panel",
        "pm-panel-label",
        "pm-code",
        "pm-code-block",
        "pm-code-title",
        "pm-expand",
        "pm-expand-title",
        "pm-cell-expand",
        "pm-cell-code",
        "pm-status",
        "pm-tasks",
        "pm-task-done",
        "pm-mention",
        "pm-jira",
        "pm-embed",
        "pm-image-link",
        "pm-cell-info",
        "pm-cell-note",
        "pm-cell-warning",
        "pm-cell-tip",
        "pm-cell-success",
        "pm-cell-error",
        "pm-cell-plain",
        "pm-status-grey",
        "pm-status-green",
        "pm-status-red",
        "pm-status-yellow",
        "pm-status-blue",
        "pm-status-purple",
        "pm-url",
        "pm-scroll",
    }
) | {LABEL_CLASS_PREFIX + key for key in LABEL_KEYS}

URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})

# prepare_page marks attachment images with this src; render_mail swaps in the real Content-ID.
ATTACHMENT_CID_PREFIX = "cid:pagemail-attachment."

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CLEAN_CONTENT_TAGS),
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=set(URL_SCHEMES),
    link_rel=None,  # nothing in a mail opens a window (no target): rel would only cost bytes on every link
    strip_comments=True,
    allowed_classes={tag: set(MAIL_CLASSES) for tag in ALLOWED_TAGS},
    filter_style_properties=set(ALLOWED_STYLE_PROPERTIES),
)
_MAIL_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CLEAN_CONTENT_TAGS),
    attributes={**ALLOWED_ATTRIBUTES, "*": ALLOWED_ATTRIBUTES["*"] | {CUT_ATTRIBUTE}},
    url_schemes=set(URL_SCHEMES),
    link_rel=None,
    strip_comments=True,
    allowed_classes={tag: set(MAIL_CLASSES) for tag in ALLOWED_TAGS},
    filter_style_properties=set(ALLOWED_STYLE_PROPERTIES | LAYOUT_STYLE_PROPERTIES),
)

# C0 controls other than tab/newline/CR cannot appear in HTML text and make lxml refuse the input. Removed from the
# page's UTF-8 bytes (no UTF-8 sequence holds these bytes but the characters themselves), in C.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_DANGEROUS_STYLE = re.compile(
    r"url\s*\(|expression|@import|\\|javascript:|behaviou?r\s*:|-moz-binding",
    re.IGNORECASE,
)
_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_URL_INVISIBLES = re.compile(r"[\x00-\x20\x7f]+")


# lxml.html's parser picks each element's Python class in Python (form/input/label classes); one
# class for all, chosen in C, makes every tree walk here several milliseconds faster on big pages. It reads UTF-8
# bytes (libxml2's own encoding: a str would be converted first), whatever a <meta charset> in the page says.
_PARSER = etree.HTMLParser(remove_blank_text=False, encoding="utf-8")
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


def parse_fragment(html: str) -> lxml.html.HtmlElement:
    """Parse an HTML fragment into a detached <div> holding it (empty input gives an empty <div>)."""
    if not isinstance(html, str):
        raise TypeError("page HTML must be a str")
    if not html.strip():
        return _PARSER.makeelement("div")
    # A lone surrogate (a broken escape in the page's JSON) is not a character: it goes, the text around it stays.
    data = html.encode("utf-8", "ignore").translate(None, _CONTROL_BYTES)
    if not data.strip():
        return _PARSER.makeelement("div")
    # The fragment goes inside <body> (so nothing is moved to <head>); the body becomes the holder.
    document = lxml.html.document_fromstring(b"<html><body>" + data + b"</body></html>", parser=_PARSER)
    body = document.find("body")
    if body is None:  # the parser always makes one; this keeps the type checker and odd input honest
        body = _PARSER.makeelement("body")
    body.tag = "div"
    body.attrib.clear()
    return body


def parse_document(html: str) -> lxml.html.HtmlElement:
    """A whole HTML document (the finished mail), with the same fast parser."""
    return lxml.html.document_fromstring(html.encode("utf-8"), parser=_PARSER)


def inner_html(root: lxml.html.HtmlElement) -> str:
    """The serialised children of root (root's own tag left out): one serialiser call for the tree."""
    if root.tag != "div" or len(root.attrib):
        raise ValueError("inner_html expects the bare <div> holder made by parse_fragment")
    html = etree.tostring(root, encoding="unicode", method="html", with_tail=False)
    return html[len("<div>") : -len("</div>")]


_STYLE_DECLARATION = re.compile(r"\s*([a-zA-Z-]+)\s*:\s*([^;]*?)\s*")


def restrict_to_allowlist(root: lxml.html.HtmlElement) -> None:
    """The tree as the allowlist leaves it (in place): tags it does not allow are unwrapped (their content stays),
    CLEAN_CONTENT_TAGS go with their content. So the text part, written from this tree, says what the HTML part
    shows. Also removed, because the sanitiser that runs last (sanitize_mail_fragment) allows them for what
    render_mail writes: the page's own cut marks, and widths in its style attributes."""
    for el in list(root.iter()):
        tag = el.tag
        if not isinstance(tag, str) or tag in CLEAN_CONTENT_TAGS:
            drop_element(el)
            continue
        if tag not in ALLOWED_TAGS and el is not root:
            if el.getparent() is not None:
                el.drop_tag()
            continue
        attrib = el.attrib
        if not attrib:
            continue
        if CUT_ATTRIBUTE in attrib:
            del attrib[CUT_ATTRIBUTE]
        style = attrib.get("style")
        if style is not None and "width" in style.lower():
            attrib["style"] = _allowed_declarations(style)


def _allowed_declarations(style: str) -> str:
    """Only plain `property: value` declarations of allowed properties (anything odd goes, comments included)."""
    kept = []
    for declaration in style.split(";"):
        match = _STYLE_DECLARATION.fullmatch(declaration)
        if match and match.group(1).lower() in ALLOWED_STYLE_PROPERTIES:
            kept.append(f"{match.group(1)}:{match.group(2)}")
    return ";".join(kept)


def sanitize_fragment(html: str) -> str:
    """The allowlist sanitiser, as the page itself may have (PreparedPage.body_html)."""
    return _CLEANER.clean(html)


def sanitize_mail_fragment(html: str) -> str:
    """The same allowlist, last, on everything of the page that goes into the mail (render_mail): it also keeps the
    widths and cut marks render_mail wrote on the prepared page."""
    return _MAIL_CLEANER.clean(html)


def class_tokens(el: etree._Element) -> list[str]:
    value = el.get("class")
    return value.split() if value else []


def remove_unsafe(root: lxml.html.HtmlElement) -> None:
    """Drop active content, forms, comments and hidden parts; drop style attributes that could load
    anything. (Embeds are turned into links by macros.py, so iframes/objects/media stay for it.)"""
    for el in list(root.iter()):
        tag = el.tag
        if not isinstance(tag, str):  # comments and processing instructions
            drop_element(el)
            continue
        if tag.lower() in REMOVE_WITH_CONTENT:
            drop_element(el)
            continue
        attrib = el.attrib
        if not attrib:  # most elements of a page: nothing below applies to them
            continue
        value = attrib.get("class")
        hidden = value is not None and "hidden" in value and "hidden" in value.split()
        if hidden or "hidden" in attrib or (attrib.get("aria-hidden") == "true" and not (el.text or len(el))):
            drop_element(el)
            continue
        style = attrib.get("style")
        if style is not None:
            if _DISPLAY_NONE.search(style) and not (value and "expand-content" in value.split()):
                drop_element(el)
                continue
            if _DANGEROUS_STYLE.search(style):
                del attrib["style"]


def drop_element(el: etree._Element) -> None:
    """Remove el and its subtree, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    previous = el.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def resolve_url(href: str, page_url: str, base_url: str) -> str | None:
    """An absolute http(s)/mailto URL for a link in the page, or None when it must go.

    In-page anchors point at the page in Confluence; relative links resolve against the tenant's base
    URL (which includes /wiki); any other scheme (javascript:, data:, file:, ...) is refused."""
    # Browsers ignore tabs/newlines inside URLs ("java\tscript:"), so the check does too.
    href = _URL_INVISIBLES.sub("", href)
    if not href:
        return None
    if href.startswith("#"):
        return strip_fragment(page_url) + href
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return href if parts.netloc else None
    if scheme == "mailto":
        return href
    if scheme:
        return None
    if href.startswith("//"):
        return "https:" + href
    try:
        resolved = urljoin(base_url.rstrip("/") + "/", href)
    except ValueError:
        return None
    return resolved if _scheme(resolved) in ("http", "https") else None


def keep_known_classes(el: etree._Element) -> None:
    """Keep only the classes the mail stylesheet knows (nh3 would otherwise leave class="")."""
    kept = [name for name in (el.get("class") or "").split() if name in MAIL_CLASSES]
    if kept:
        el.set("class", " ".join(kept))
    else:
        el.attrib.pop("class", None)


def absolutize_links(root: lxml.html.HtmlElement, page_url: str, base_url: str) -> None:
    for a in root.iter("a"):
        href = a.get("href")
        if href is None:
            continue
        resolved = resolve_url(href, page_url, base_url)
        if resolved is None:
            del a.attrib["href"]
        else:
            a.set("href", resolved)
        # A link around a file thumbnail (dropped by apply_image_policy) would be left without text.
        if not len(a) and not (a.text or "").strip():
            alias = a.get("data-linked-resource-default-alias")
            if alias:
                a.text = alias


class AttachmentImage(NamedTuple):
    attachment_id: str
    filename: str
    content_type_hint: str | None
    display_width: int = CONTENT_WIDTH  # the widest the mail shows it (px): it is scaled to twice that


def attachment_cid(attachment_id: str) -> str:
    return ATTACHMENT_CID_PREFIX + quote(attachment_id, safe="")


def attachment_id_from_src(src: str) -> str | None:
    if not src.startswith(ATTACHMENT_CID_PREFIX):
        return None
    return unquote(src[len(ATTACHMENT_CID_PREFIX) :])


# Images served by Confluence itself (other than attachments we embed) need the viewer's session or
# carry a short-lived access token in their URL: they are never sent, the reader gets a link instead.
_ATLASSIAN_HOST_SUFFIXES = (".atlassian.net", ".atlassian.com", ".atl-paas.net", ".jira.com")
_TOKEN_PARAMS = re.compile(r"(?:^|&)(?:token|jwt|access_token|signature|sig|x-amz-signature)=", re.IGNORECASE)


def _is_confluence_hosted(src: str, base_url: str) -> bool:
    parts = urlsplit(src)
    host = (parts.hostname or "").lower()
    tenant = (urlsplit(base_url).hostname or "").lower()
    carries_token = bool(_TOKEN_PARAMS.search(parts.query))
    return host == tenant or host.endswith(_ATLASSIAN_HOST_SUFFIXES) or carries_token


_ATTACHMENT_ID = re.compile(r"(att)?[0-9]{1,20}")


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:  # e.g. a broken IPv6 host: not a URL we use
        return ""


def apply_image_policy(
    root: lxml.html.HtmlElement, external_images: Literal["link", "drop"], page_url: str, base_url: str
) -> list[AttachmentImage]:
    """Attachment images get a placeholder src and are listed (each attachment once, in page order);
    other Confluence-hosted images become a link to the page; external http(s) images stay remote or
    go, per layout; relative, data: and anything else go."""
    found: dict[str, AttachmentImage] = {}
    for img in list(root.iter("img")):
        resource_id = (img.get("data-linked-resource-id") or "").strip()
        # An attachment image is embedded only when its id is a real attachment id; a broken one becomes a link
        # to the page (the same as an image we can't fetch), never an error that stops the whole send.
        if img.get("data-linked-resource-type") == "attachment" and _ATTACHMENT_ID.fullmatch(resource_id):
            filename = (img.get("data-linked-resource-default-alias") or "").strip() or f"image-{resource_id}"
            hint = (img.get("data-linked-resource-content-type") or "").strip() or None
            # Shown at the page's width, but never wider than the cell it sits in (Outlook ignores max-width).
            fits = available_width(img)
            display_width = min(_positive_int(img.get("width")) or fits, fits)
            known = found.get(resource_id)
            if known is None or known.display_width < display_width:
                found[resource_id] = AttachmentImage(resource_id, filename, hint, display_width)
            alt = _page_alt(img, filename)
            img.attrib.clear()
            img.set("src", attachment_cid(resource_id))
            img.set("alt", alt)  # "" here: render_mail names it "Image: <file name>" in the reader's language
            img.set("width", str(display_width))
            continue
        src = _URL_INVISIBLES.sub("", img.get("src") or "")
        scheme = _scheme(src)
        if img.get("data-linked-resource-type") == "attachment":
            label = (img.get("alt") or img.get("data-linked-resource-default-alias") or "").strip()
            _image_to_page_link(img, page_url, label)
        elif scheme in ("http", "https") and _is_confluence_hosted(src, base_url):
            _image_to_page_link(img, page_url, _image_name(img, src))
        elif scheme in ("http", "https") and external_images == "link":
            alt = (img.get("alt") or img.get("title") or "").strip()
            width, height = _positive_int(img.get("width")), _positive_int(img.get("height"))
            fits = available_width(img)
            if width and height and width > fits:  # keep the shape when it has to shrink
                width, height = fits, max(1, round(height * fits / width))
            img.attrib.clear()
            img.set("src", src)
            img.set("alt", alt)
            if width:
                img.set("width", str(min(width, fits)))
            if height:
                img.set("height", str(height))
        else:
            drop_element(img)
    return list(found.values())


def _page_alt(img: etree._Element, filename: str) -> str:
    """The page's own description of an image: its alt or title, unless that is just the file name (Confluence
    writes the file name into alt when the author gave none)."""
    for value in (img.get("alt"), img.get("title")):
        text = (value or "").strip()
        if text and text != filename:
            return text
    return ""


def _image_name(img: etree._Element, src: str) -> str:
    alt = (img.get("alt") or "").strip()
    if alt:
        return alt
    names = parse_qs(urlsplit(src).query).get("name")
    return names[0].strip() if names else ""


def _image_to_page_link(img: etree._Element, page_url: str, label: str) -> None:
    tail = img.tail
    img.attrib.clear()
    img.tag = "a"
    img.set("href", page_url)
    img.set("class", "pm-image-link" if label else f"pm-image-link {LABEL_CLASS_PREFIX}image")
    img.text = label or "Image"
    img.tail = tail


def _positive_int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        number = int(float(value.strip().removesuffix("px")))
    except (ValueError, OverflowError):  # "abc", "nan", "inf"
        return None
    return number if 0 < number <= 10000 else None
