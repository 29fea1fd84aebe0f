"""Images in the mail (issue 9, item 5): scaled to twice the width they are shown at, sized in the attribute and
in CSS, centred where the page centres them, described, and a labelled link to the page when they can't be had."""

from __future__ import annotations

import io

from PIL import Image

from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import PAGE, content_cell, image_bytes
from tests.mail.synthetic import centred_images


def render(body: str, data: dict[str, bytes | None], layout: Layout | None = None, locale: str = "en") -> RenderedMail:
    layout = layout or Layout()
    prepared = prepare_page(body, PAGE, layout)
    return render_mail(prepared, PAGE, MailContent("Ann", locale=locale), layout, "s", data)


def attachment(resource_id: str, name: str, **attributes: str) -> str:
    extra = "".join(f' {key}="{value}"' for key, value in attributes.items())
    return (
        f'<img data-linked-resource-type="attachment" data-linked-resource-id="{resource_id}" '
        f'data-linked-resource-default-alias="{name}" src="attachments/{resource_id}.png"{extra}>'
    )


def test_twice_the_display_width_capped_by_the_admins_setting() -> None:
    body = "<p>" + attachment("1", "a.png", width="300") + "</p><p>" + attachment("2", "b.png") + "</p>"
    data: dict[str, bytes | None] = {"1": image_bytes(2400, 1200), "2": image_bytes(2400, 1200)}
    sizes = [Image.open(io.BytesIO(part.data)).size for part in render(body, data).images]
    assert sizes == [(600, 300), (1280, 640)]  # shown at 300 and 640 px
    capped = render(body, data, Layout(image_mode="max_side", image_max_side=1000)).images
    assert [Image.open(io.BytesIO(part.data)).size for part in capped] == [(600, 300), (1000, 500)]
    original = render(body, data, Layout(image_mode="original")).images
    assert [Image.open(io.BytesIO(part.data)).size for part in original] == [(2400, 1200), (2400, 1200)]


def test_the_same_image_shown_twice_is_scaled_for_its_widest_use() -> None:
    body = attachment("1", "a.png", width="200") + attachment("1", "a.png", width="500")
    mail = render(body, {"1": image_bytes(2000, 1000)})
    (part,) = mail.images
    assert Image.open(io.BytesIO(part.data)).size == (1000, 500)
    assert [img.get("width") for img in content_cell(mail.html).iter("img")] == ["200", "500"]


def test_width_in_the_attribute_and_in_css() -> None:
    mail = render(attachment("1", "a.png", width="250"), {"1": image_bytes(1000, 400)})
    (img,) = content_cell(mail.html).iter("img")
    assert (img.get("width"), img.get("height")) == ("250", "100")
    assert "width:250px" in img.get("style") and "max-width:100%" in img.get("style")


def test_centred_images_stay_centred() -> None:
    prepared = prepare_page(centred_images(), PAGE, Layout())
    data = {ref.attachment_id: image_bytes(1200, 600) for ref in prepared.images}
    cell = content_cell(render_mail(prepared, PAGE, MailContent("Ann"), Layout(), "s", data).html)
    centred = [p for p in cell.iter("p") if p.get("align") == "center"]
    assert len(centred) == 3 and all("text-align:center" in p.get("style") for p in centred)
    # The image that shared its paragraph with text got a centred paragraph of its own; the text stays.
    assert [img.get("alt") for p in centred for img in p.iter("img")] == [
        "Image: screenshot-9001.png",
        "The login form",
        "Image: screenshot-9003.png",
    ]
    assert "Before the image" in cell.text_content() and "after the image." in cell.text_content()


def test_alt_text_is_the_pages_or_names_the_image() -> None:
    body = (
        attachment("1", "chart.png", alt="Sales by region")
        + attachment("2", "photo.jpg", alt="photo.jpg")  # Confluence's default: the file name
        + attachment("3", "map.png", title="Where we are")
        + attachment("4", "logo.png")
    )
    data: dict[str, bytes | None] = {key: image_bytes(100, 50) for key in "1234"}
    alts = [img.get("alt") for img in content_cell(render(body, data).html).iter("img")]
    assert alts == ["Sales by region", "Image: photo.jpg", "Where we are", "Image: logo.png"]
    german = [img.get("alt") for img in content_cell(render(body, data, locale="de").html).iter("img")]
    assert german[1] == "Bild: photo.jpg"
    assert "[Image: logo.png]" in " ".join(render(body, data).text.split())


def test_an_image_that_cant_be_fetched_is_a_labelled_placeholder_linking_to_the_page() -> None:
    body = "<p>" + attachment("1", "gone.png") + " and " + attachment("2", "broken.png", alt="The plan") + "</p>"
    mail = render(body, {"1": None, "2": b"not an image"})
    links = [a for a in content_cell(mail.html).iter("a") if a.get("href") == PAGE.web_url]
    assert [a.text for a in links] == ["Image: gone.png", "The plan"]
    for link in links:
        style = link.get("style")
        assert "border:1px dashed #c1c7d0" in style and "display:inline-block" in style
    assert mail.images == []
    assert f"Image: gone.png <{PAGE.web_url}>" in " ".join(mail.text.split())
