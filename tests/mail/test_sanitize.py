"""Hostile HTML never survives into a mail: each attack is put into a real page body and rendered."""

from __future__ import annotations

import pytest

from mail.mime import build_message
from mail.render import Layout, MailContent, prepare_page, render_mail
from mail.sanitize import parse_fragment, resolve_url, sanitize_fragment
from tests.mail.pages import PAGE, assert_safe_html, body_of, content_cell, image_bytes

# (name, hostile markup, a marker that must not appear anywhere in the finished HTML or text)
ATTACKS = [
    ("img onerror", "<img src=x onerror=\"alert('pwn1')\">", "pwn1"),
    ("img onerror external", '<img src="https://images.example.com/a.png" onerror="pwn2()">', "pwn2"),
    ("javascript link", '<a href="javascript:pwn3()">click</a>', "pwn3"),
    ("javascript link with tab", '<a href="java\tscript:pwn4()">click</a>', "pwn4"),
    ("javascript link entity", '<a href="java&#x09;script:pwn5()">click</a>', "pwn5"),
    ("javascript link spaces", '<a href="  JaVaScRiPt:pwn6()">click</a>', "pwn6"),
    ("vbscript link", '<a href="vbscript:pwn7">click</a>', "pwn7"),
    ("data link", '<a href="data:text/html;base64,PHNjcmlwdD5wd244PC9zY3JpcHQ+">pwn8-link</a>', "base64"),
    ("svg script", "<svg><script>pwn9()</script></svg>", "pwn9"),
    ("svg onload", '<svg onload="pwn10()"><circle r="5"/></svg>', "pwn10"),
    ("style import", "<style>@import url(//evil.example/pwn11.css); p { color: red }</style>", "pwn11"),
    ("style tag body", "<style>body { background: url(https://evil.example/pwn12.png) }</style>", "pwn12"),
    ("iframe", '<iframe src="https://evil.example/pwn13"></iframe>', "pwn13"),
    ("iframe srcdoc", '<iframe srcdoc="<script>pwn14()</script>"></iframe>', "pwn14"),
    (
        "form",
        '<form action="https://evil.example/pwn15"><input name="q" value="pwn15b"><button>Go</button></form>',
        "pwn15",
    ),
    ("math mutation", '<math><mi><style><img src=x onerror="pwn16()"></style></mi></math>', "pwn16"),
    ("math href", '<math href="javascript:pwn17()"><mi>x</mi></math>', "pwn17"),
    ("noscript mutation", '<noscript><p title="</noscript><img src=x onerror=pwn18()>"></noscript>', "pwn18"),
    (
        "data image",
        '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4'
        'nGNgYGD4DwABBAEAcCBlCwAAAABJRU5ErkJggg==" alt="pixel">',
        "iVBORw0KGgo",
    ),
    ("style url", '<p style="color: red; background-image: url(https://evil.example/pwn19.png)">x', "pwn19"),
    ("style expression", '<p style="width: expression(pwn20())">x</p>', "pwn20"),
    ("object", '<object data="https://evil.example/pwn21.swf"></object>', "pwn21"),
    ("embed", '<embed src="https://evil.example/pwn22.swf">', "pwn22"),
    ("video", '<video src="https://evil.example/pwn23.mp4" poster="https://evil.example/p.png">', "pwn23"),
    ("base", '<base href="https://evil.example/pwn24/">', "pwn24"),
    ("meta refresh", '<meta http-equiv="refresh" content="0;url=https://evil.example/pwn25">', "pwn25"),
    ("link stylesheet", '<link rel="stylesheet" href="https://evil.example/pwn26.css">', "pwn26"),
    ("conditional comment", "<!--[if gte mso 9]><script>pwn27()</script><![endif]-->", "pwn27"),
    ("template", "<template><script>pwn28()</script></template>", "pwn28"),
    ("table background", '<table background="https://evil.example/pwn29.png"><tr><td>x</table>', "pwn29"),
    ("srcset", '<img src="https://images.example.com/a" srcset="https://evil.example/pwn30 2x">', "pwn30"),
    ("details ontoggle", '<details open ontoggle="pwn31()"><summary>s</summary></details>', "pwn31"),
    ("button formaction", '<button formaction="javascript:pwn32()">b</button>', "pwn32"),
    ("script plain", "<script>pwn33()</script>", "pwn33"),
    ("script uppercase", "<SCRIPT SRC=https://evil.example/pwn34.js></SCRIPT>", "pwn34"),
    ("nested script", "<scr<script>ipt>pwn35()</script>", "<scr"),  # may stay as escaped, inert text
    ("event on div", '<div onmouseover="pwn36()">hover</div>', "pwn36"),
    ("xlink", '<svg><a xlink:href="javascript:pwn37()"><text>x</text></a></svg>', "pwn37"),
    ("ac link", '<ac:link><ri:url ri:value="javascript:pwn38()"/></ac:link>', "pwn38"),
    ("css escape", '<p style="background:u\\72l(https://evil.example/pwn39.png)">x</p>', "pwn39"),
]


