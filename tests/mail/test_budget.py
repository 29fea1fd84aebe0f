"""The size budget (issue 9, item 2): the inlined mail is made small, and a page still too big for Gmail is cut
at a block boundary, both parts ending with "The page continues in Confluence", the button and the footer."""

from __future__ import annotations

import re

import lxml.html
import pytest

from mail import inline_budget
from mail import render as render_module
from mail.inline_budget import BUDGET_BYTES, drop_what_cannot_fit
from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import HUGE_PAGE, PAGE, body_of, content_cell, content_tables, images_for, page_names
from tests.mail.synthetic import big_page

CONTINUES = "The page continues in Confluence."


def render(body: str, locale: str = "en") -> RenderedMail:
    prepared = prepare_page(body, PAGE, Layout())
    return render_mail(prepared, PAGE, MailContent("Ann", locale=locale), Layout(), "s", images_for(prepared))


@pytest.fixture(scope="module")
def big() -> RenderedMail:
    return render(big_page(150))


def test_only_classes_an_at_media_rule_uses_are_kept() -> None:
    html = render(body_of("Usability-Testing_-PHI_-Sep_1237385238.html")).html
    style = lxml.html.document_fromstring(html).find(".//head/style").text
    kept = set(" ".join(re.findall(r' class="([^"]*)"', html)).split())
    assert kept and all(f".{name}" in style for name in kept)
    assert "confluenceTable" not in html and "pm-cell-" not in html


def test_no_rel_no_empty_paragraphs_no_runs_of_whitespace() -> None:
    body = '<p>a  \n\n  b</p><p></p><p> </p><p><br></p><p><a href="https://example.com/x">x</a>   <b>y</b></p>'
    html = render(body).html
    cell = lxml.html.tostring(content_cell(html), encoding="unicode")
    assert " rel=" not in html
    assert "<p></p>" not in cell and "<p> </p>" not in cell and "<p><br></p>" not in cell
    assert "<p>a b</p>" in cell and "</a> <b" in cell  # collapsed, but words stay apart
    assert not re.search(r"[ \t]{2,}", html.split("</style>", 1)[1])


def test_every_fixture_got_smaller_or_stayed_under_the_budget() -> None:
    for name in page_names():
        mail = render(body_of(name))
        assert len(mail.html.encode()) <= BUDGET_BYTES
        assert mail.truncated == (name == HUGE_PAGE)


def test_a_big_page_is_cut_under_the_budget_with_the_note_button_and_footer(big: RenderedMail) -> None:
    assert big.truncated
    size = len(big.html.encode("utf-8"))
    assert BUDGET_BYTES - 8 * 1024 < size <= BUDGET_BYTES  # cut near the budget, not far before it
    html = big.html
    assert html.index(CONTINUES) < html.index(">Open in Confluence<") < html.index("Sent with pagemail")
    note = next(a for a in content_cell(html).iter("a") if a.text == CONTINUES)
    assert note.get("href") == PAGE.web_url


def test_the_cut_falls_between_blocks_and_the_text_part_ends_at_the_same_place(big: RenderedMail) -> None:
    cell = content_cell(big.html)
    last_heading = list(cell.iter("h2"))[-1].text_content()
    # A table cut inside keeps its header row; no row is cut in half.
    for table in content_tables(cell):
        rows = table.findall(".//tr")
        assert rows[0].find("th") is not None and all(len(row) == 2 for row in rows)
    text = big.text
    assert f"## {last_heading}" in text
    number = int(last_heading.split()[-1])
    assert f"Section {number + 1}" not in text and f"Section {number + 1}" not in big.html
    assert text.index(CONTINUES) < text.index("Open in Confluence: ") < text.index("Sent with pagemail")


def test_the_note_is_in_the_readers_language() -> None:
    german = render(big_page(150), locale="de")
    assert "Die Seite geht in Confluence weiter." in german.html
    assert "Die Seite geht in Confluence weiter." in german.text


def test_images_cut_off_the_page_are_not_attached() -> None:
    image = (
        '<p><img data-linked-resource-type="attachment" data-linked-resource-id="{n}" '
        'data-linked-resource-default-alias="shot-{n}.png" src="x"></p>'
    )
    body = image.format(n=1) + big_page(150) + image.format(n=2)
    mail = render(body)
    assert mail.truncated
    assert [part.filename for part in mail.images] == ["shot-1.png"]
    assert mail.html.count("cid:") == 1


def test_one_block_bigger_than_the_budget_leaves_the_note() -> None:
    mail = render("<p>" + "word " * 40_000 + "</p>")
    assert mail.truncated and "word word" not in mail.html and "word word" not in mail.text
    assert CONTINUES in mail.html and CONTINUES in mail.text


def test_cut_marks_never_reach_the_mail(big: RenderedMail) -> None:
    assert "data-pm-cut" not in big.html and "pm-content-end" not in big.html
    small = render("<p>x</p>")
    assert "data-pm-cut" not in small.html and not small.truncated and CONTINUES not in small.text


def test_blocks_that_cannot_fit_are_dropped_before_sanitising_and_the_mail_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = big_page(600)
    prepared = prepare_page(body, PAGE, Layout())
    images = images_for(prepared)
    dropped: list[bool] = []

    def recorded(root: lxml.html.HtmlElement, css: str) -> bool:
        dropped.append(inline_budget.drop_what_cannot_fit(root, css))
        return dropped[-1]

    def mail(layout: Layout) -> RenderedMail:
        monkeypatch.setattr(render_module.secrets, "token_hex", lambda n=8: "0" * (2 * n))  # the same cids and marks
        return render_mail(prepared, PAGE, MailContent("Ann", locale="de"), layout, "s", images)

    for layout in (Layout(), Layout(custom_css="p:last-child { margin-bottom: 0 }")):
        with monkeypatch.context() as patch:
            patch.setattr(render_module, "drop_what_cannot_fit", recorded)
            early = mail(layout)
        with monkeypatch.context() as patch:
            patch.setattr(render_module, "drop_what_cannot_fit", lambda root, css: False)
            late = mail(layout)
        assert early == late and early.truncated
    # Dropped with the stylesheet; not with a selector that looks at what follows (`:last-child`).
    assert dropped == [True, False]


def test_dropping_keeps_every_block_with_less_text_than_the_budget_before_it() -> None:
    root = lxml.html.fragment_fromstring("<div>" + "<p>abcd efgh</p>\n" * 30 + "<p>x</p></div>")
    # 30 blocks of 8 characters (spaces not counted) before the last: it may fit within 240, not within 239.
    assert not drop_what_cannot_fit(root, "", budget=240) and len(root) == 31
    assert not drop_what_cannot_fit(root, "td:nth-last-child(2) { color: red }", budget=239) and len(root) == 31
    assert drop_what_cannot_fit(root, "", budget=239) and len(root) == 30
    assert root[-1].text == "abcd efgh" and root[-1].tail == "\n"
