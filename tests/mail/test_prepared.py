"""The prepared page is parsed once and both parts are written from it; the allowlist sanitiser runs last, on the
HTML part. What the page itself writes must not slip through that last pass, which allows the widths and cut marks
render_mail writes."""

from __future__ import annotations

from mail.mime import build_message
from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import (
    HUGE_PAGE,
    PAGE,
    assert_safe_html,
    body_of,
    content_cell,
    content_tables,
    images_for,
    page_names,
)
from tests.mail.synthetic import eight_column_table

WIDE_STYLES = (
    '<p style="width:2000px;color:#ff0000">fixed</p>'
    '<p style="color:#0000ff;/**/width:900px">commented</p>'
    '<p style="MIN-WIDTH : 3000px; text-align:center">upper case</p>'
    '<table style="width: 2400px"><tr><td style="width:1800px">a cell</td><td>b</td></tr></table>'
)


def render(body: str, locale: str = "en") -> RenderedMail:
    prepared = prepare_page(body, PAGE, Layout())
    return render_mail(prepared, PAGE, MailContent("Ann", "", locale), Layout(), "s", images_for(prepared))


def test_the_page_s_own_widths_never_reach_the_mail_but_its_other_styles_do() -> None:
    mail = render(WIDE_STYLES + eight_column_table())
    cell = content_cell(mail.html)
    assert_safe_html(mail.html)
    for value in ("2000px", "900px", "3000px", "2400px", "1800px"):
        assert value not in mail.html
    styles = {p.text_content(): (p.get("style") or "").replace(" ", "") for p in cell.iter("p")}
    assert "color:#ff0000" in styles["fixed"] and "color:#0000ff" in styles["commented"]
    assert "text-align:center" in styles["upper case"]
    # The widths render_mail computes itself still arrive: a wide table scrolls at a width of its own.
    assert any("min-width:640px" in (table.get("style") or "") for table in content_tables(cell))


def test_the_page_s_own_cut_marks_are_dropped_and_steer_nothing() -> None:
    body = body_of(HUGE_PAGE).replace("<p>", '<p data-pm-cut="00000000-1">', 40)
    mail = render(body)
    assert "data-pm-cut" not in mail.html and "00000000" not in mail.html
    assert mail.truncated  # still cut at one of its own marks, under the budget
    assert len(mail.html.encode()) <= 95 * 1024


def test_what_the_sanitiser_removes_is_in_neither_part() -> None:
    body = (
        '<p>before</p><picture><img src="https://images.example.com/a.png" alt="PictureAlt"></picture>'
        "<section><p>kept section</p></section><center>kept centre</center><p>after</p>"
    )
    mail = render(body)
    assert "PictureAlt" not in mail.html and "PictureAlt" not in mail.text
    for words in ("before", "kept section", "kept centre", "after"):
        assert words in mail.text and words in content_cell(mail.html).text_content()
    assert "<section" not in mail.html and "<center" not in mail.html


def test_a_prepared_page_renders_the_same_every_time() -> None:
    """render_mail works on a copy: rendering one prepared page again (another language, another layout) gives
    what a freshly prepared page gives, and the prepared page is left as it was."""
    for name in page_names():
        prepared = prepare_page(body_of(name), PAGE, Layout())
        before = prepared.body_html
        images = images_for(prepared)
        first = render_mail(prepared, PAGE, MailContent("Ann", "", "de"), Layout(), "s", images)
        second = render_mail(prepared, PAGE, MailContent("Ann"), Layout(header_text="ACME"), "s", images)
        fresh = prepare_page(body_of(name), PAGE, Layout())
        expected = render_mail(fresh, PAGE, MailContent("Ann"), Layout(header_text="ACME"), "s", images)
        assert "Seite" in first.text
        assert second.text == expected.text and second.truncated == expected.truncated
        # Content-IDs are random per render; everything else is the same.
        assert _without_cids(second.html, second) == _without_cids(expected.html, expected)
        assert prepared.body_html == before == fresh.body_html
        build_message(second, from_addr="a@example.com", from_name="a", reply_to=None, to=["b@example.com"], cc=[])


def _without_cids(html: str, mail: RenderedMail) -> str:
    for number, image in enumerate(mail.images):
        html = html.replace(image.cid, f"image-{number}")
    return html
