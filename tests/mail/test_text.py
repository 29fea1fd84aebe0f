"""The text/plain part: structure of the page kept in plain text."""

from __future__ import annotations

from mail.sanitize import parse_fragment
from mail.text import WIDTH, compose_text, element_to_text


def text_of(html: str, **kwargs: str) -> str:
    return element_to_text(parse_fragment(html), **kwargs)


def test_headings_paragraphs_and_wrapping() -> None:
    long = "word " * 40
    text = text_of(f"<h1>Top</h1><p>{long}</p><h3>Third <em>level</em></h3><p>a<br>b</p>")
    lines = text.split("\n")
    assert lines[0] == "# Top"
    assert "### Third level" in lines
    assert all(len(line) <= WIDTH for line in lines)
    assert "a\nb" in text  # <br> is a line break


def test_lists_nested_and_numbered() -> None:
    lists = "<ul><li>one</li><li>two<ul><li>inner</li></ul></li></ul>"
    lists += '<ol start="3"><li>three</li><li><p>four</p></li></ol>'
    text = text_of(lists)
    assert text == "- one\n- two\n  - inner\n\n3. three\n4. four"


def test_links_images_and_tables() -> None:
    text = text_of(
        '<p>See <a href="https://example.com/x">the docs</a> or <a href="https://example.com/y">'
        'https://example.com/y</a> or <a href="mailto:team@example.com">team@example.com</a>.</p>'
        '<p><img src="cid:a@b" alt="Chart"> <img src="cid:c@d"></p>'
        "<table><tr><th>Name</th><th>Status</th></tr><tr><td><p>Alpha</p></td><td>Done</td></tr>"
        "<tr><td></td><td></td></tr></table>",
        image_word="Bild",
    )
    assert "See the docs <https://example.com/x> or https://example.com/y or team@example.com." in " ".join(
        text.split()
    )
    assert "[Bild: Chart] [Bild]" in text
    # A row becomes "Header: value" lines (a phone shows those; a 3,700-character row it does not).
    assert "Name: Alpha\nStatus: Done" in text
    assert "\n | " not in text and not text.endswith(":")  # empty rows are left out


def test_code_and_quotes_keep_their_lines() -> None:
    text = text_of("<pre>def f():\n    return 1\n</pre><blockquote><p>quoted words</p></blockquote><hr>")
    assert "def f():\n    return 1" in text
    assert "> quoted words" in text
    assert text.endswith("----")


def test_single_cell_tables_are_blocks_not_rows() -> None:
    text = text_of(
        '<table class="pm-panel"><tr><td><p class="pm-panel-label">Note</p><p>First para.</p>'
        "<ul><li>point</li></ul></td></tr></table>"
    )
    assert text == "Note\n\nFirst para.\n\n- point"


def test_deep_nesting_is_flattened_not_a_crash() -> None:
    # 200 levels: past the renderer's own depth limit, within what the HTML parser keeps.
    text = text_of("<ul><li>" * 100 + "deep" + "</li></ul>" * 100)
    assert "deep" in text


def test_compose_text_orders_the_parts() -> None:
    text = compose_text(
        header_text="Header",
        intro="Ann sent you a page",
        message="Line one\r\nLine two",
        title="Title",
        page_url="https://x.example/p",
        body_text="Body",
        button_label="Open in Confluence",
        footer="Footer",
    )
    assert text == (
        "Header\n\nAnn sent you a page\n\nLine one\nLine two\n\nTitle\n=====\n<https://x.example/p>"
        "\n\nBody\n\nOpen in Confluence: https://x.example/p\n\n-- \nFooter\n"
    )


def test_table_rows_as_header_value_lines_with_lists_kept() -> None:
    text = text_of(
        "<table><tr><th>Task</th><th>Steps</th><th></th></tr>"
        "<tr><td>Deploy</td><td><ul><li>build</li><li>ship</li></ul></td><td>7</td></tr>"
        "<tr><td>Review</td><td>read it</td><td></td></tr></table>"
    )
    assert text == "Task: Deploy\nSteps:\n  - build\n  - ship\n7\n\nTask: Review\nSteps: read it"


def test_rows_headed_by_their_first_cell_and_short_rows() -> None:
    keyed = text_of(
        '<table><tr><td bgcolor="#f4f5f7">Status</td><td>DONE</td></tr>'
        "<tr><th>Lead</th><td><p>Ann</p><p>Bob</p></td></tr></table>"
    )
    assert keyed == "Status: DONE\n\nLead:\n  Ann\n  Bob"
    assert text_of("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td></td></tr></table>") == "a | b\nc"


def test_code_cells_shortened_urls_mentions_and_struck_text() -> None:
    text = text_of(
        '<table><tr><td class="pm-cell-code">def f():<br>\u00a0\u00a0\u00a0\u00a0return\u00a0 1<wbr>2</td></tr></table>'
        '<p><a class="pm-url" href="https://example.com/a/very/long/path">example.com/a/…/path</a> '
        '<a class="pm-mention" href="https://x.example/people/1">Ann Example</a> <del>gone</del></p>'
    )
    assert text == "def f():\n    return  12\n\nhttps://example.com/a/very/long/path Ann Example ~~gone~~"


def test_a_cut_page_says_it_continues() -> None:
    text = compose_text(
        header_text="",
        intro="Ann sent you a page",
        message="",
        title="Title",
        page_url="https://x.example/p",
        body_text="Body",
        button_label="Open in Confluence",
        footer="Footer",
        continues="The page continues in Confluence.",
    )
    assert text.endswith(
        "Body\n\n[…] The page continues in Confluence.\n\nOpen in Confluence: https://x.example/p\n\n-- \nFooter\n"
    )