@pytest.fixture(scope="module")
def page_body() -> str:
    return body_of("Converting-UI-To-Flex-XR-Panels_1514799110.html")


@pytest.mark.parametrize(("name", "markup", "marker"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_does_not_survive(page_body: str, name: str, markup: str, marker: str) -> None:
    hostile = markup + page_body[:2000] + markup + page_body[2000:] + markup
    prepared = prepare_page(hostile, PAGE, Layout())
    data = {ref.attachment_id: image_bytes(300, 200) for ref in prepared.images}
    rendered = render_mail(prepared, PAGE, MailContent("Eve"), Layout(), "Subject", data)
    assert_safe_html(rendered.html)
    assert marker not in rendered.html
    assert marker not in prepared.body_html
    if marker != "<scr":
        assert marker not in rendered.text
    assert "evil.example" not in rendered.html
    # The page itself is still there around the attack.
    assert "Flex XR" in rendered.text
    build_message(
        rendered,
        from_addr="pagemail@example.com",
        from_name="pagemail",
        reply_to=None,
        to=["bob@example.com"],
        cc=[],
    )


def test_external_images_are_kept_or_dropped_per_layout() -> None:
    body = '<p>Logo: <img src="https://images.example.com/logo.png" alt="Logo" width="120"></p>'
    kept = render_mail(prepare_page(body, PAGE, Layout()), PAGE, MailContent("Ann"), Layout(), "s", {})
    imgs = content_cell(kept.html).findall(".//img")
    assert [img.get("src") for img in imgs] == ["https://images.example.com/logo.png"]
    assert imgs[0].get("width") == "120"
    drop = Layout(external_images="drop")
    dropped = render_mail(prepare_page(body, PAGE, drop), PAGE, MailContent("Ann"), drop, "s", {})
    assert content_cell(dropped.html).findall(".//img") == []
    assert "images.example.com" not in dropped.html
    assert "Logo:" in dropped.text


def test_relative_and_confluence_hosted_images_are_never_referenced() -> None:
    body = (
        '<p><img src="images/icons/bullet_blue.gif" alt="bullet">'
        '<img src="/wiki/download/thumbnails/1/a.png" alt="thumb">'
        '<img src="https://acme.atlassian.net/wiki/download/attachments/1/b.png" alt="Diagram">'
        '<img src="https://api.media.atlassian.com/file/x/image?token=eyJsecret&name=Plan.pdf"></p>'
    )
    rendered = render_mail(prepare_page(body, PAGE, Layout()), PAGE, MailContent("Ann"), Layout(), "s", {})
    cell = content_cell(rendered.html)
    assert cell.findall(".//img") == []
    assert "eyJsecret" not in rendered.html and "eyJsecret" not in rendered.text
    # Confluence-hosted images become links to the page, named by alt text or file name.
    links = {a.text_content(): a.get("href") for a in cell.iter("a")}
    assert links["Diagram"] == PAGE.web_url
    assert links["Plan.pdf"] == PAGE.web_url


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("#Heading-One", PAGE.web_url + "#Heading-One"),
        ("/wiki/spaces/VAR/pages/2", "https://acme.atlassian.net/wiki/spaces/VAR/pages/2"),
        ("spaces/VAR/pages/3", "https://acme.atlassian.net/wiki/spaces/VAR/pages/3"),
        ("Other-Page_123.html", "https://acme.atlassian.net/wiki/Other-Page_123.html"),
        ("//cdn.example.com/x", "https://cdn.example.com/x"),
        ("https://example.com/a?b=1#c", "https://example.com/a?b=1#c"),
        ("mailto:team@example.com", "mailto:team@example.com"),
        ("javascript:alert(1)", None),
        ("JAVA\nSCRIPT:alert(1)", None),
        ("data:text/html,hi", None),
        ("file:///etc/passwd", None),
        ("http://[broken/", None),
        ("", None),
    ],
)
def test_resolve_url(href: str, expected: str | None) -> None:
    assert resolve_url(href, PAGE.web_url + "#old", PAGE.base_url) == expected


