"""Confluence storage format → `export_view` HTML, for `contentbody/convert` and the sandbox's own pages.

A faithful subset: plain XHTML passes through (tables get Confluence's wrappers and classes, headings
their ids), and the common macros and `ac:`/`ri:` elements become the markup Confluence Cloud renders
for them: information panels, panels, code, expand, status lozenges, excerpt, table of contents, Jira
issue links, anchors, images and links to attachments, pages and people, task lists, emoticons and
layouts. Macros the sandbox can't render (recently-updated, children, …) leave an empty macro box,
and `ac:image` of an attachment the page doesn't have becomes an `unresolved-attachment` placeholder.
"""

from __future__ import annotations

import html
import html.entities
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode

from lxml import etree

from sandbox.content import Attachment, Catalog, Page, heading_anchor
from sandbox.directory import Directory

AC = "{http://atlassian.com/content}"
RI = "{http://atlassian.com/resource/identifier}"
_ROOT_OPEN = (
    '<ac:root xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier" '
    'xmlns:at="http://atlassian.com/template">'
)
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DROPPED_TAGS = {"script", "object", "embed", "form", "input", "button", "select", "textarea", "meta", "link"}
_TABLE_CELL_CLASSES = {"th": "confluenceTh", "td": "confluenceTd"}

_INFO_MACROS = {
    "info": ("information", "aui-iconfont-info"),
    "tip": ("tip", "aui-iconfont-approve"),
    "note": ("note", "aui-iconfont-warning"),
    "warning": ("warning", "aui-iconfont-error"),
}
_STATUS_COLOURS = {
    "green": "aui-lozenge-success",
    "red": "aui-lozenge-error",
    "yellow": "aui-lozenge-current",
    "blue": "aui-lozenge-complete",
    "purple": "aui-lozenge-progress",
}
_EMOTICON_FILES = {
    "smile": "smile.png",
    "sad": "sad.png",
    "cheeky": "tongue.png",
    "laugh": "biggrin.png",
    "wink": "wink.png",
    "thumbs-up": "thumbs_up.png",
    "thumbs-down": "thumbs_down.png",
    "information": "information.png",
    "tick": "check.png",
    "cross": "error.png",
    "warning": "warning.png",
    "plus": "add.png",
    "minus": "forbidden.png",
    "question": "help_16.png",
    "light-on": "lightbulb_on.png",
    "light-off": "lightbulb.png",
    "yellow-star": "star_yellow.png",
    "red-star": "star_red.png",
    "green-star": "star_green.png",
    "blue-star": "star_blue.png",
    "heart": "heart.png",
    "broken-heart": "broken_heart.png",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class StorageError(ValueError):
    """The storage value is not well-formed XHTML (Confluence answers 400)."""


@dataclass
class ConvertContext:
    """What links and images resolve against: the site URL, its content and people, the context page."""

    base_url: str
    catalog: Catalog
    directory: Directory
    page: Page | None = None
    space_key: str | None = None

    @property
    def wiki(self) -> str:
        return f"{self.base_url}/wiki"

    @property
    def title(self) -> str:
        return self.page.title if self.page else ""


def convert_storage(storage: str, ctx: ConvertContext) -> str:
    """The export_view HTML of a storage-format body."""
    return _Renderer(ctx).render(parse_storage(storage))


def parse_storage(storage: str) -> etree._Element:
    """Parse a storage fragment (no namespace declarations, HTML named entities allowed)."""
    text = re.sub(r"&([A-Za-z][A-Za-z0-9]*);", _numeric_entity, storage)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        return etree.fromstring(f"{_ROOT_OPEN}{text}</ac:root>", parser)
    except etree.XMLSyntaxError as exc:
        raise StorageError(f"Error parsing xhtml: {exc.msg}") from exc


def _numeric_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES:
        return match.group(0)
    chars = html.entities.html5.get(name + ";")
    if chars is None:
        return match.group(0)  # left for the parser to reject, as Confluence would
    return "".join(f"&#{ord(char)};" for char in chars)


def _append_text(parent: etree._Element, text: str | None) -> None:
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _sub(
    parent: etree._Element, tag: str, attrs: dict[str, str] | None = None, text: str | None = None
) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in (attrs or {}).items() if v is not None})
    if text:
        element.text = text
    return element


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text_of(element: etree._Element) -> str:
    return "".join(element.itertext())


