"""`contentbody/convert`: storage → export_view on real storage samples (md2conf, mark, Kafka, synthetic)."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
import requests

from sandbox.config import default_fixtures_dir
from sandbox.directory import OUTSIDER_ID, REGULAR_ID
from tests.sandbox.conftest import TIMEOUT, Site

STORAGE = Path(__file__).resolve().parents[1] / "fixtures" / "storage"
SAMPLES = sorted(
    path
    for folder in ("md2conf", "mark", "kafka", "synthetic")
    for path in (STORAGE / folder).iterdir()
    if path.suffix in (".xml", ".html", ".xhtml")
)


def _convert(site: Site, value: str, to: str = "export_view", **params: str) -> requests.Response:
    token = site.bearer(REGULAR_ID)
    return requests.post(
        f"{site.url}/wiki/rest/api/contentbody/convert/{to}",
        params=params,
        json={"value": value, "representation": "storage"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def _html(site: Site, name: str, **params: str) -> lxml.html.HtmlElement:
    response = _convert(site, (STORAGE / name).read_text("utf-8"), **params)
    assert response.status_code == 200, response.text
    assert response.json()["representation"] == "export_view"
    return lxml.html.fragment_fromstring(response.json()["value"], create_parent="div")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_storage_sample_converts_without_leftover_markup(site: Site, sample: Path) -> None:
    response = _convert(site, sample.read_text("utf-8"), contentIdContext="2000000001")
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    assert "<ac:" not in value and "<ri:" not in value and "<![CDATA[" not in value


def test_admonitions_code_and_expand(site: Site) -> None:
    admonitions = _html(site, "md2conf/admonition.xml")
    kinds = {cls for node in admonitions.find_class("confluence-information-macro") for cls in node.classes}
    assert {
        "confluence-information-macro-information",
        "confluence-information-macro-tip",
        "confluence-information-macro-note",
        "confluence-information-macro-warning",
    } <= kinds
    collapsed = _html(site, "md2conf/collapsed.xml")
    expanders = collapsed.find_class("expand-container")
    assert len(expanders) == 2
    assert expanders[0].find_class("expand-control-text")[0].text == "Tips for collapsed sections"
    code = expanders[0].find_class("code")[0]
    assert {"panel", "pdl"} <= set(code.classes)
    pre = code.find(".//pre")
    assert pre.text == 'puts "Hello World"'
    assert "brush: ruby" in pre.get("data-syntaxhighlighter-params")


def test_status_lozenges_and_tasks(site: Site) -> None:
    lozenges = _html(site, "md2conf/status.xml").find_class("status-macro")
    colours = [
        next((c for c in node.classes if c.startswith("aui-lozenge-") and c != "aui-lozenge-visual-refresh"), None)
        for node in lozenges
    ]
    assert colours == [
        None,
        "aui-lozenge-progress",
        "aui-lozenge-complete",
        "aui-lozenge-error",
        "aui-lozenge-current",
        "aui-lozenge-success",
    ]
    tasks = _html(site, "md2conf/tasklist.xml", contentIdContext="2000000001").find_class("inline-task-list")[0]
    items = tasks.findall("li")
    assert [item.get("class") for item in items] == ["checked", None]
    assert tasks.get("data-inline-tasks-content-id") == "2000000001"
    assert items[0].text_content() == "Finished action"


def test_links_images_and_mentions_resolve_against_the_site(site: Site) -> None:
    value = (
        '<p><ac:link><ri:page ri:space-key="ENG" ri:content-title="Release checklist" /></ac:link> '
        '<ac:link><ri:user ri:account-id="' + OUTSIDER_ID + '" /></ac:link> '
        '<ac:image ac:width="300"><ri:attachment ri:filename="team-offsite.jpg" /></ac:image> '
        '<ac:image><ri:attachment ri:filename="not-there.png" /></ac:image> '
        '<ac:link><ri:page ri:content-title="No such page" /></ac:link></p>'
    )
    response = _convert(site, value, contentIdContext="2000000001")
    html = lxml.html.fragment_fromstring(response.json()["value"], create_parent="div")
    page_link, mention, missing_page = html.findall(".//a")
    assert page_link.get("href") == f"{site.url}/wiki/spaces/ENG/pages/2000000002/Release+checklist"
    assert page_link.text == "Release checklist"
    assert mention.get("data-account-id") == OUTSIDER_ID and mention.text == "Emma Novak"
    assert "createlink" in missing_page.classes
    image = html.find_class("confluence-embedded-image")[0]
    assert image.get("data-linked-resource-id") == "2000000101"
    assert image.get("data-linked-resource-container-id") == "2000000001"
    assert image.get("src").startswith(f"{site.url}/wiki/download/attachments/2000000001/team-offsite.jpg?")
    assert html.find_class("unresolved-attachment")[0].text == "not-there.png"


def test_entities_layouts_and_the_real_airbyte_storage(site: Site) -> None:
    assert (
        _html(site, "synthetic/90000010.xhtml").text_content().strip()
        == "Non\u00a0breaking\u00a0space stays inside the paragraph."
    )
    assert _html(site, "synthetic/90000011.xhtml").text_content().strip() == "Range A \u2013 B is inclusive."
    named = _convert(site, "<p>caf&eacute; &amp; cr&egrave;me&nbsp;br&ucirc;l&eacute;e</p>").json()["value"]
    assert named == "<p>caf\u00e9 &amp; cr\u00e8me\u00a0br\u00fbl\u00e9e</p>"
    airbyte = default_fixtures_dir() / "pages" / "98487_overview.storage.xhtml"
    response = _convert(site, airbyte.read_text("utf-8"), contentIdContext="98487")
    html = lxml.html.fragment_fromstring(response.json()["value"], create_parent="div")
    sections = html.find_class("columnLayout")
    assert len(sections) == 6 and "two-equal" in sections[0].classes
    assert "Insert your email here" not in html.text_content()  # placeholders are editor-only


def test_conversion_errors(site: Site) -> None:
    assert _convert(site, "<p>unclosed").status_code == 400
    assert _convert(site, "<p>x</p>", to="wiki").status_code == 400
    assert _convert(site, "<p>x</p>", contentIdContext="1514897411").status_code == 200  # REGULAR may read it
    token = site.bearer(OUTSIDER_ID)
    hidden = requests.post(
        f"{site.url}/wiki/rest/api/contentbody/convert/export_view",
        params={"contentIdContext": "1514897411"},
        json={"value": "<p/>"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert hidden.status_code == 404
