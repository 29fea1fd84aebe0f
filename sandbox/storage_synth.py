"""A plausible `body.storage` for a page known only as rendered HTML (the fixture pages).

Confluence keeps pages in storage format and renders export_view from it; the fixtures only give the
rendered side, so this walks it backwards: macro markup (information panels, panels, code, expand,
status, task lists, mentions, Jira issues, layouts, embedded images and emoticons) becomes the `ac:`
elements that would have produced it, plain XHTML stays, and Confluence's wrappers and classes go.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable

from lxml import etree

_DROPPED = {"style", "script", "input", "fieldset", "form", "iframe", "button", "select", "textarea", "noscript"}
_KEPT = {
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "del",
    "sub",
    "sup",
    "code",
    "pre",
    "blockquote",
    "br",
    "hr",
    "a",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "colgroup",
    "col",
    "time",
}
_VOID = {"br", "hr", "col"}
_ATTRIBUTES = {
    "a": ("href",),
    "td": ("colspan", "rowspan"),
    "th": ("colspan", "rowspan"),
    "ol": ("start",),
    "table": ("data-layout", "data-table-width"),
    "col": ("style",),
    "p": ("style",),
    "span": ("style",),
    "time": ("datetime",),
}
_INFO_CLASSES = {"information": "info", "tip": "tip", "note": "note", "warning": "warning"}
_LOZENGE_COLOURS = {
    "aui-lozenge-success": "Green",
    "aui-lozenge-error": "Red",
    "aui-lozenge-current": "Yellow",
    "aui-lozenge-complete": "Blue",
    "aui-lozenge-progress": "Purple",
}
_MACRO_NAMESPACE = uuid.UUID("2b8f4e1a-7c3d-4a9b-8e6f-1d2c3b4a5f60")

LinkResolver = Callable[[str], str | None]
"""Maps an href of the rendered page to the storage link (`<ac:link>…`) that produced it, or None."""


def export_view_to_storage(container: etree._Element, resolve_link: LinkResolver, excerpt: bool = False) -> str:
    """Storage XHTML for the children of `container` (a parsed export_view body)."""
    writer = _StorageWriter(resolve_link)
    if not excerpt:
        return writer.children(container)
    parts = [_escape(container.text)]
    wrapped = False
    for child in container:
        rendered = writer.node(child)
        if not wrapped and rendered.strip() and _text(child).strip():
            macro_id = uuid.uuid5(_MACRO_NAMESPACE, rendered)
            rendered = (
                f'<ac:structured-macro ac:name="excerpt" ac:schema-version="1" ac:macro-id="{macro_id}">'
                f"<ac:rich-text-body>{rendered}</ac:rich-text-body></ac:structured-macro>"
            )
            wrapped = True
        parts.append(rendered + _escape(child.tail))
    return "".join(parts)


def _escape(text: str | None, quote: bool = False) -> str:
    return html.escape(text or "", quote=quote)


def _text(element: etree._Element) -> str:
    return "".join(element.itertext())


def _classes(element: etree._Element) -> set[str]:
    return set((element.get("class") or "").split())


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _parameter(name: str, value: str) -> str:
    return f'<ac:parameter ac:name="{_escape(name, True)}">{_escape(value)}</ac:parameter>'


def _macro(name: str, params: dict[str, str] | None = None, body: str | None = None, plain: str | None = None) -> str:
    inner = "".join(_parameter(key, value) for key, value in (params or {}).items() if value)
    if body is not None:
        inner += f"<ac:rich-text-body>{body}</ac:rich-text-body>"
    if plain is not None:
        inner += f"<ac:plain-text-body>{_cdata(plain)}</ac:plain-text-body>"
    macro_id = uuid.uuid5(_MACRO_NAMESPACE, name + inner)
    opening = f'<ac:structured-macro ac:name="{name}" ac:schema-version="1" ac:macro-id="{macro_id}"'
    return f"{opening}>{inner}</ac:structured-macro>" if inner else f"{opening} />"


def _find_class(element: etree._Element, name: str) -> etree._Element | None:
    return next((node for node in element.iter() if isinstance(node.tag, str) and name in _classes(node)), None)


class _StorageWriter:
    def __init__(self, resolve_link: LinkResolver) -> None:
        self.resolve_link = resolve_link

    def children(self, element: etree._Element | None) -> str:
        if element is None:
            return ""
        return _escape(element.text) + "".join(self.node(child) + _escape(child.tail) for child in element)

    def node(self, element: etree._Element) -> str:
        if not isinstance(element.tag, str):
            return ""
        tag = element.tag.lower()
        classes = _classes(element)
        if tag in _DROPPED:
            return ""
        if tag == "img":
            return self._image(element, classes)
        special = self._macro_markup(element, tag, classes)
        if special is not None:
            return special
        if tag == "a":
            link = self.resolve_link(element.get("href", ""))
            if link is not None:
                return link.replace("{text}", _cdata(_text(element)))
        if tag in _KEPT or (tag == "span" and element.get("style")):
            return self._plain(element, tag)
        return self.children(element)

    def _plain(self, element: etree._Element, tag: str) -> str:
        attrs = "".join(
            f' {name}="{_escape(element.get(name), True)}"' for name in _ATTRIBUTES.get(tag, ()) if element.get(name)
        )
        inner = self.children(element)
        if tag in _VOID or not inner:
            return f"<{tag}{attrs} />"
        return f"<{tag}{attrs}>{inner}</{tag}>"

    def _macro_markup(self, element: etree._Element, tag: str, classes: set[str]) -> str | None:
        if "expand-container" in classes:
            title = _find_class(element, "expand-control-text")
            return _macro(
                "expand",
                {"title": _text(title).strip() if title is not None else ""},
                self.children(_find_class(element, "expand-content")),
            )
        if "confluence-information-macro" in classes:
            kind = next((c.rsplit("-", 1)[-1] for c in classes if c.startswith("confluence-information-macro-")), "")
            title = _find_class(element, "title")
            return _macro(
                _INFO_CLASSES.get(kind, "info"),
                {"title": _text(title).strip() if title is not None else ""},
                self.children(_find_class(element, "confluence-information-macro-body")),
            )
        if {"code", "panel"} <= classes:
            pre = next(element.iter("pre"), None)
            params = (pre.get("data-syntaxhighlighter-params") or "") if pre is not None else ""
            brush = re.search(r"brush:\s*([\w+#-]+)", params)
            return _macro(
                "code", {"language": brush.group(1) if brush else ""}, None, _text(pre) if pre is not None else ""
            )
        if "panel" in classes:
            content = _find_class(element, "panelContent")
            style = (content.get("style") or "") if content is not None else ""
            colour = re.search(r"background-color:\s*([^;]+)", style)
            header = _find_class(element, "panelHeader")
            return _macro(
                "panel",
                {
                    "bgColor": colour.group(1).strip() if colour else "",
                    "title": _text(header).strip() if header is not None else "",
                },
                self.children(content),
            )
        if "status-macro" in classes:
            colour = next((_LOZENGE_COLOURS[c] for c in classes if c in _LOZENGE_COLOURS), "Grey")
            params = {"colour": colour, "title": _text(element).strip()}
            if "aui-lozenge-subtle" in classes:
                params["subtle"] = "true"
            return _macro("status", params)
        if "inline-task-list" in classes:
            return self._tasks(element)
        if "confluence-userlink" in classes and element.get("data-account-id"):
            return f'<ac:link><ri:user ri:account-id="{_escape(element.get("data-account-id"), True)}" /></ac:link>'
        if "confluence-jim-macro" in classes and element.get("data-jira-key"):
            return _macro("jira", {"server": "System Jira", "key": element.get("data-jira-key", "")})
        if "toc-macro" in classes:
            return _macro("toc")
        if "contentLayout2" in classes:
            return self._layout(element)
        if "plugin_pagetree" in classes:
            return _macro("pagetree", {"root": "@self"})
        if "plugin_attachments_container" in classes:
            return _macro("attachments", {"upload": "false"})
        if "office-container" in classes:
            preview = next(element.iter("img"), None)
            name = re.search(r"[?&]name=([^&]+)", preview.get("src", "")) if preview is not None else None
            filename = html.unescape(name.group(1)).replace("%20", " ") if name else "document.pdf"
            return (
                '<ac:structured-macro ac:name="view-file" ac:schema-version="1">'
                f'<ac:parameter ac:name="name"><ri:attachment ri:filename="{_escape(filename, True)}" />'
                "</ac:parameter></ac:structured-macro>"
            )
        if element.get("data-macro-name") and "conf-macro" in classes:
            return _macro(element.get("data-macro-name", ""))
        return None

    def _tasks(self, listing: etree._Element) -> str:
        tasks = []
        for item in listing:
            if not isinstance(item.tag, str) or item.tag != "li":
                continue
            status = "complete" if "checked" in _classes(item) else "incomplete"
            body = self.children(item)
            tasks.append(
                f"<ac:task><ac:task-id>{_escape(item.get('data-inline-task-id', ''))}</ac:task-id>"
                f"<ac:task-status>{status}</ac:task-status><ac:task-body>{body}</ac:task-body></ac:task>"
            )
        return f"<ac:task-list>{''.join(tasks)}</ac:task-list>"

    def _layout(self, container: etree._Element) -> str:
        sections = []
        for row in container:
            if not isinstance(row.tag, str) or "columnLayout" not in _classes(row):
                continue
            kind = (row.get("data-layout") or "single").replace("-", "_")
            cells = []
            for cell in row:
                if isinstance(cell.tag, str) and "cell" in _classes(cell):
                    cells.append(f"<ac:layout-cell>{self.children(_find_class(cell, 'innerCell'))}</ac:layout-cell>")
            sections.append(f'<ac:layout-section ac:type="{_escape(kind, True)}">{"".join(cells)}</ac:layout-section>')
        return f"<ac:layout>{''.join(sections)}</ac:layout>"

    def _image(self, image: etree._Element, classes: set[str]) -> str:
        if "emoticon" in classes:
            attrs = {
                "ac:name": image.get("data-emoticon-name") or "blue-star",
                "ac:emoji-shortname": image.get("data-emoji-shortname"),
                "ac:emoji-id": image.get("data-emoji-id"),
                "ac:emoji-fallback": image.get("data-emoji-fallback"),
            }
            rendered = "".join(f' {name}="{_escape(value, True)}"' for name, value in attrs.items() if value)
            return f"<ac:emoticon{rendered} />"
        if "confluence-embedded-image" in classes and image.get("data-linked-resource-default-alias"):
            align = next(
                (c.removeprefix("image-") for c in classes if c in ("image-center", "image-left", "image-right")), None
            )
            attrs = {"ac:align": align, "ac:width": image.get("width"), "ac:alt": image.get("alt")}
            rendered = "".join(f' {name}="{_escape(value, True)}"' for name, value in attrs.items() if value)
            filename = _escape(image.get("data-linked-resource-default-alias"), True)
            return f'<ac:image{rendered}><ri:attachment ri:filename="{filename}" /></ac:image>'
        source = image.get("src", "")
        if source.startswith(("http://", "https://")) and "/images/icons/" not in source:
            return f'<ac:image><ri:url ri:value="{_escape(source, True)}" /></ac:image>'
        return ""
