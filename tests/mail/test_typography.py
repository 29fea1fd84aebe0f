"""Typography (issue 9, item 6): content headings below the title, mentions apart, a table of contents with one
marker per entry; and the text part: tables as "Header: value" lines, lists kept in cells, struck text marked."""

from __future__ import annotations

import re

import lxml.html

from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import PAGE, body_of, content_cell
from tests.mail.synthetic import eight_column_table, headings_and_toc, mention_runs


def render(body: str) -> RenderedMail:
    prepared = prepare_page(body, PAGE, Layout())
    return render_mail(prepared, PAGE, MailContent("Ann"), Layout(), "s", {})


def font_size(el: lxml.html.HtmlElement) -> int:
    match = re.search(r"font-size:(\d+)px", el.get("style") or "")
    assert match, el.get("style")
    return int(match.group(1))


def test_content_headings_are_smaller_than_the_title() -> None:
    html = render(headings_and_toc() + "<h4>four</h4><h5>five</h5><h6>six</h6>").html
    title = lxml.html.document_fromstring(html).find_class("pm-title-heading")[0]
    sizes = [font_size(h) for h in content_cell(html).iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert sizes == [20, 18, 16, 14, 14, 14]
    assert max(sizes) < font_size(title) == 22


def test_mentions_one_after_the_other_are_separated() -> None:
    mail = render(mention_runs())
    cell = content_cell(mail.html)
    assert "Cam Turner, User bf53c, Sana Javeed, Corey Berry" in cell.text_content()
    assert "Observers: Cam Turner, User bf53c, Sana Javeed, Corey Berry" in " ".join(mail.text.split())
    assert "/people/" not in mail.text  # a name in plain text, without its profile URL


def test_a_numbered_table_of_contents_has_no_bullets() -> None:
    cell = content_cell(render(headings_and_toc()).html)
    lists = list(cell.iter("ul"))
    assert len(lists) == 2 and all("list-style-type:none" in ul.get("style") for ul in lists)
    assert "1 Intro" in cell.text_content() and "1.1 Scope" in cell.text_content()
    toc = content_cell(render(body_of("Converting-Interactions-To-VR_1514799182.html")).html)
    assert "list-style-type:none" in next(toc.iter("ul")).get("style")


def test_a_table_with_a_header_row_becomes_header_value_lines() -> None:
    text = render(eight_column_table()).text
    assert "Ticket: TE-400\nComponent: Infrastructure\nEnvironment: Production-Environment" in text
    assert max(len(line) for line in text.splitlines()) <= 100  # no row as one endless line
    # A list in a cell stays a list, under its header.
    assert "Notes:\n  - first point\n  - second point" in text
    # Struck text keeps its meaning.
    assert "Status: ~~Open~~ Done" in text


def test_fixture_tables_read_as_lines_in_the_text_part() -> None:
    text = render(body_of("1153105921.html")).text
    # Rows were single lines of up to 945 characters; now only a URL (never broken) is longer than 76.
    for line in text.splitlines():
        assert len(line) <= 76 or re.fullmatch(r"\s*([^:]+: )?<?https?://\S+", line), line
    assert "Status: DONE" in text


def test_struck_text_in_the_text_part() -> None:
    text = render(
        '<p>Plan <del>old step</del> and <s>another</s> and <span style="text-decoration: line-through;">'
        "gone</span>.</p>"
    ).text
    assert "Plan ~~old step~~ and ~~another~~ and ~~gone~~." in text
