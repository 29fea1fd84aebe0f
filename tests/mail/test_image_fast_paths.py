"""The cheap ways through image scaling (issue 13, send CPU), checked on what they produce: images already small
enough go out byte for byte without a decoded pixel, big JPEGs decode at a reduced scale, and every decode still
waits for room in the pixel budgets, also when many threads prepare the benchmark page's images at once."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageFile

from mail import images
from mail.images import PixelBudget, scale_image
from mail.render import Layout
from mail.send import prescale
from sandbox.blobs import BlobSpec, render
from sandbox.catalog import _BENCHMARK_IMAGES
from tests.mail.pages import image_bytes
from tests.mail.test_images import png_chunk


def photo(width: int, height: int) -> bytes:
    return image_bytes(width, height, "JPEG", colour=(200, 150, 90), quality=90)


def benchmark_images() -> list[tuple[BlobSpec, bytes]]:
    """The sandbox's benchmark page: phone photos to thumbnails, JPEG, PNG and GIF (bench/send_bench.py)."""
    specs = [
        BlobSpec(kind, 2200 + n, w, h, label=f"Site photo {n}") for n, (w, h, kind) in enumerate(_BENCHMARK_IMAGES, 1)
    ]
    return [(spec, render(spec)) for spec in specs]


@pytest.fixture
def decodes_outside_the_budgets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every pixel decode Pillow starts, recorded when the process-wide budget was not held at that moment."""
    outside: list[str] = []
    load = ImageFile.ImageFile.load

    def watched(self: ImageFile.ImageFile) -> object:
        if self.tile and images.PROCESS_PIXELS.in_use == 0:  # tiles left: this call decodes pixels
            outside.append(f"{self.format} {self.size}")
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", watched)
    yield outside


def test_an_image_already_small_enough_goes_out_byte_for_byte_without_decoding() -> None:
    budget = PixelBudget(images.SEND_PIXEL_BUDGET)
    for data in (photo(1000, 750), image_bytes(640, 480, "PNG")):
        # shown at 680 px: twice that is wider than the image, so there is nothing to scale
        assert prescale(data, Layout(), budget, display_width=680) == data
    assert budget.peak == 0  # not one pixel decoded


def test_a_big_jpeg_is_decoded_at_a_reduced_scale() -> None:
    """4000x3000 scaled to 1280 wide: libjpeg decodes it at half size (2000x1500), which is what the budget is
    charged for, next to the 1280x960 result."""
    budget = PixelBudget(images.SEND_PIXEL_BUDGET)
    scaled = scale_image(photo(4000, 3000), mode="fit", max_side=1200, content_width=1280, budget=budget)
    assert (scaled.width, scaled.height) == (1280, 960)
    assert budget.peak == 2000 * 1500 + 1280 * 960
    png = PixelBudget(images.SEND_PIXEL_BUDGET)
    scale_image(image_bytes(4000, 3000, "PNG"), mode="fit", max_side=1200, content_width=1280, budget=png)
    assert png.peak == 4000 * 3000 + 1280 * 960  # a PNG has no reduced decode: all of it


def test_the_orientation_of_a_png_is_read_without_decoding_it_first(decodes_outside_the_budgets: list[str]) -> None:
    # Left half red, right half blue, orientation 6 (turn 90° clockwise) in an eXIf chunk after the image data:
    # Pillow would decode every pixel to find it.
    im = Image.new("RGB", (400, 300), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 200, 300))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    im.save(buffer, format="PNG")
    clean = buffer.getvalue()
    iend = png_chunk(b"IEND", b"")
    data = clean[: -len(iend)] + png_chunk(b"eXIf", exif.tobytes()) + iend
    scaled = scale_image(data, mode="fit", max_side=1200)
    assert decodes_outside_the_budgets == []
    out = Image.open(io.BytesIO(scaled.data)).convert("RGB")
    assert out.size == (300, 400)
    assert out.getpixel((150, 10)) == (255, 0, 0) and out.getpixel((150, 390)) == (0, 0, 255)


def test_every_decode_waits_for_room_in_the_budgets(decodes_outside_the_budgets: list[str]) -> None:
    small_gif = image_bytes(120, 80, "GIF", mode="P", colour=3)
    cases = [photo(3000, 2000), image_bytes(2000, 1000, "PNG"), small_gif, image_bytes(1000, 500, "WEBP")]
    for data in cases:
        scale_image(data, mode="fit", max_side=1200)
    assert decodes_outside_the_budgets == []


def test_the_benchmark_page_prepared_by_sixteen_threads_stays_within_the_budgets() -> None:
    """The send's download workers scale each image as it arrives: 16 at once, as in compose()."""
    pages = benchmark_images()
    send_budget = PixelBudget(images.SEND_PIXEL_BUDGET)
    layout = Layout()

    def prepare(item: tuple[BlobSpec, bytes]) -> bytes | None:
        spec, data = item
        return prescale(data, layout, send_budget, display_width=min(spec.width, 680))

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(prepare, pages))
    for (spec, data), out in zip(pages, results, strict=True):
        assert out is not None
        im = Image.open(io.BytesIO(out))
        assert im.size[0] == min(spec.width, 1280)  # twice the shown width, capped by the mail's 2 x 640
        if spec.width <= 1280:
            assert out == data  # small enough already: sent as it is
        else:
            # The benchmark's PNGs are photographs saved as PNG: scaled, they go out as JPEG (mail/images.py).
            assert im.format == "JPEG"
    assert 0 < send_budget.peak <= images.SEND_PIXEL_BUDGET
    assert send_budget.in_use == 0 and images.PROCESS_PIXELS.in_use == 0
    assert images.PROCESS_PIXELS.peak <= images.PROCESS_PIXEL_BUDGET


def _refused(*_args: object) -> int:
    raise OSError(38, "Function not implemented")


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="no anonymous in-memory files on this system")
@pytest.mark.parametrize("system", ["without memfd_create", "refusing memfd_create"])
def test_encoding_without_in_memory_files_gives_the_same_bytes(monkeypatch: pytest.MonkeyPatch, system: str) -> None:
    sources = [photo(3000, 2000), image_bytes(2000, 1000, "PNG", mode="RGBA", colour=(10, 200, 10, 100))]
    with_memfd = [scale_image(data, mode="fit", max_side=1200).data for data in sources]
    if system == "without memfd_create":
        monkeypatch.delattr(os, "memfd_create")
    else:
        monkeypatch.setattr(os, "memfd_create", _refused)
    assert [scale_image(data, mode="fit", max_side=1200).data for data in sources] == with_memfd
    assert [Image.open(io.BytesIO(data)).format for data in with_memfd] == ["JPEG", "PNG"]
