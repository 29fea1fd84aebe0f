"""CSS inlining with css-inline: every rule goes into style attributes, @media rules stay in <style>,
and nothing is ever fetched (no remote stylesheets)."""

from __future__ import annotations

import css_inline

_INLINER = css_inline.CSSInliner(
    inline_style_tags=True,
    keep_style_tags=False,
    keep_link_tags=False,
    keep_at_rules=True,
    minify_css=True,
    load_remote_stylesheets=False,
)


class CssInlineError(ValueError):
    """The stylesheet (normally the admin's custom CSS) could not be applied."""


def inline_css(html: str) -> str:
    try:
        return _INLINER.inline(html)
    except css_inline.InlineError as exc:
        raise CssInlineError(f"could not inline the mail CSS: {exc}") from None
