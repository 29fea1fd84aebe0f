"""The renderer's entry points: page HTML → prepared page, parsed once (prepare_page) → finished mail parts
(render_mail: the text part from the tree, the HTML part serialised once and sanitised last by nh3, then CSS
inlined). Pure and network-free: callers fetch the page and the image bytes and pass them in."""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

import lxml.html
from markupsafe import escape

from mail.images import ImageError, ScaledImage, scale_image
from mail.inline import inline_css
from mail.inline_budget import cut_tree, drop_what_cannot_fit, finish, mark_cut_points, new_token, tidy
from mail.inline_colours import inline_text_colours
from mail.inline_wrap import CONTENT_WIDTH, make_width_safe
from mail.macros import convert_macros
from mail.sanitize import (
    absolutize_links,
    apply_image_policy,
    attachment_id_from_src,
    inner_html,
    parse_fragment,
    remove_unsafe,
    restrict_to_allowlist,
    sanitize_fragment,
    sanitize_mail_fragment,
)
from mail.strings import ENGLISH, LABEL_CLASS_PREFIX, MailStrings, strings_for
from mail.template import mail_css, render_page_html
from mail.text import compose_text, element_to_text

_EXTENSIONS = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",), "image/gif": (".gif",)}
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\"]+')


def _require_http_url(value: str, name: str) -> None:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an absolute http(s) URL")


@dataclass(frozen=True)
class Layout:
    header_text: str = ""  # admin header text shown above everything
    button_label: str = ""  # "" → localized default ("Open in Confluence" / "In Confluence öffnen")
    custom_css: str = ""  # admin CSS, validated elsewhere; after base CSS (left out if it loads anything)
    image_mode: Literal["original", "fit", "max_side"] = "fit"  # fit = scale down to mail content width
    image_max_side: int = 1200
    external_images: Literal["link", "drop"] = "link"

    def __post_init__(self) -> None:
        if self.image_mode not in ("original", "fit", "max_side"):
            raise ValueError("image_mode must be original, fit or max_side")
        if self.external_images not in ("link", "drop"):
            raise ValueError("external_images must be link or drop")
        if not isinstance(self.image_max_side, int) or not 16 <= self.image_max_side <= 10000:
            raise ValueError("image_max_side must be a whole number of pixels between 16 and 10000")


@dataclass(frozen=True)
class PageInfo:
    content_id: str
    title: str
    web_url: str  # absolute URL of the page in Confluence
    base_url: str  # tenant base URL, e.g. https://acme.atlassian.net/wiki
    space_key: str = ""

    def __post_init__(self) -> None:
        _require_http_url(self.web_url, "web_url")
        _require_http_url(self.base_url, "base_url")


@dataclass(frozen=True)
class MailContent:
    sender_name: str
    message: str = ""
    locale: str = "en"  # "de*" → German chrome


@dataclass(frozen=True)
class ImageRef:
    attachment_id: str
    filename: str
    content_type_hint: str | None
    display_width: int = CONTENT_WIDTH  # px, the widest the mail shows it anywhere on the page


# Images are scaled to twice the width they are shown at: sharp on high-density screens (phones, most laptops),
# and no bigger (Apple Mail shows a CID image at its pixel size unless told otherwise: it gets width:Npx too).
DENSITY = 2


@dataclass(frozen=True, eq=False)
class PreparedPage:
    """A page made ready for mail, parsed once: render_mail writes both the HTML and the text part from (a copy of)
    this tree; the allowlist sanitiser runs on the HTML it serialises, last."""

    content: lxml.html.HtmlElement = field(repr=False)  # attachment images carry a placeholder cid: src
    images: list[ImageRef]

    @cached_property
    def body_html(self) -> str:
        """The prepared page as sanitised HTML."""
        return sanitize_fragment(inner_html(self.content))


@dataclass(frozen=True)
class InlineImage:
    cid: str  # without angle brackets; the HTML says src="cid:<cid>"
    content_type: str
    data: bytes
    filename: str


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    html: str
    text: str
    images: list[InlineImage]
    truncated: bool = False  # the page was cut to keep the HTML under Gmail's clipping size


