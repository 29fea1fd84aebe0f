"""Outlook for Windows (Word's HTML engine) and dark mode (issue 9, items 4 and 7): what the template and the
macros write so the mail holds together where CSS support is thinnest."""

from __future__ import annotations

import re

import lxml.html

from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import PAGE, body_of, code_cells, content_cell, images_for, panel_cells
from tests.mail.synthetic import centred_images, long_code_tokens


def render(body: str) -> RenderedMail:
    prepared = prepare_page(body, PAGE, Layout())
    return render_mail(prepared, PAGE, MailContent("Ann", "Hi"), Layout(), "s", images_for(prepared, 1600, 900))


def test_office_document_settings_in_an_mso_conditional() -> None:
    html = render("<p>x</p>").html
    head = html.split("</head>", 1)[0]
    block = re.search(r"<!--\[if mso\]>(.*?)<!\[endif\]-->", head, re.DOTALL)
    assert block is not None
    assert "<o:OfficeDocumentSettings>" in block.group(1) and "<o:PixelsPerInch>96</o:PixelsPerInch>" in block.group(1)
    assert 'xmlns:o="urn:schemas-microsoft-com:office:office"' in html
    # The fixed-width table Outlook lays the mail out in.
    assert '<!--[if mso]><table role="presentation" width="680"' in html


def test_the_button_is_bulletproof() -> None:
    document = lxml.html.document_fromstring(render("<p>x</p>").html)
    button = document.find_class("pm-button")[0]
    cell = button.getparent()
    assert cell.tag == "td" and cell.get("bgcolor") == "#0052cc"
    assert "mso-padding-alt:10px 20px" in cell.get("style")  # Outlook pads the cell ...
    assert "padding:10px 20px" in button.get("style")  # ... the rest pad the link, so all of it is clickable
    assert "display:inline-block" in button.get("style")


def test_code_and_expand_blocks_are_one_cell_tables() -> None:
    mail = render(long_code_tokens())
    (code,) = code_cells(mail.html)
    table = code.getparent().getparent().getparent()
    assert table.tag == "table" and table.get("role") == "presentation" and table.get("width") == "100%"
    assert len(table.findall(".//td")) == 1
    # Lines and indentation without white-space (Outlook ignores it): <br> and no-break spaces.
    assert "\u00a0\u00a0\u00a0\u00a0private static final String KEY" in code.text_content()
    assert "<pre" not in mail.html and "white-space" not in mail.html
    expands = panel_cells(render(body_of("Designing-Learning-Simulations_13992558.html")).html, "expand")
    assert len(expands) == 4 and all(cell.getparent().getparent().getparent().tag == "table" for cell in expands)


def test_lists_use_list_style_type_not_the_shorthand() -> None:
    for name in ("Usability-Testing_-PHI_-Sep_1237385238.html", "Converting-Interactions-To-VR_1514799182.html"):
        html = render(body_of(name)).html
        assert "list-style:" not in html.replace(" ", "")
    tasks = [ul for ul in content_cell(render(body_of("Designing-Learning-Simulations_13992558.html")).html).iter("ul")]
    assert any("list-style-type:none" in (ul.get("style") or "") for ul in tasks)


def test_images_are_as_wide_as_their_cell_at_most() -> None:
    cell = content_cell(render(centred_images()).html)
    widths = {img.get("alt"): int(img.get("width")) for img in cell.iter("img")}
    # Alone: the page's 600 px. In a cell of a 3-column table: a third of the column, less padding and border.
    assert widths["Image: screenshot-9001.png"] == 600
    assert widths["The login form"] == 300
    assert widths["Image: screenshot-9003.png"] == 640 // 3 - 14


def test_dark_mode_is_opted_out_completely() -> None:
    html = render("<p>x</p>").html
    document = lxml.html.document_fromstring(html)
    metas = {meta.get("name"): meta.get("content") for meta in document.iter("meta") if meta.get("name")}
    assert metas["color-scheme"] == "light only" and metas["supported-color-schemes"] == "light only"
    (style,) = [s for s in document.find("head").iter("style")]
    assert style.text.startswith(":root{color-scheme:light only}")
    assert "prefers-color-scheme" not in html
