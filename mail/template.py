"""The mail page template (Jinja2, autoescaped) rendered without Flask, so previews, sends and the
benchmark all use exactly the same markup."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "mail"

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@lru_cache(maxsize=1)
def base_css() -> str:
    return (TEMPLATE_DIR / "base.css").read_text(encoding="utf-8")


def text_with_breaks(text: str) -> Markup:
    """Plain text for HTML: escaped, its line breaks kept as <br>."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


# Anything in CSS that can make a mail client load something or run something.
_CSS_THAT_LOADS = re.compile(
    r"url\s*\(|@import|expression\s*\(|image-set\s*\(|\\|javascript:|behavior\s*:", re.IGNORECASE
)


def usable_custom_css(css: str) -> bool:
    """The admin's CSS is validated when it is saved; should CSS that loads anything reach a mail all
    the same, it is left out entirely rather than sent (the page still goes out, in the base style)."""
    return bool(css.strip()) and not _CSS_THAT_LOADS.search(css)


def style_block(css: str) -> Markup:
    """CSS for a <style> element: "</" is escaped (\\/ is "/" in CSS) so it cannot end the element."""
    return Markup(css.replace("</", "<\\/"))  # noqa: S704 - CSS text, made inert for the HTML parser


@lru_cache(maxsize=16)
def mail_css(custom_css: str = "") -> str:
    """The mail's stylesheet: the base CSS, then the admin's custom CSS when it is usable, made inert for <style>."""
    css = base_css() + ("\n/* custom */\n" + custom_css if usable_custom_css(custom_css) else "")
    return str(style_block(css))


def render_page_html(
    *,
    lang: str,
    title: str,
    preheader: str,
    header_text: str,
    intro: str,
    message: str,
    page_url: str,
    content_html: str,
    button_label: str,
    footer: str,
    custom_css: str = "",
    css_in_head: bool = True,
) -> str:
    """The full HTML document, before CSS inlining. content_html must already be sanitised. With css_in_head
    False its <style> is left empty: the inliner is handed mail_css(custom_css) itself (mail/inline.py)."""
    return _ENV.get_template("page.html").render(
        lang=lang,
        title=title,
        preheader=preheader,
        header_text=text_with_breaks(header_text) if header_text.strip() else "",
        intro=intro,
        message=text_with_breaks(message) if message.strip() else "",
        page_url=page_url,
        content=Markup(content_html),  # noqa: S704 - sanitised by nh3 (mail.sanitize) before it gets here
        button_label=button_label,
        footer=footer,
        css=Markup(mail_css(custom_css)) if css_in_head else "",  # noqa: S704 - made inert by mail_css
    )
