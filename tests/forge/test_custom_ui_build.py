"""The Forge Custom UI build (forge/ui/build.mjs) makes each resource from the Connect page's own files: the markup of
templates/<page>.html as the Connect app serves it, the same static scripts, styles and strings byte for byte, and
the Forge transport where the Connect page loads all.js. So the two doors can't drift apart."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask, render_template

from tests.forge.custom_ui import PAGES, built_custom_ui

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
ALL_JS = "https://connect-cdn.atl-paas.net/all.js"
TRANSPORT = "forge-host.js"
URL_ATTRIBUTES = ("href", "src", "data-strings-url")

Item = tuple[str, ...]


class Outline(HTMLParser):
    """A page as a list of tags (attributes sorted, file URLs as paths below static/) and whitespace-collapsed text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str, tuple[tuple[str, str], ...]] | Item] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        normal = tuple(sorted((name, self._value(name, value or "")) for name, value in attrs))
        self.items.append(("start", tag, normal))

    def handle_endtag(self, tag: str) -> None:
        self.items.append(("end", tag))

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text:
            self.items.append(("text", text))

    @staticmethod
    def _value(name: str, value: str) -> str:
        # The Connect page names its files below /static/ (Flask's url_for), the Forge page beside index.html.
        return value.removeprefix("/static/") if name in URL_ATTRIBUTES else value


def outline(html: str) -> list:
    parser = Outline()
    parser.feed(html)
    parser.close()
    return parser.items


def part(items: list, tag: str) -> list:
    start = next(i for i, item in enumerate(items) if item[:2] == ("start", tag))
    end = next(i for i, item in enumerate(items) if item == ("end", tag))
    return items[start : end + 1]


def connect_page(app: Flask, page: str) -> str:
    """The Connect page as views/modules.py renders it (its context ids filled in per request, empty here)."""
    with app.test_request_context("/"):
        return render_template(f"{page}.html", all_js_url=ALL_JS, locale="en", content_id="", space_key="")


@pytest.fixture(scope="module")
def dist() -> Path:
    return built_custom_ui()


@pytest.mark.parametrize("page", PAGES)
def test_the_forge_page_has_the_connect_pages_markup(app: Flask, dist: Path, page: str) -> None:
    forge = outline((dist / page / "index.html").read_text(encoding="utf-8"))
    connect = outline(connect_page(app, page))

    assert part(forge, "body") == part(connect, "body")
    # The head differs in the host script alone: the Forge transport where Connect loads all.js, at the same place.
    all_js = ("start", "script", (("data-options", "sizeToParent:true"), ("src", ALL_JS)))
    transport = ("start", "script", (("src", TRANSPORT),))
    assert [transport if item == all_js else item for item in part(connect, "head")] == part(forge, "head")


@pytest.mark.parametrize("page", PAGES)
def test_the_forge_page_ships_the_static_files_it_uses_unchanged(dist: Path, page: str) -> None:
    files = [
        value
        for item in outline((dist / page / "index.html").read_text(encoding="utf-8"))
        if item[0] == "start"
        for name, value in item[2]
        if name in URL_ATTRIBUTES
    ]
    assert TRANSPORT in files and "pagemail.js" in files and f"{page}.js" in files
    for file in files:
        if file != TRANSPORT:
            assert (dist / page / file).read_bytes() == (STATIC / file).read_bytes(), file
    transport = (dist / page / TRANSPORT).read_text(encoding="utf-8")
    assert "pagemailHost" in transport and "__bridge" in transport, "the Forge transport, @forge/bridge bundled in"