# The last line of a page cut for size (mail/inline_budget.py), in the reader's language.
CONTINUES = {"en": "The page continues in Confluence.", "de": "Die Seite geht in Confluence weiter."}


def prepare_page(export_view_html: str, page: PageInfo, layout: Layout) -> PreparedPage:
    """Sanitise a page's export_view HTML for mail and list the attachment images it shows."""
    root = parse_fragment(export_view_html)
    inline_text_colours(root)  # reads the page's <style>, which remove_unsafe drops
    remove_unsafe(root)
    convert_macros(root, page.web_url, page.base_url)
    found = apply_image_policy(root, layout.external_images, page.web_url, page.base_url)
    absolutize_links(root, page.web_url, page.base_url)
    restrict_to_allowlist(root)
    return PreparedPage(content=root, images=[ImageRef(*image) for image in found])


def render_mail(
    prepared: PreparedPage,
    page: PageInfo,
    content: MailContent,
    layout: Layout,
    subject: str,
    image_data: Mapping[str, bytes | None],
) -> RenderedMail:
    """The finished HTML (CSS inlined, images by Content-ID) and text parts of the mail.

    image_data maps attachment id → bytes fetched by the caller; None (or a missing id, or bytes that
    are not a usable image) turns that image into a link to the page with its alt text."""
    strings = strings_for(content.locale)
    # A copy (in C, cheaper than parsing again): the prepared page stays as it was, for another render.
    root = copy.deepcopy(prepared.content)
    localize_labels(root, strings)
    images = embed_images(root, prepared.images, image_data, layout, page.web_url, strings)
    make_width_safe(root)  # it shortens link labels: before what can fit is measured
    css = mail_css(layout.custom_css)
    drop_what_cannot_fit(root, css)
    token = new_token()
    mark_cut_points(root, token)
    content_html = tidy(sanitize_mail_fragment(inner_html(root)))

    intro = strings.intro(content.sender_name)
    button_label = layout.button_label.strip() or strings.open_in_confluence
    html = render_page_html(
        lang=strings.lang,
        title=page.title,
        preheader=f"{intro}: {page.title}",
        header_text=layout.header_text,
        intro=intro,
        message=content.message,
        page_url=page.web_url,
        content_html=content_html,
        button_label=button_label,
        footer=strings.footer,
        custom_css=layout.custom_css,
        css_in_head=False,
    )
    continues = CONTINUES.get(strings.lang, CONTINUES["en"])
    inlined = inline_css(html, css)
    finished = finish(inlined, token=token, note_html=continues_note(continues, page.web_url))
    if finished.cut is not None:
        cut_tree(root, finished.cut)  # the text part ends where the HTML part does
        images = [image for image in images if f"cid:{image.cid}" in finished.html]
    text = compose_text(
        header_text=layout.header_text,
        intro=intro,
        message=content.message,
        title=page.title,
        page_url=page.web_url,
        body_text=element_to_text(root, image_word=strings.image_word),
        button_label=button_label,
        footer=strings.footer,
        continues=continues if finished.cut is not None else "",
    )
    return RenderedMail(
        subject=subject.strip(), html=finished.html, text=text, images=images, truncated=finished.cut is not None
    )


def continues_note(text: str, page_url: str) -> str:
    """The box that ends a page cut for size; already styled (it is added after inlining)."""
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin:12px 0 0">'
        '<tr><td style="padding:8px 12px;border-left:4px solid #0065ff;background-color:#deebff;font-weight:bold">'
        f'<a href="{escape(page_url)}" style="color:#0747a6">{escape(text)}</a></td></tr></table>'
    )


