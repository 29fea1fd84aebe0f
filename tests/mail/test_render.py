"""The whole renderer on every fixture page, and the mail chrome around the content."""

from __future__ import annotations

import io
import re
from email import message_from_bytes, policy

import lxml.html
import pytest
from PIL import Image

from mail.mime import build_message
from mail.render import (
    ImageRef,
    Layout,
    MailContent,
    PageInfo,
    PreparedPage,
    RenderedMail,
    prepare_page,
    render_mail,
)
from mail.strings import ENGLISH, GERMAN
from tests.mail.pages import (
    GMAIL_CLIP_BYTES,
    HUGE_PAGE,
    PAGE,
    assert_safe_html,
    body_of,
    content_cell,
    image_bytes,
    images_for,
    page_names,
)

ALL_PAGES = page_names()


def cids_in(html: str) -> set[str]:
    return {src.removeprefix("cid:") for src in re.findall(r'src="(cid:[^"]+)"', html)}


@pytest.mark.parametrize("name", ALL_PAGES)
def test_every_fixture_renders_safely_with_consistent_images(name: str) -> None:
    prepared = prepare_page(body_of(name), PAGE, Layout())
    rendered = render_mail(
        prepared,
        PAGE,
        MailContent("Ann Example", "Have a look"),
        Layout(),
        "Fwd: a page",
        images_for(prepared),
    )
    assert_safe_html(rendered.html)
    assert "cid:pagemail-attachment." not in rendered.html  # every placeholder was resolved
    # Every cid: in the HTML has a part and every part is referenced.
    assert cids_in(rendered.html) == {image.cid for image in rendered.images}
    # A page cut for size (mail/inline_budget.py) carries only the images that are left.
    assert len(rendered.images) == len(prepared.images) or (rendered.truncated and rendered.images)
    assert len({image.cid for image in rendered.images}) == len(rendered.images)
    assert "Have a look" in rendered.text and "Open in Confluence" in rendered.text
    message = build_message(
        rendered,
        from_addr="pagemail@example.com",
        from_name="pagemail",
        reply_to=None,
        to=["bob@example.com"],
        cc=[],
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    related_ids = {part["Content-ID"].strip("<>") for part in parsed.walk() if part["Content-ID"]}
    assert related_ids == cids_in(rendered.html)


@pytest.mark.parametrize("name", ALL_PAGES)
def test_html_part_stays_under_gmail_clipping_where_the_page_allows(name: str) -> None:
    prepared = prepare_page(body_of(name), PAGE, Layout())
    rendered = render_mail(prepared, PAGE, MailContent("Ann"), Layout(), "s", images_for(prepared))
    size = len(rendered.html.encode("utf-8"))
    if name == HUGE_PAGE:
        # Its text alone (~120 KB) is over Gmail's limit; it still must not balloon past its source.
        assert size < len(body_of(name).encode("utf-8"))
    else:
        assert size < GMAIL_CLIP_BYTES, f"{name}: {size} bytes"


def test_chrome_in_english() -> None:
    layout = Layout(header_text="ACME <internal>\nsecond line", button_label="")
    rendered = render_mail(
        prepare_page("<p>Body text</p>", PAGE, layout),
        PAGE,
        MailContent("Ann <Example>", "Hello <b>Bob</b>\nsee below"),
        layout,
        "s",
        {},
    )
    document = lxml.html.document_fromstring(rendered.html)
    assert document.get("lang") == "en"
    assert "Ann &lt;Example&gt; sent you a page" in rendered.html
    assert "Hello &lt;b&gt;Bob&lt;/b&gt;<br>\nsee below" in rendered.html
    assert "ACME &lt;internal&gt;<br>\nsecond line" in rendered.html
    title_link = document.find_class("pm-title-heading")[0].find("a")
    assert title_link.text == PAGE.title and title_link.get("href") == PAGE.web_url
    button = document.find_class("pm-button")[0]
    assert button.text == "Open in Confluence" and button.get("href") == PAGE.web_url
    assert button.getparent().get("bgcolor") == "#0052cc"  # bulletproof: the cell carries the colour
    assert "Sent with pagemail from Confluence" in rendered.html
    assert "<!--[if mso]>" in rendered.html and 'width="680"' in rendered.html
    preheader = document.find(".//body/div")
    assert "display:none" in preheader.get("style") and "sent you a page" in preheader.text
    text = rendered.text
    assert text.index("ACME <internal>") < text.index("Ann <Example> sent you a page") < text.index("Hello")
    assert (
        text.index("Hello")
        < text.index(PAGE.title)
        < text.index("Body text")
        < text.index("Open in Confluence: " + PAGE.web_url)
        < text.index("Sent with pagemail from Confluence")
    )


def test_chrome_in_german() -> None:
    layout = Layout()
    prepared = prepare_page(body_of("Usability-Testing_-PHI_-Sep_1237385238.html"), PAGE, layout)
    rendered = render_mail(prepared, PAGE, MailContent("Jürgen", locale="de-DE"), layout, "s", {})
    document = lxml.html.document_fromstring(rendered.html)
    assert document.get("lang") == "de"
    assert "Jürgen hat Ihnen eine Seite gesendet" in rendered.html
    assert document.find_class("pm-button")[0].text == "In Confluence öffnen"
    assert "Gesendet mit pagemail aus Confluence" in rendered.html
    assert "In Confluence öffnen: " + PAGE.web_url in rendered.text
    assert "Sent with pagemail" not in rendered.html and "sent you a page" not in rendered.text
    # Images that could not be fetched become a (German) text link.
    assert "[Bild:" not in rendered.text


def test_admin_button_label_and_custom_css() -> None:
    layout = Layout(
        button_label="Seite ansehen",
        custom_css=".pm-title-link { color: #ff0000; }\n"
        "@media (prefers-color-scheme: dark) { .pm-container { background-color: #111111; } }\n"
        "p { } </style><script>alert(1)</script>",
    )
    rendered = render_mail(prepare_page("<p>x</p>", PAGE, layout), PAGE, MailContent("A"), layout, "s", {})
    assert_safe_html(rendered.html)
    document = lxml.html.document_fromstring(rendered.html)
    assert document.find_class("pm-button")[0].text == "Seite ansehen"
    assert "color:#ff0000" in document.find_class("pm-title-heading")[0].find("a").get("style")
    (style,) = document.iter("style")
    assert "prefers-color-scheme" in style.text and "max-width: 700px" in style.text
    assert ".pm-title-link" not in style.text  # ordinary rules are inlined, not kept


def test_images_are_scaled_embedded_once_and_sized() -> None:
    body = (
        '<p><img data-linked-resource-type="attachment" data-linked-resource-id="101" '
        'data-linked-resource-default-alias="photo.jpg" alt="A photo" src="attachments/1/101.jpg"></p>'
        '<p><img data-linked-resource-type="attachment" data-linked-resource-id="102" width="200" '
        'data-linked-resource-default-alias="diagram.png" src="attachments/1/102.png"></p>'
        '<p><img data-linked-resource-type="attachment" data-linked-resource-id="101" '
        'data-linked-resource-default-alias="photo.jpg" alt="Same photo again" src="x"></p>'
        '<p><img data-linked-resource-type="attachment" data-linked-resource-id="103" '
        'data-linked-resource-default-alias="gone.png" alt="Missing one" src="x"></p>'
        '<p><img data-linked-resource-type="attachment" data-linked-resource-id="104" '
        'data-linked-resource-default-alias="broken.png" alt="Broken one" src="x"></p>'
    )
    prepared = prepare_page(body, PAGE, Layout())
    assert [ref.attachment_id for ref in prepared.images] == ["101", "102", "103", "104"]
    assert prepared.images[0] == ImageRef("101", "photo.jpg", None)
    data: dict[str, bytes | None] = {
        "101": image_bytes(4000, 3000, "JPEG"),
        "102": image_bytes(1000, 500, "PNG"),
        "103": None,
        "104": b"not an image",
        "999": image_bytes(10, 10),  # not on the page: never attached
    }
    rendered = render_mail(prepared, PAGE, MailContent("A"), Layout(), "s", data)
    assert [(image.filename, image.content_type) for image in rendered.images] == [
        ("photo.jpg", "image/jpeg"),
        ("diagram.png", "image/png"),
    ]
    imgs = content_cell(rendered.html).findall(".//img")
    # Alt text is the page's; an image without one is named "Image: <file name>".
    assert [(img.get("alt"), img.get("width"), img.get("height")) for img in imgs] == [
        ("A photo", "640", "480"),
        ("Image: diagram.png", "200", "100"),
        ("Same photo again", "640", "480"),
    ]
    # Apple Mail goes by CSS for CID images: the width is in the style too.
    assert [re.findall(r"(?:^|;)(width:\d+px)", img.get("style")) for img in imgs] == [
        ["width:640px"],
        ["width:200px"],
        ["width:640px"],
    ]
    # Scaled to twice the width shown: the photo to 1280 px, the diagram (shown at 200 px) to 400 px.
    assert [Image.open(io.BytesIO(image.data)).size for image in rendered.images] == [(1280, 960), (400, 200)]
    assert imgs[0].get("src") == imgs[2].get("src") == "cid:" + rendered.images[0].cid
    assert "max-width:100%" in imgs[0].get("style") and "height:auto" in imgs[0].get("style")
    links = {a.text: a.get("href") for a in content_cell(rendered.html).iter("a")}
    assert links["Missing one"] == PAGE.web_url and links["Broken one"] == PAGE.web_url
    assert "[image: A photo]" in rendered.text and "[Image: diagram.png]" in rendered.text
    assert "Missing one <" + PAGE.web_url + ">" in " ".join(rendered.text.split())


def test_image_modes_apply_to_the_embedded_parts() -> None:
    body = (
        '<img data-linked-resource-type="attachment" data-linked-resource-id="7" '
        'data-linked-resource-default-alias="big.jpg" src="x">'
    )
    data: dict[str, bytes | None] = {"7": image_bytes(3000, 2000, "JPEG")}
    # Twice the width shown (640 px here), within the admin's cap; "original" sends the file as it is.
    for layout, size in (
        (Layout(image_mode="original"), (3000, 2000)),
        (Layout(image_mode="max_side", image_max_side=1500), (1280, 853)),
        (Layout(image_mode="max_side", image_max_side=900), (900, 600)),
        (Layout(image_mode="fit"), (1280, 853)),
    ):
        rendered = render_mail(prepare_page(body, PAGE, layout), PAGE, MailContent("A"), layout, "s", data)
        (part,) = rendered.images
        assert Image.open(io.BytesIO(part.data)).size == size
        # Whatever the file's size, the HTML never asks for more than the content column.
        assert content_cell(rendered.html).find(".//img").get("width") == str(min(size[0], 640))


def test_prepared_page_is_reusable_and_pure() -> None:
    prepared = prepare_page(body_of("Converting-UI-To-Flex-XR-Panels_1514799110.html"), PAGE, Layout())
    first = render_mail(prepared, PAGE, MailContent("A"), Layout(), "s", images_for(prepared))
    second = render_mail(prepared, PAGE, MailContent("A", locale="de"), Layout(), "s", images_for(prepared))
    assert "Warning" in first.html and "Warnung" in second.html
    assert isinstance(prepared, PreparedPage) and "cid:pagemail-attachment." in prepared.body_html


def test_bad_settings_and_page_info_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="image_mode"):
        Layout(image_mode="huge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="external_images"):
        Layout(external_images="fetch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="image_max_side"):
        Layout(image_max_side=0)
    with pytest.raises(ValueError, match="web_url"):
        PageInfo("1", "t", "javascript:alert(1)", "https://acme.atlassian.net/wiki")
    with pytest.raises(ValueError, match="base_url"):
        PageInfo("1", "t", "https://acme.atlassian.net/wiki/x", "/wiki")


def test_rendered_mail_is_a_value() -> None:
    rendered = render_mail(
        prepare_page("<p>x</p>", PAGE, Layout()), PAGE, MailContent("A"), Layout(), "  Subject  ", {}
    )
    assert isinstance(rendered, RenderedMail) and rendered.subject == "Subject"
    with pytest.raises(AttributeError):
        rendered.subject = "other"  # type: ignore[misc]


def test_sender_without_a_name_gets_a_neutral_intro() -> None:
    for locale, intro in (("en", "A page was sent to you"), ("de", "Ihnen wurde eine Seite gesendet")):
        prepared = prepare_page("<p>x</p>", PAGE, Layout())
        rendered = render_mail(prepared, PAGE, MailContent("  ", locale=locale), Layout(), "s", {})
        assert intro in rendered.html and intro in rendered.text


def test_every_label_has_a_german_text() -> None:
    assert set(GERMAN.labels) == set(ENGLISH.labels)
    assert all(GERMAN.labels[key] for key in GERMAN.labels)


@pytest.mark.parametrize(
    "css",
    [
        "@import url(https://evil.example/x.css); .pm-title-link { color: red }",
        "@font-face { font-family: X; src: url(https://evil.example/f.woff) }",
        "@media (max-width: 10px) { .pm-pad { background: url(https://evil.example/m.png) } }",
        ".pm-pad { background-image: image-set('https://evil.example/i.png' 1x) }",
        ".pm-pad { width: expression(alert(1)) }",
        ".pm-pad { background: u\\72 l(https://evil.example/e.png) }",
    ],
)
def test_custom_css_that_loads_anything_is_left_out(css: str) -> None:
    layout = Layout(custom_css=css)
    rendered = render_mail(prepare_page("<p>x</p>", PAGE, layout), PAGE, MailContent("A"), layout, "s", {})
    assert "evil.example" not in rendered.html and "expression" not in rendered.html
    assert_safe_html(rendered.html)
    assert "Open in Confluence" in rendered.html  # the mail itself is unaffected
