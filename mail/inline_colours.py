"""Confluence's text colours, inlined: the editor writes `<span data-colorid="x">` and puts the colour itself in a
`<style>` block inside the page body (`[data-colorid=x]{color:#ff5630}`, plus a dark-theme twin). That block is
dropped with every other <style> (mail/sanitize.py), so the light-theme colour is copied into each element's
style attribute first; nh3 keeps `color` and nothing else from it."""

from __future__ import annotations

import re

import lxml.html

# One light-theme rule: the selector is the attribute alone (the dark twin starts with html[data-color-mode=dark]).
_RULE = re.compile(
    r"(?:^|[}\s])\[data-colorid=[\"']?([\w-]{1,64})[\"']?\]\s*\{\s*color\s*:\s*"
    r"(#[0-9a-fA-F]{3,8}|rgba?\(\s*[\d.%\s,]{5,40}\))\s*;?\s*\}"
)
_DARK_PREFIX = re.compile(r"data-color-mode\s*=\s*[\"']?dark", re.IGNORECASE)


def colours_from_css(css: str) -> dict[str, str]:
    """colour id → CSS colour, from Confluence's light-theme rules only."""
    colours: dict[str, str] = {}
    for rule in css.split("}"):
        if _DARK_PREFIX.search(rule):
            continue
        match = _RULE.search(rule + "}")
        if match:
            colours.setdefault(match.group(1), match.group(2))
    return colours


def inline_text_colours(root: lxml.html.HtmlElement) -> None:
    """Give every element with a known data-colorid its colour as an inline style (before <style> goes)."""
    css = "".join(style.text or "" for style in root.iter("style"))
    if "data-colorid" not in css:
        return
    colours = colours_from_css(css)
    if not colours:
        return
    for el in root.xpath(".//*[@data-colorid]"):
        colour = colours.get(el.get("data-colorid") or "")
        if colour is None:
            continue
        style = (el.get("style") or "").strip().rstrip(";")
        # The page's own colour comes last, so it wins over any colour the element already had.
        el.set("style", f"{style};color:{colour}" if style else f"color:{colour}")
