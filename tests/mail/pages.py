"""Test data for the renderer: the real Confluence pages of the sandbox (sandbox/fixtures), a page identity,
generated images, and a safety check for mail HTML."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
from PIL import Image

from mail.render import PageInfo, PreparedPage
from sandbox.config import default_fixtures_dir

REPO = Path(__file__).resolve().parents[2]
RENDERED = default_fixtures_dir() / "pages"
HUGE_PAGE = "CE-Playable-Demo-Feedback-Tracking---TE_999391233.html"
GMAIL_CLIP_BYTES = 102 * 1024

PAGE = PageInfo(
    content_id="1237385238",
    title="Usability Testing <PHI> & more",
    web_url="https://acme.atlassian.net/wiki/spaces/VAR/pages/1237385238/Usability+Testing",
    base_url="https://acme.atlassian.net/wiki",
    space_key="VAR",
)


def page_names() -> list[str]:
    return sorted(path.name for path in RENDERED.glob("*.html"))


def body_of(name: str) -> str:
    """The page body as export_view would give it: the inner HTML of the export's main-content div
    (the REST body.view fixture already is a body)."""
    source = (RENDERED / name).read_text(encoding="utf-8")
    if name.endswith(".view.html"):
        return source
    main = lxml.html.document_fromstring(source).get_element_by_id("main-content")
    return (main.text or "") + "".join(lxml.html.tostring(child, encoding="unicode") for child in main)


def image_bytes(
    width: int = 800,
    height: int = 600,
    fmt: str = "PNG",
    mode: str = "RGB",
    colour: tuple[int, ...] = (30, 120, 200),
    **save: object,
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def images_for(prepared: PreparedPage, width: int = 900, height: int = 500) -> dict[str, bytes | None]:
    return {ref.attachment_id: image_bytes(width, height) for ref in prepared.images}


SAFE_SCHEMES = {"http", "https", "mailto", "cid"}
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "poster",
    "srcset",
    "cite",
    "longdesc",
    "data",
    "xlink:href",
    "codebase",
    "manifest",
    "ping",
    "lowsrc",
    "dynsrc",
}
FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "svg",
    "math",
    "video",
    "audio",
    "base",
    "link",
    "noscript",
    "template",
}


def assert_safe_html(html: str) -> None:
    """No active content anywhere in a finished mail: no script-capable tags, no event handlers, no
    javascript:/data: URLs, <style> only in the head, nothing but http(s)/mailto/cid links."""
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "vbscript:" not in lowered
    document = lxml.html.document_fromstring(html)
    for el in document.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        assert tag not in FORBIDDEN_TAGS, f"<{tag}> survived"
        if tag == "style":
            assert el.getparent() is not None and el.getparent().tag == "head", "<style> outside <head>"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"event handler {name} on <{tag}>"
            assert not value.strip().lower().startswith("data:"), f"data: URI in {name}"
            assert "expression(" not in value.lower()
            if name.lower() in URL_ATTRIBUTES:
                assert name.lower() in ("href", "src"), f"{name} on <{tag}>"
                assert urlsplit(value.strip()).scheme.lower() in SAFE_SCHEMES, f"{name}={value!r}"
            if name.lower() == "style":
                assert "url(" not in value.lower(), f"url() in style on <{tag}>"
                assert "data:" not in value.lower(), f"data: in style on <{tag}>"


def content_cell(html: str) -> lxml.html.HtmlElement:
    """The template cell holding the page content: the row after the title's. (The finished mail keeps only the
    classes its @media rules use, so the cell is found by where it is.)"""
    document = lxml.html.document_fromstring(html)
    cells = document.xpath('//h1[contains(@class, "pm-title-heading")]/ancestor::tr[1]/following-sibling::tr[1]/td')
    assert len(cells) == 1
    return cells[0]


# The finished mail keeps only the classes its @media rules use; what a macro became is found by how it looks,
# which is also what the reader sees. Left-border colours of the panels (templates/mail/base.css):
PANEL_BORDERS = {
    "info": "4px solid #0065ff",
    "note": "4px solid #ff991f",
    "warning": "4px solid #de350b",
    "error": "4px solid #de350b",
    "tip": "4px solid #00875a",
    "success": "4px solid #00875a",
    "plain": "4px solid #c1c7d0",
    "expand": "2px solid #dfe1e6",
}


def styled(root: lxml.html.HtmlElement, tag: str, *declarations: str) -> list[lxml.html.HtmlElement]:
    """The <tag> elements under root whose style attribute holds every one of the declarations."""
    found = []
    for el in root.iter(tag):
        style = (el.get("style") or "").replace(" ", "")
        if all(declaration.replace(" ", "") in style for declaration in declarations):
            found.append(el)
    return found


def panel_cells(html: str, kind: str) -> list[lxml.html.HtmlElement]:
    return styled(content_cell(html), "td", "border-left:" + PANEL_BORDERS[kind])


def panel_label(cell: lxml.html.HtmlElement) -> str:
    """The bold first paragraph of a panel (its title or its kind)."""
    first = cell.find("p")
    assert first is not None and "font-weight:bold" in (first.get("style") or "")
    return first.text_content()


def code_cells(html: str) -> list[lxml.html.HtmlElement]:
    return styled(content_cell(html), "td", "monospace")


def lozenges(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return styled(root, "span", "font-size:11px", "font-weight:bold")


def content_tables(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return [table for table in root.iter("table") if table.get("border") == "1" and table.get("cellpadding") == "6"]


def code_text(cell: lxml.html.HtmlElement) -> str:
    """A code cell's text as written: <br> is a line break, no-break spaces are spaces."""
    copy = lxml.html.fromstring(lxml.html.tostring(cell))
    for br in copy.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return copy.text_content().replace("\u00a0", " ")