class _Renderer:
    def __init__(self, ctx: ConvertContext) -> None:
        self.ctx = ctx
        self.heading_ids: dict[etree._Element, str] = {}
        self.toc: list[tuple[int, str, str]] = []
        self.expanders = 0

    def render(self, root: etree._Element) -> str:
        self._number_headings(root)
        out = etree.Element("div")
        self._children(root, out)
        serialised = etree.tostring(out, method="html", encoding="unicode")
        return serialised[len("<div>") : -len("</div>")] if serialised != "<div></div>" else ""

    def _number_headings(self, root: etree._Element) -> None:
        used: set[str] = set()
        for element in root.iter(*_HEADINGS):
            text = _text_of(element).strip()
            anchor = heading_anchor(self.ctx.title, text)
            unique, count = anchor, 0
            while unique in used:
                count += 1
                unique = f"{anchor}.{count}"
            used.add(unique)
            self.heading_ids[element] = unique
            self.toc.append((int(element.tag[1]), unique, text))

    def _children(self, source: etree._Element, out: etree._Element) -> None:
        _append_text(out, source.text)
        for child in source:
            self._node(child, out)
            _append_text(out, child.tail)

    def _node(self, element: etree._Element, out: etree._Element) -> None:
        if not isinstance(element.tag, str):
            return  # comments and processing instructions
        tag = element.tag
        if tag.startswith(AC):
            self._ac(_local(tag), element, out)
        elif tag.startswith("{"):
            if not tag.startswith(RI):
                self._children(element, out)
        else:
            self._html(tag.lower(), element, out)

    # -- plain XHTML -----------------------------------------------------------------------------------
    def _html(self, tag: str, element: etree._Element, out: etree._Element) -> None:
        if tag in _DROPPED_TAGS:
            return
        attrs = {
            name: value
            for name, value in element.attrib.items()
            if not name.startswith("{")
            and not name.lower().startswith("on")
            and not (name in ("href", "src") and value.strip().lower().startswith("javascript:"))
        }
        if tag == "table":
            wrapper = _sub(out, "div", {"class": "table-wrap"})
            attrs["class"] = " ".join(filter(None, [attrs.get("class"), "confluenceTable"]))
            target = _sub(wrapper, "table", attrs)
        elif tag in _TABLE_CELL_CLASSES:
            attrs["class"] = " ".join(filter(None, [attrs.get("class"), _TABLE_CELL_CLASSES[tag]]))
            target = _sub(out, tag, attrs)
        elif tag in _HEADINGS:
            attrs["id"] = self.heading_ids.get(element, attrs.get("id", ""))
            target = _sub(out, tag, attrs)
        elif tag == "time":
            target = _sub(out, "time", attrs, _friendly_date(attrs.get("datetime", "")))
        else:
            target = _sub(out, tag, attrs)
        self._children(element, target)

    # -- ac: elements ----------------------------------------------------------------------------------
    def _ac(self, name: str, element: etree._Element, out: etree._Element) -> None:
        if name in ("structured-macro", "macro"):
            self._macro(element, out)
        elif name == "image":
            self._image(element, out)
        elif name == "link":
            self._link(element, out)
        elif name == "emoticon":
            self._emoticon(element, out)
        elif name == "task-list":
            self._task_list(element, out)
        elif name == "layout":
            self._layout(element, out)
        elif name == "adf-extension":
            fallback = element.find(f"{AC}adf-fallback")
            if fallback is not None:
                self._children(fallback, out)
        elif name in ("placeholder", "parameter", "adf-attribute", "task-id", "task-uuid", "task-status"):
            return
        elif name == "inline-comment-marker":
            self._children(element, _sub(out, "span", {"class": "inline-comment-marker"}))
        elif name == "plain-text-body":
            _append_text(out, _text_of(element))
        else:
            self._children(element, out)

    def _macro(self, macro: etree._Element, out: etree._Element) -> None:
        name = (macro.get(f"{AC}name") or "").strip().lower()
        params = _parameters(macro)
        body = macro.find(f"{AC}rich-text-body")
        plain = macro.find(f"{AC}plain-text-body")
        marker = {"data-hasbody": "true" if body is not None or plain is not None else "false", "data-macro-name": name}
        if name in _INFO_MACROS:
            self._info(name, params, body, marker, out)
        elif name == "panel":
            self._panel(params, body, marker, out)
        elif name in ("code", "noformat"):
            self._code(name, params, _text_of(plain) if plain is not None else "", marker, out)
        elif name == "expand":
            self._expand(params, body, marker, out)
        elif name == "status":
            self._status(params, marker, out)
        elif name == "excerpt":
            if params.get("hidden", "").lower() == "true" or body is None:
                return
            inline = params.get("atlas-doc-format-inline", params.get("inline", "")).lower() == "true"
            target = _sub(
                out,
                "span" if inline else "div",
                {"class": f"conf-macro output-{'inline' if inline else 'block'}", **marker},
            )
            self._children(body, target)
        elif name == "toc":
            self._toc(params, marker, out)
        elif name == "jira" and params.get("key"):
            self._jira(params["key"], out)
        elif name == "anchor":
            anchor = params.get("", "")
            _sub(
                out,
                "span",
                {
                    "class": "confluence-anchor-link conf-macro output-inline",
                    "id": heading_anchor(self.ctx.title, anchor),
                    **marker,
                },
            )
        else:
            target = _sub(out, "div", {"class": "conf-macro output-block", **marker})
            if body is not None:
                self._children(body, target)
            elif plain is not None:
                _sub(target, "pre", text=_text_of(plain))

    def _info(
        self,
        name: str,
        params: dict[str, str],
        body: etree._Element | None,
        marker: dict[str, str],
        out: etree._Element,
    ) -> None:
        kind, icon = _INFO_MACROS[name]
        box = _sub(
            out,
            "div",
            {
                "class": f"confluence-information-macro confluence-information-macro-{kind} conf-macro output-block",
                **marker,
            },
        )
        if params.get("title"):
            _sub(box, "p", {"class": "title conf-macro-render"}, params["title"])
        if params.get("icon", "true").lower() != "false":
            _sub(box, "span", {"class": f"aui-icon aui-icon-small {icon} confluence-information-macro-icon"})
        content = _sub(box, "div", {"class": "confluence-information-macro-body"})
        if body is not None:
            self._children(body, content)

    def _panel(
        self, params: dict[str, str], body: etree._Element | None, marker: dict[str, str], out: etree._Element
    ) -> None:
        background = params.get("bgColor", "")
        style = (f"background-color: {background};" if background else "") + "border-width: 1px;"
        panel = _sub(out, "div", {"class": "panel conf-macro output-block", "style": style, **marker})
        if params.get("title"):
            header = _sub(panel, "div", {"class": "panelHeader", "style": "border-bottom-width: 1px;"})
            _sub(header, "b", text=params["title"])
        content = _sub(
            panel, "div", {"class": "panelContent", "style": f"background-color: {background};" if background else None}
        )
        if body is not None:
            self._children(body, content)

    def _code(self, name: str, params: dict[str, str], code: str, marker: dict[str, str], out: etree._Element) -> None:
        if name == "noformat":
            box = _sub(
                out,
                "div",
                {"class": "preformatted panel conf-macro output-block", "style": "border-width: 1px;", **marker},
            )
            _sub(_sub(box, "div", {"class": "preformattedContent panelContent"}), "pre", text=code)
            return
        box = _sub(
            out, "div", {"class": "code panel pdl conf-macro output-block", "style": "border-width: 1px;", **marker}
        )
        if params.get("title"):
            header = _sub(box, "div", {"class": "codeHeader panelHeader pdl", "style": "border-bottom-width: 1px;"})
            _sub(header, "b", {"class": "code-title"}, params["title"])
        brush = params.get("language") or "java"
        gutter = "true" if params.get("linenumbers", "").lower() == "true" else "false"
        content = _sub(box, "div", {"class": "codeContent panelContent pdl"})
        _sub(
            content,
            "pre",
            {
                "class": "syntaxhighlighter-pre",
                "data-syntaxhighlighter-params": f"brush: {brush}; gutter: {gutter}; theme: Confluence",
                "data-theme": "Confluence",
            },
            code,
        )

    def _expand(
        self, params: dict[str, str], body: etree._Element | None, marker: dict[str, str], out: etree._Element
    ) -> None:
        self.expanders += 1
        number = str(100000000 + self.expanders * 7919)
        box = _sub(
            out, "div", {"id": f"expander-{number}", "class": "expand-container conf-macro output-block", **marker}
        )
        control = _sub(
            box, "div", {"id": f"expander-control-{number}", "class": "expand-control", "aria-expanded": "false"}
        )
        icon = _sub(control, "span", {"class": "expand-control-icon"})
        _sub(
            icon,
            "img",
            {
                "class": "expand-control-image",
                "style": "vertical-align:middle;",
                "src": f"{self.ctx.wiki}/images/icons/grey_arrow_down.png",
            },
        )
        _sub(control, "span", {"class": "expand-control-text"}, params.get("title") or "Click here to expand...")
        content = _sub(box, "div", {"id": f"expander-content-{number}", "class": "expand-content expand-hidden"})
        if body is not None:
            self._children(body, content)

    def _status(self, params: dict[str, str], marker: dict[str, str], out: etree._Element) -> None:
        classes = ["status-macro", "aui-lozenge", "aui-lozenge-visual-refresh"]
        colour = _STATUS_COLOURS.get(params.get("colour", params.get("color", "")).strip().lower())
        if colour:
            classes.append(colour)
        if params.get("subtle", "").lower() == "true":
            classes.append("aui-lozenge-subtle")
        classes.extend(["conf-macro", "output-inline"])
        _sub(out, "span", {"class": " ".join(classes), **marker}, params.get("title") or params.get("colour", ""))

    def _toc(self, params: dict[str, str], marker: dict[str, str], out: etree._Element) -> None:
        low = int(params["minLevel"]) if params.get("minLevel", "").isdigit() else 1
        high = int(params["maxLevel"]) if params.get("maxLevel", "").isdigit() else 7
        box = _sub(
            out,
            "div",
            {
                "class": "toc-macro client-side-toc-macro conf-macro output-block",
                "data-headerelements": "H1,H2,H3,H4,H5,H6,H7",
                **marker,
            },
        )
        # Each open list remembers the heading level of its items; deeper headings nest below the last item.
        stack: list[tuple[int | None, etree._Element]] = [(None, _sub(box, "ul"))]
        for level, anchor, text in self.toc:
            if not low <= level <= high:
                continue
            while len(stack) > 1 and (stack[-1][0] or 0) > level:
                stack.pop()
            item_level, listing = stack[-1]
            if item_level is None:
                stack[-1] = (level, listing)
            elif level > item_level and len(listing):
                listing = _sub(listing[-1], "ul")
                stack.append((level, listing))
            _sub(_sub(listing, "li"), "a", {"href": f"#{anchor}"}, text)

    def _jira(self, key: str, out: etree._Element) -> None:
        span = _sub(out, "span", {"class": "confluence-jim-macro jira-issue", "data-jira-key": key})
        _sub(span, "a", {"href": f"{self.ctx.base_url}/browse/{quote(key)}", "class": "jira-issue-key"}, key)

    # -- images, links, emoticons --------------------------------------------------------------------
    def _image(self, image: etree._Element, out: etree._Element) -> None:
        attachment_ref = image.find(f"{RI}attachment")
        url_ref = image.find(f"{RI}url")
        align = image.get(f"{AC}align", "")
        wrapper_classes = ["confluence-embedded-file-wrapper"]
        image_classes = ["confluence-embedded-image"]
        if align in ("center", "left", "right"):
            wrapper_classes.append(f"image-{align}-wrapper")
            image_classes.append(f"image-{align}")
        width = image.get(f"{AC}width")
        if width:
            wrapper_classes.append("confluence-embedded-manual-size")
        attrs = {
            "alt": image.get(f"{AC}alt"),
            "title": image.get(f"{AC}title"),
            "width": width,
            "height": image.get(f"{AC}height"),
            "loading": "lazy",
        }
        if attachment_ref is not None:
            attachment = self._resolve_attachment(attachment_ref)
            if attachment is None:
                filename = attachment_ref.get(f"{RI}filename", "")
                _sub(out, "span", {"class": "unresolved-attachment", "data-filename": filename}, filename)
                return
            wrapper = _sub(out, "span", {"class": " ".join(wrapper_classes)})
            _sub(wrapper, "img", {"class": " ".join(image_classes), **attrs, **self._attachment_attrs(attachment)})
        elif url_ref is not None:
            source = url_ref.get(f"{RI}value", "")
            if source.strip().lower().startswith("javascript:"):
                return
            wrapper = _sub(out, "span", {"class": " ".join(wrapper_classes)})
            image_classes.append("confluence-external-resource")
            _sub(wrapper, "img", {"class": " ".join(image_classes), **attrs, "src": source, "data-image-src": source})
        else:
            return
        caption = image.find(f"{AC}caption")
        if caption is not None:
            self._children(caption, _sub(out, "span", {"class": "confluence-embedded-image-caption"}))

    def _attachment_attrs(self, attachment: Attachment) -> dict[str, str]:
        source = f"{self.ctx.wiki}{attachment.download_path()}"
        page = self.ctx.catalog.page(attachment.page_id)
        return {
            "src": source,
            "data-image-src": source,
            "data-height": str(attachment.blob.height) if attachment.blob.is_image else None,
            "data-width": str(attachment.blob.width) if attachment.blob.is_image else None,
            "data-unresolved-comment-count": "0",
            "data-linked-resource-id": attachment.id,
            "data-linked-resource-version": "1",
            "data-linked-resource-type": "attachment",
            "data-linked-resource-default-alias": attachment.title,
            "data-base-url": self.ctx.wiki,
            "data-linked-resource-content-type": attachment.media_type,
            "data-linked-resource-container-id": attachment.page_id,
            "data-linked-resource-container-version": str(page.version) if page else "1",
            "data-media-id": attachment.file_id,
            "data-media-type": "file",
        }

    def _resolve_attachment(self, ref: etree._Element) -> Attachment | None:
        filename = ref.get(f"{RI}filename", "")
        owner = self.ctx.page
        page_ref = ref.find(f"{RI}page")
        if page_ref is not None:
            owner = self.ctx.catalog.page_titled(
                page_ref.get(f"{RI}content-title", ""), page_ref.get(f"{RI}space-key") or None
            )
        return owner.attachment_named(filename) if owner else None

    def _link(self, link: etree._Element, out: etree._Element) -> None:
        anchor = link.get(f"{AC}anchor")
        plain_body = link.find(f"{AC}plain-text-link-body")
        rich_body = link.find(f"{AC}link-body")
        user_ref, page_ref = link.find(f"{RI}user"), link.find(f"{RI}page")
        attachment_ref, url_ref = link.find(f"{RI}attachment"), link.find(f"{RI}url")
        space_ref = link.find(f"{RI}space")
        default_text = ""
        if user_ref is not None:
            account_id = user_ref.get(f"{RI}account-id") or user_ref.get(f"{RI}userkey") or ""
            user = self.ctx.directory.user(account_id)
            element = _sub(
                out,
                "a",
                {
                    "class": "confluence-userlink user-mention" + ("" if user else " unresolved"),
                    "data-account-id": account_id,
                    "href": f"{self.ctx.wiki}/people/{quote(account_id, safe=':')}?ref=confluence",
                    "target": "_blank",
                    "data-linked-resource-type": "userinfo",
                    "data-base-url": self.ctx.wiki,
                },
            )
            default_text = user.display_name if user else f"Unknown user ({account_id})"
        elif page_ref is not None:
            title = page_ref.get(f"{RI}content-title", "")
            space_key = page_ref.get(f"{RI}space-key") or self.ctx.space_key
            page = self.ctx.catalog.page_titled(title, space_key) or self.ctx.catalog.page_titled(title)
            fragment = f"#{heading_anchor(page.title, anchor)}" if page and anchor else ""
            if page:
                element = _sub(
                    out,
                    "a",
                    {
                        "href": f"{self.ctx.wiki}{page.webui_path()}{fragment}",
                        "data-linked-resource-id": page.id,
                        "data-linked-resource-version": str(page.version),
                        "data-linked-resource-type": "page",
                    },
                )
            else:
                query = urlencode({"spaceKey": space_key or "", "title": title})
                element = _sub(
                    out, "a", {"class": "createlink", "href": f"{self.ctx.wiki}/pages/createpage.action?{query}"}
                )
            default_text = title
        elif attachment_ref is not None:
            attachment = self._resolve_attachment(attachment_ref)
            filename = attachment_ref.get(f"{RI}filename", "")
            if attachment is None:
                element = _sub(out, "span", {"class": "unresolved-attachment", "data-filename": filename})
            else:
                element = _sub(
                    out,
                    "a",
                    {
                        "href": f"{self.ctx.wiki}{attachment.download_path()}",
                        "data-linked-resource-id": attachment.id,
                        "data-linked-resource-version": "1",
                        "data-linked-resource-type": "attachment",
                        "data-linked-resource-default-alias": attachment.title,
                        "data-linked-resource-content-type": attachment.media_type,
                        "data-linked-resource-container-id": attachment.page_id,
                    },
                )
            default_text = filename
        elif space_ref is not None:
            key = space_ref.get(f"{RI}space-key", "")
            element = _sub(out, "a", {"href": f"{self.ctx.wiki}/spaces/{quote(key)}"})
            default_text = key
        elif url_ref is not None:
            target = url_ref.get(f"{RI}value", "")
            element = _sub(out, "a", {"href": target if not target.lower().startswith("javascript:") else "#"})
            default_text = target
        elif anchor:
            element = _sub(out, "a", {"href": f"#{heading_anchor(self.ctx.title, anchor)}"})
            default_text = anchor
        else:
            element = _sub(out, "span")
        if rich_body is not None:
            self._children(rich_body, element)
        elif plain_body is not None:
            element.text = _text_of(plain_body)
        else:
            element.text = default_text

    def _emoticon(self, emoticon: etree._Element, out: etree._Element) -> None:
        name = emoticon.get(f"{AC}name", "blue-star")
        emoji_id = emoticon.get(f"{AC}emoji-id")
        if emoji_id and not emoji_id.startswith("atlassian-") and re.fullmatch(r"[0-9a-f-]+", emoji_id):
            source = f"{self.ctx.wiki}/images/icons/emoticons/72/{emoji_id}.png"
        else:
            source = f"{self.ctx.wiki}/images/icons/emoticons/{_EMOTICON_FILES.get(name, 'star_blue.png')}"
        _sub(
            out,
            "img",
            {
                "class": f"emoticon emoticon-{name}",
                "data-emoji-id": emoji_id,
                "data-emoji-shortname": emoticon.get(f"{AC}emoji-shortname"),
                "data-emoji-fallback": emoticon.get(f"{AC}emoji-fallback"),
                "src": source,
                "width": "16",
                "height": "16",
                "data-emoticon-name": name,
                "alt": f"({name.replace('-', ' ')})",
            },
        )

    # -- tasks and layouts ------------------------------------------------------------------------------
    def _task_list(self, task_list: etree._Element, out: etree._Element) -> None:
        owner = self.ctx.page.id if self.ctx.page else ""
        listing = _sub(out, "ul", {"class": "inline-task-list", "data-inline-tasks-content-id": owner})
        for task in task_list.findall(f"{AC}task"):
            status = (task.findtext(f"{AC}task-status") or "").strip()
            item = _sub(
                listing,
                "li",
                {
                    "class": "checked" if status == "complete" else None,
                    "data-inline-task-id": (task.findtext(f"{AC}task-id") or "").strip(),
                },
            )
            body = task.find(f"{AC}task-body")
            if body is not None:
                self._children(body, _sub(item, "span", {"class": "placeholder-inline-tasks"}))

    def _layout(self, layout: etree._Element, out: etree._Element) -> None:
        container = _sub(out, "div", {"class": "contentLayout2"})
        for section in layout.findall(f"{AC}layout-section"):
            kind = (section.get(f"{AC}type") or "single").replace("_", "-")
            row = _sub(container, "div", {"class": f"columnLayout {kind}", "data-layout": kind})
            for cell in section.findall(f"{AC}layout-cell"):
                box = _sub(
                    _sub(row, "div", {"class": "cell normal", "data-type": "normal"}), "div", {"class": "innerCell"}
                )
                self._children(cell, box)


def _parameters(macro: etree._Element) -> dict[str, str]:
    params: dict[str, str] = {}
    for param in macro.findall(f"{AC}parameter"):
        name = param.get(f"{AC}name", "")
        reference = next(iter(param), None)
        if reference is not None and isinstance(reference.tag, str) and reference.tag.startswith(RI):
            params[name] = reference.get(f"{RI}filename") or reference.get(f"{RI}content-title") or ""
        else:
            params[name] = _text_of(param).strip()
    return params


def _friendly_date(value: str) -> str:
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return html.unescape(value)
    return f"{_MONTHS[day.month - 1]} {day.day:02d}, {day.year}"
