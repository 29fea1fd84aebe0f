"""Colours and emoji (issue 9, item 3): Confluence's data-colorid colours survive as inline colours, and emoji are
characters, never escape codes."""

from __future__ import annotations

import pytest

from mail.inline_colours import colours_from_css
from mail.macros import decode_escapes
from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import PAGE, body_of, content_cell, styled
from tests.mail.synthetic import coloured_text, escaped_emoji


def render(body: str) -> RenderedMail:
    prepared = prepare_page(body, PAGE, Layout())
    return render_mail(prepared, PAGE, MailContent("Ann"), Layout(), "s", {})


def test_light_theme_colours_become_inline_colours() -> None:
    cell = content_cell(render(coloured_text()).html)
    (red,) = styled(cell, "span", "color:#ff5630")
    assert red.text == "Blocked"
    (green,) = styled(cell, "span", "color:#006644")
    assert green.text == "approved"
    html = render(coloured_text()).html
    assert "#cf2600" not in html and "#99ffdd" not in html  # the dark-theme twins are not used
    assert "data-colorid" not in html


def test_the_fixture_pages_keep_their_text_colours() -> None:
    # 1153105921 colours 8 spans: 5 light blue, 2 red, 1 green (its <style> block says which; the green is also
    # the DONE lozenges' colour).
    cell = content_cell(render(body_of("1153105921.html")).html)
    found = [len(styled(cell, "span", f"color:{colour}")) for colour in ("#4c9aff", "#ff5630")]
    assert found == [5, 2]


def test_colours_from_css() -> None:
    css = (
        "[data-colorid=a]{color:#4c9aff} html[data-color-mode=dark] [data-colorid=a]{color:#004eb3}"
        "[data-colorid=b]{color:rgb(1, 2, 3)}[data-colorid=c]{color:url(x)}[data-colorid=d]{background:red}"
    )
    assert colours_from_css(css) == {"a": "#4c9aff", "b": "rgb(1, 2, 3)"}


def test_emoji_come_from_their_code_points_or_decoded_fallbacks() -> None:
    mail = render(escaped_emoji())
    text = content_cell(mail.html).text_content()
    assert "\N{CLIPBOARD} Agenda" in text  # data-emoji-id="1f4cb"
    assert "\N{ROCKET} Launch" in text  # a custom emoji id: the fallback's escapes decoded
    assert "\N{WHITE HEAVY CHECK MARK} Done" in text  # an Atlassian id, its fallback a :shortname:
    for part in (mail.html, mail.text):
        assert "\\u" not in part and "uD83D" not in part and ":check_mark:" not in part
    assert "\N{CLIPBOARD} Agenda" in mail.text


@pytest.mark.parametrize(
    ("escaped", "decoded"),
    [
        ("\\uD83D\\uDCCB", "\N{CLIPBOARD}"),
        ("\\u{1F680}", "\N{ROCKET}"),
        ("\\U0001F600", "\N{GRINNING FACE}"),
        ("\\u2705", "\N{WHITE HEAVY CHECK MARK}"),
        ("plain", "plain"),
        ("\\uD83D", ""),  # half a surrogate pair is nothing
        ("\\u{110000}", ""),  # beyond Unicode
    ],
)
def test_decode_escapes(escaped: str, decoded: str) -> None:
    assert decode_escapes(escaped) == decoded


def test_an_emoji_that_is_only_an_escape_code_is_left_out() -> None:
    mail = render('<p><img class="emoticon" data-emoji-fallback="\\uD83D" alt="\\uZZZZ" src="x.png"> after</p>')
    assert "\\u" not in mail.html and "\\u" not in mail.text and "after" in mail.text
