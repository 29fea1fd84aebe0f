"""Width safety (issue 9, item 1): no page widens the mail beyond its column. (The browser measures it in
tests/mailcheck; these check the markup that makes it so.)"""

from __future__ import annotations

import re

import lxml.html

from mail.inline_wrap import LONG_TOKEN as LONG_TOKEN_LENGTH
from mail.inline_wrap import SHORT_URL, break_points, short_url_label
from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import PAGE, content_cell, content_tables, images_for
from tests.mail.synthetic import LONG_TOKEN, LONG_URL, eight_column_table, long_bare_urls, long_code_tokens


def render(body: str) -> RenderedMail:
    prepared = prepare_page(body, PAGE, Layout())
    return render_mail(prepared, PAGE, MailContent("Ann"), Layout(), "s", images_for(prepared))


def test_a_bare_url_shows_host_and_a_trimmed_path_and_keeps_its_href() -> None:
    mail = render(long_bare_urls())
    links = [a for a in content_cell(mail.html).iter("a") if a.get("href") == LONG_URL]
    assert len(links) == 3
    for a in links:
        label = a.text_content()
        assert label.startswith("stuconestogacon.sharepoint.com/:w:/\N{HORIZONTAL ELLIPSIS}/TE-Scenari")
        assert len(label) <= SHORT_URL
    # The text part has room for the whole URL, and a reader may need to copy it.
    assert mail.text.count(LONG_URL) == 3
    assert "stuconestogacon.sharepoint.com/:w:/\N{HORIZONTAL ELLIPSIS}" not in mail.text


def test_short_labels() -> None:
    assert (
        short_url_label("https://www.example.com/docs/guide/index.html")
        == "example.com/docs/\N{HORIZONTAL ELLIPSIS}/index.html"
    )
    assert short_url_label("https://example.com/one") == "example.com/one"
    assert short_url_label("https://example.com/?" + "q" * 90) == "example.com/\N{HORIZONTAL ELLIPSIS}"
    assert len(short_url_label("https://" + "h" * 90 + ".example.com/" + "p" * 90)) <= SHORT_URL


def test_link_text_that_is_not_its_url_is_left_alone() -> None:
    body = f'<p><a href="{LONG_URL}">the design document for round three of the playable demo</a></p>'
    (a,) = content_cell(render(body).html).iter("a")
    assert a.text == "the design document for round three of the playable demo"


def test_long_tokens_get_break_opportunities_but_keep_their_text() -> None:
    mail = render(long_code_tokens())
    cell = content_cell(mail.html)
    assert len(list(cell.iter("wbr"))) > 20
    # No run of text without a place to break is as long as a long token any more, in code and in text alike.
    for text in [el.text for el in cell.iter()] + [el.tail for el in cell.iter()]:
        for token in re.findall(r"\S+", text or ""):
            assert len(token) < LONG_TOKEN_LENGTH, token
    # <wbr> adds nothing to the text: copying the code copies the code, and the text part is unchanged.
    assert LONG_TOKEN in cell.text_content().replace("\u00a0", " ")
    assert LONG_TOKEN in mail.text


def test_break_points() -> None:
    assert break_points("short") == []
    assert break_points("a" * 40) == [18, 36]
    # After punctuation once 6 characters have passed since the last break.
    assert break_points("path/to/some/file.txt") == [8, 18]
    assert break_points("\N{GRINNING FACE}" * 30) == []  # never inside non-ASCII text


def test_tables_scroll_in_their_own_box_and_wide_ones_get_a_width_to_scroll_at() -> None:
    mail = render(eight_column_table())
    (table,) = content_tables(content_cell(mail.html))
    box = table.getparent()
    assert box.tag == "div" and "overflow-x:auto" in box.get("style")
    assert "min-width:640px" in table.get("style")  # 8 columns x 90 px, capped at the content column
    narrow = render('<table class="confluenceTable"><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>')
    (table,) = content_tables(content_cell(narrow.html))
    assert "min-width" not in (table.get("style") or "")
    assert "overflow-x:auto" in table.getparent().get("style")


def test_the_content_cell_wraps_and_the_container_keeps_its_width() -> None:
    html = render("<p>x</p>").html
    assert "word-wrap:break-word" in content_cell(html).get("style")
    container = lxml.html.document_fromstring(html).find_class("pm-container")[0]
    assert "table-layout:fixed" in container.get("style") and "max-width:680px" in container.get("style")


def test_page_styles_cannot_widen_the_mail() -> None:
    body = (
        '<p style="width:2000px;min-width:2000px;white-space:nowrap">x</p>'
        '<img src="https://images.example.com/wide.png" width="3000" height="300">'
    )
    html = render(body).html
    cell = content_cell(html)
    assert "2000px" not in html and "nowrap" not in html
    (img,) = cell.iter("img")
    assert img.get("width") == "640" and img.get("height") == "64" and "width:640px" in img.get("style")