def test_nh3_is_the_last_word() -> None:
    # Even markup that skipped prepare_page cannot carry active content through the final sanitiser.
    cleaned = sanitize_fragment(
        '<p onclick="x()" class="pm-panel evil">a</p><a href="javascript:y()">b</a>'
        '<img src="data:image/png;base64,AAAA">'
        '<span style="color:red;position:fixed">c</span>'
    )
    assert "onclick" not in cleaned and "javascript" not in cleaned and "data:" not in cleaned
    assert 'class="pm-panel"' in cleaned
    assert "position" not in cleaned and "color:red" in cleaned.replace(" ", "")


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "plain text, no tags",
        "<div>" * 5000 + "deep" + "</div>" * 5000,
        "<p>nul\x00byte and \x01control\x1f chars</p>",
        "<<<<p>>>>unbalanced</b></i></table></td>",
        "<p>" + "x" * 200_000 + "</p>",
        '<table><tr><td colspan="999999999">huge span</td></tr></table>',
        '<img data-linked-resource-type="attachment" data-linked-resource-id="" src="x">',
        '<img data-linked-resource-type="attachment" data-linked-resource-id="../../etc/passwd" '
        'data-linked-resource-default-alias="a\r\nb.png" width="-5" src="x">',
        '<a href="http://[::1">broken ipv6 link</a><img src="http://[::1/x.png">',
        '<img data-linked-resource-type="attachment" data-linked-resource-id="5" width="inf" src="x">'
        '<img src="https://images.example.com/a.png" width="nan" height="1e999">',
    ],
    ids=[
        "empty",
        "blank",
        "text",
        "deep",
        "controls",
        "unbalanced",
        "long",
        "colspan",
        "empty-id",
        "odd-attachment",
        "broken-url",
        "odd-sizes",
    ],
)
def test_bad_input_renders_without_error(body: str) -> None:
    prepared = prepare_page(body, PAGE, Layout())
    data = {ref.attachment_id: image_bytes(50, 50) for ref in prepared.images}
    rendered = render_mail(prepared, PAGE, MailContent("Ann"), Layout(), "s", data)
    assert_safe_html(rendered.html)
    assert "\x00" not in rendered.html and "\x00" not in rendered.text
    message = build_message(
        rendered, from_addr="p@example.com", from_name="p", reply_to=None, to=["b@example.com"], cc=[]
    )
    assert message.as_bytes()


def test_file_thumbnail_link_keeps_a_name() -> None:
    body = (
        '<p><a href="/wiki/download/attachments/1/report.pdf" '
        'data-linked-resource-default-alias="report.pdf">'
        '<img src="/wiki/download/thumbnails/1/report.png"></a></p>'
    )
    rendered = render_mail(prepare_page(body, PAGE, Layout()), PAGE, MailContent("Ann"), Layout(), "s", {})
    links = {a.text: a.get("href") for a in content_cell(rendered.html).iter("a")}
    assert links["report.pdf"] == "https://acme.atlassian.net/wiki/download/attachments/1/report.pdf"


@pytest.mark.parametrize("resource_id", ["null", "../x", "12a", "١٢٣", "att", "1" * 21, "' onerror='x"])
def test_a_broken_attachment_image_id_becomes_a_link_not_an_error(resource_id: str) -> None:
    body = (
        f'<p><img src="/wiki/download/attachments/1/plan.png" data-linked-resource-type="attachment" '
        f'data-linked-resource-id="{resource_id}" data-linked-resource-default-alias="plan.png"></p>'
    )
    prepared = prepare_page(body, PAGE, Layout())
    assert prepared.images == []
    rendered = render_mail(prepared, PAGE, MailContent("Ann"), Layout(), "s", {})
    cell = content_cell(rendered.html)
    assert cell.findall(".//img") == []
    assert {a.text_content(): a.get("href") for a in cell.iter("a")}["plan.png"] == PAGE.web_url


def test_the_page_is_read_as_utf_8_without_its_controls_and_lone_surrogates() -> None:
    """Whatever charset the page claims, its text is the str it came as; a control character or a lone surrogate
    (a broken escape in the page's JSON) goes, and the text around it stays."""
    body = (
        '<meta charset="iso-8859-1"><p>Grüße 😀 日本</p><p>a\ud800b\udfffc</p>'
        "<p>x\x00y\x01z\x0b\x0c\x7fw\tv</p><p>nel\x85 ls\u2028</p>"
    )
    paragraphs = [p.text_content() for p in parse_fragment(body).iter("p")]
    assert paragraphs == ["Grüße 😀 日本", "abc", "xyzw\tv", "nel\x85 ls\u2028"]
    assert parse_fragment("\x00\x01 ").text is None and len(parse_fragment("\x00\x01 ")) == 0