def localize_labels(root: lxml.html.HtmlElement, strings: MailStrings) -> None:
    """Put the reader's language into the labels prepare_page marked with pm-k-* classes."""
    if strings is ENGLISH:  # prepare_page already wrote them in English
        return
    for el in root.xpath(f'.//*[contains(@class, "{LABEL_CLASS_PREFIX}")]'):
        for name in (el.get("class") or "").split():
            if name.startswith(LABEL_CLASS_PREFIX):
                for child in list(el):
                    el.remove(child)
                el.text = strings.label(name.removeprefix(LABEL_CLASS_PREFIX))
                break


def embed_images(
    root: lxml.html.HtmlElement,
    refs: list[ImageRef],
    image_data: Mapping[str, bytes | None],
    layout: Layout,
    page_url: str,
    strings: MailStrings,
) -> list[InlineImage]:
    """Swap attachment placeholders for scaled CID images (each attachment once); an image without
    usable bytes becomes a link to the page."""
    by_id = {ref.attachment_id: ref for ref in refs}
    # Sequential: a send scales images as they download (mail/send.py), so here they are usually mail-sized
    # already and pass through without decoding.
    images = [(img, attachment_id_from_src(img.get("src") or "")) for img in root.iter("img")]
    done: dict[str, tuple[InlineImage, ScaledImage] | None] = {}
    parts: list[InlineImage] = []
    for img, attachment_id in images:
        if attachment_id is None:
            continue
        ref = by_id.get(attachment_id)
        if attachment_id not in done:
            scaled = _scale(image_data.get(attachment_id), layout, ref.display_width) if ref else None
            done[attachment_id] = _scaled_part(ref, scaled, len(parts) + 1)
            if done[attachment_id] is not None:
                parts.append(done[attachment_id][0])
        embedded = done[attachment_id]
        filename = ref.filename if ref else ""
        alt = (img.get("alt") or "").strip() or (f"{strings.label('image')}: {filename}" if filename else "")
        if embedded is None:
            # Not fetched or not an image: a labelled placeholder linking to the page, where the reader can see it.
            tail = img.tail
            img.attrib.clear()
            img.tag = "a"
            img.set("href", page_url)
            img.set("class", "pm-image-link")
            img.text = alt or strings.label("image")
            img.tail = tail
            continue
        part, scaled = embedded
        try:
            shown = int(img.get("width") or scaled.width)
        except ValueError:
            shown = scaled.width
        width = max(1, min(shown, scaled.width, CONTENT_WIDTH))
        height = max(1, round(scaled.height * width / scaled.width))
        img.attrib.clear()
        img.set("src", "cid:" + part.cid)
        img.set("alt", alt)
        img.set("width", str(width))
        img.set("height", str(height))
        img.set("style", f"width:{width}px")  # Apple Mail ignores the attribute on CID images
    return parts


def _scale(data: bytes | None, layout: Layout, display_width: int = CONTENT_WIDTH) -> ScaledImage | None:
    if not data:
        return None
    try:
        return scale_image(
            bytes(data),
            mode=layout.image_mode,
            max_side=layout.image_max_side,
            content_width=DENSITY * CONTENT_WIDTH,
            max_width=DENSITY * display_width,
        )
    except ImageError:
        return None


def _scaled_part(
    ref: ImageRef | None, scaled: ScaledImage | None, number: int
) -> tuple[InlineImage, ScaledImage] | None:
    if ref is None or scaled is None:
        return None
    cid = f"img{number}.{secrets.token_hex(8)}@pagemail"
    part = InlineImage(
        cid=cid,
        content_type=scaled.content_type,
        data=scaled.data,
        filename=_image_filename(ref.filename, scaled.content_type, number),
    )
    return part, scaled


def _image_filename(filename: str, content_type: str, number: int) -> str:
    """The attachment's name, made header-safe, with an extension that matches the (converted) type."""
    name = _UNSAFE_FILENAME.sub("_", filename).strip(" ._") or f"image-{number}"
    extensions = _EXTENSIONS.get(content_type, ())
    path = PurePosixPath(name)
    if extensions and path.suffix.lower() not in extensions:
        name = (path.stem if path.suffix else name) + extensions[0]
    return name
