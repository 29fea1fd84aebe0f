"""CSS inlining with css-inline: every rule goes into style attributes, @media rules stay in <style>,
and nothing is ever fetched (no remote stylesheets)."""

from __future__ import annotations

from functools import lru_cache

import css_inline


class CssInlineError(ValueError):
    """The stylesheet (normally the admin's custom CSS) could not be applied."""


# Kept in <style> as it is, not inlined: the mail opts out of dark mode (README, "Mail clients"), for clients that
# honour color-scheme on the root but not the meta tags.
KEPT_CSS = ":root{color-scheme:light only}"


@lru_cache(maxsize=16)
def _inliner(css: str) -> css_inline.CSSInliner:
    """One inliner per stylesheet (the base CSS plus a tenant's custom CSS), reused for every mail: the stylesheet
    is handed over once instead of being read out of each document's <style>."""
    return css_inline.CSSInliner(
        inline_style_tags=True,
        keep_style_tags=False,
        keep_link_tags=False,
        keep_at_rules=True,
        minify_css=True,
        load_remote_stylesheets=False,
        extra_css=css or None,
    )


def inline_css(html: str, css: str = "") -> str:
    """html with `css` (and any <style> it holds) inlined; @media rules are kept in a <style> in its head."""
    try:
        inlined = _inliner(css).inline(html)
    except (css_inline.InlineError, ValueError) as exc:
        raise CssInlineError(f"could not inline the mail CSS: {exc}") from None
    # css-inline writes what it keeps (@media) first in <head>; the MSO <style> in a comment is left alone.
    if "<head><style>" in inlined:
        return inlined.replace("<head><style>", "<head><style>" + KEPT_CSS, 1)
    return inlined.replace("</head>", f"<style>{KEPT_CSS}</style></head>", 1)
