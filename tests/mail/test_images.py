"""Image scaling with real Pillow encodes/decodes: sizes per mode, orientation, formats, metadata,
and refusal of bombs and non-images."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageDraw

from mail.images import ImageError, scale_image
from tests.mail.pages import image_bytes


def open_image(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def photo(width: int = 4000, height: int = 3000, **save: object) -> bytes:
    return image_bytes(width, height, "JPEG", colour=(200, 150, 90), quality=90, **save)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height pixels that compresses to a few kilobytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_fit_scales_a_big_photo_down_to_the_mail_width() -> None:
    scaled = scale_image(photo(), mode="fit", max_side=1200)
    assert (scaled.width, scaled.height) == (640, 480)
    assert scaled.content_type == "image/jpeg"
    im = open_image(scaled.data)
    assert im.format == "JPEG" and im.size == (640, 480)
    assert not (im.info.get("progressive") or im.info.get("progression"))  # baseline: what every client shows


def test_max_side_caps_the_longer_side() -> None:
    scaled = scale_image(photo(3000, 4000), mode="max_side", max_side=1200)
    assert (scaled.width, scaled.height) == (900, 1200)
    assert open_image(scaled.data).size == (900, 1200)


def test_original_keeps_size_and_clean_bytes_untouched() -> None:
    data = photo()
    scaled = scale_image(data, mode="original", max_side=100)
    assert (scaled.width, scaled.height) == (4000, 3000)
    assert scaled.data == data


def test_never_upscales() -> None:
    data = image_bytes(100, 50)
    for mode in ("fit", "max_side", "original"):
        scaled = scale_image(data, mode=mode, max_side=1200)  # type: ignore[arg-type]
        assert (scaled.width, scaled.height) == (100, 50)
        assert scaled.data == data


def test_exif_orientation_is_applied_and_metadata_stripped() -> None:
    # Left half red, right half blue; orientation 6 means "rotate 90° clockwise to display",
    # so the displayed image is portrait with red on top.
    im = Image.new("RGB", (400, 300), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 200, 300))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010E] = "secret-description"
    exif[0x010F] = "SecretCam"
    buffer = io.BytesIO()
    im.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)

    scaled = scale_image(buffer.getvalue(), mode="original", max_side=1200)
    assert (scaled.width, scaled.height) == (300, 400)
    out = open_image(scaled.data)
    assert out.size == (300, 400)
    top, bottom = out.getpixel((150, 20)), out.getpixel((150, 380))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom
    assert b"secret-description" not in scaled.data and b"SecretCam" not in scaled.data
    assert not out.getexif()


def test_rotated_photo_scaled_in_fit_mode() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    # Stored landscape 2000x1000, displayed portrait 1000x2000: fitted to the mail's 640 px width.
    scaled = scale_image(photo(2000, 1000, exif=exif.tobytes()), mode="fit", max_side=1200)
    assert (scaled.width, scaled.height) == (640, 1280)
    assert open_image(scaled.data).size == (640, 1280)


def test_png_with_transparency_stays_png() -> None:
    data = image_bytes(2000, 1000, "PNG", mode="RGBA", colour=(10, 200, 10, 100))
    scaled = scale_image(data, mode="fit", max_side=1200)
    assert scaled.content_type == "image/png"
    out = open_image(scaled.data)
    assert out.format == "PNG" and out.mode == "RGBA" and out.size == (640, 320)
    assert out.getpixel((10, 10))[3] == 100


def photographic_png(width: int, height: int, mode: str = "RGB") -> bytes:
    """A photograph saved as PNG: a gradient under per-pixel noise, hundreds of thousands of colours."""
    noise = Image.effect_noise((width, height), 40).convert("L")
    down = Image.linear_gradient("L").resize((width, height))  # black at the top, white at the bottom
    across = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((width, height))  # black left
    im = Image.merge("RGB", (across, noise, down))
    if mode in ("RGBA", "RGBA-opaque"):
        im.putalpha(200 if mode == "RGBA" else 255)
    buffer = io.BytesIO()
    im.save(buffer, format="PNG")
    return buffer.getvalue()


def screenshot_png(width: int, height: int) -> bytes:
    """A screenshot: flat panels and text on white, a few colours."""
    im = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    for row in range(0, height, 90):
        draw.rectangle((20, row + 10, width - 20, row + 30), fill=(222, 235, 255))
        draw.text((30, row + 40), "Quarterly report: 42 items, 7 open, 35 done " * 3, fill=(23, 43, 77))
    buffer = io.BytesIO()
    im.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_photograph_saved_as_png_is_mailed_as_jpeg_once_scaled() -> None:
    data = photographic_png(2000, 1000)
    scaled = scale_image(data, mode="fit", max_side=1200)
    out = open_image(scaled.data)
    assert scaled.content_type == "image/jpeg" and out.format == "JPEG" and out.size == (640, 320)
    as_png = io.BytesIO()
    open_image(data).resize((640, 320), Image.Resampling.LANCZOS).save(as_png, format="PNG", compress_level=2)
    assert len(scaled.data) * 3 < len(as_png.getvalue())
    # Same picture: the gradient runs left to right in red.
    assert out.getpixel((5, 160))[0] < 40 and out.getpixel((634, 160))[0] > 215


def test_an_alpha_channel_that_is_opaque_everywhere_does_not_keep_a_photograph_a_png() -> None:
    scaled = scale_image(photographic_png(1600, 800, mode="RGBA-opaque"), mode="fit", max_side=1200)
    assert scaled.content_type == "image/jpeg" and open_image(scaled.data).size == (640, 320)
    im = Image.new("RGBA", (1600, 900), (255, 255, 255, 255))
    ImageDraw.Draw(im).text((30, 40), "A screenshot saved with an alpha channel", fill=(23, 43, 77, 255))
    buffer = io.BytesIO()
    im.save(buffer, format="PNG")
    screenshot = open_image(scale_image(buffer.getvalue(), mode="fit", max_side=1200).data)
    assert screenshot.format == "PNG" and screenshot.mode == "RGB"  # the same pixels, without a channel saying nothing


def test_screenshots_and_transparent_photographs_stay_png_and_an_unscaled_one_untouched() -> None:
    screenshot = scale_image(screenshot_png(1600, 900), mode="fit", max_side=1200)
    assert screenshot.content_type == "image/png" and open_image(screenshot.data).size == (640, 360)
    transparent = scale_image(photographic_png(1600, 800, mode="RGBA"), mode="fit", max_side=1200)
    assert transparent.content_type == "image/png" and open_image(transparent.data).mode == "RGBA"
    small = photographic_png(600, 300)
    assert scale_image(small, mode="fit", max_side=1200).data == small  # nothing to scale or strip: as it is


def test_screenshots_are_resampled_with_lanczos_and_photographs_with_bicubic(monkeypatch: pytest.MonkeyPatch) -> None:
    source = screenshot_png(1600, 900)
    scaled = scale_image(source, mode="fit", max_side=1200)
    expected = open_image(source).resize((640, 360), Image.Resampling.LANCZOS, reducing_gap=3.0)
    assert open_image(scaled.data).tobytes() == expected.tobytes()  # PNG is lossless: the very pixels

    photographs = [photo(2000, 1500), photographic_png(2000, 1000)]
    filters: list[int] = []
    resize = Image.Image.resize

    def recording(self: Image.Image, size: tuple[int, int], resample: int | None = None, *args: object, **kw: object):
        filters.append(resample)
        return resize(self, size, resample, *args, **kw)

    monkeypatch.setattr(Image.Image, "resize", recording)
    for data in photographs:
        scale_image(data, mode="fit", max_side=1200)
    assert filters == [Image.Resampling.BICUBIC, Image.Resampling.BICUBIC]


def test_png_text_chunks_are_stripped() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author")
    data = image_bytes(300, 200, "PNG", pnginfo=info)
    scaled = scale_image(data, mode="fit", max_side=1200)
    assert b"secret-author" not in scaled.data
    assert scaled.content_type == "image/png" and (scaled.width, scaled.height) == (300, 200)


def test_small_gif_passes_through_and_big_gif_becomes_first_frame_png() -> None:
    small = image_bytes(120, 80, "GIF", mode="P", colour=3)
    scaled = scale_image(small, mode="fit", max_side=1200)
    assert scaled.data == small and scaled.content_type == "image/gif"

    frames = [Image.new("RGB", (1600, 800), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    big = scale_image(buffer.getvalue(), mode="fit", max_side=1200)
    out = open_image(big.data)
    assert big.content_type == "image/png" and out.size == (640, 320)
    red, green, _ = out.convert("RGB").getpixel((5, 5))
    assert red > 200 and green < 50  # the first frame


def test_webp_and_cmyk_become_mail_safe_jpeg() -> None:
    webp = scale_image(image_bytes(1000, 500, "WEBP"), mode="fit", max_side=1200)
    assert webp.content_type == "image/jpeg" and open_image(webp.data).size == (640, 320)
    cmyk_jpeg = image_bytes(800, 400, "JPEG", mode="CMYK", colour=(0, 100, 200, 0))
    cmyk = scale_image(cmyk_jpeg, mode="fit", max_side=1200)
    out = open_image(cmyk.data)
    assert cmyk.content_type == "image/jpeg" and out.mode == "RGB" and out.size == (640, 320)


@pytest.mark.parametrize(
    ("width", "height"), [(8000, 8000), (30000, 30000)], ids=["over-our-limit", "over-pillow-limit"]
)
def test_decompression_bomb_is_refused(width: int, height: int) -> None:
    data = bomb_png(width, height)
    assert len(data) < 2_000_000
    with pytest.raises(ImageError, match="too many pixels"):
        scale_image(data, mode="fit", max_side=1200)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"definitely not an image",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>',
        b"%PDF-1.7\n1 0 obj << >> endobj\n",
        photo(400, 300)[:600],
        image_bytes(64, 64, "ICO"),
    ],
    ids=["empty", "text", "svg", "pdf", "truncated-jpeg", "ico"],
)
def test_non_images_and_unsupported_formats_are_refused(data: bytes) -> None:
    with pytest.raises(ImageError):
        scale_image(data, mode="fit", max_side=1200)


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="image mode"):
        scale_image(image_bytes(10, 10), mode="huge", max_side=1200)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        scale_image(image_bytes(10, 10), mode="max_side", max_side=0)


def test_png_metadata_after_the_image_data_is_found_and_stripped() -> None:
    clean = image_bytes(300, 200, "PNG")
    assert clean.endswith(png_chunk(b"IEND", b""))
    late_text = png_chunk(b"tEXt", b"Comment\x00secret-late-comment")
    data = clean[: -len(png_chunk(b"IEND", b""))] + late_text + png_chunk(b"IEND", b"")
    scaled = scale_image(data, mode="fit", max_side=1200)
    assert b"secret-late-comment" not in scaled.data
    assert open_image(scaled.data).size == (300, 200)
    assert scale_image(clean, mode="fit", max_side=1200).data == clean  # nothing to strip: untouched


def _huge_png(side: int = 7000) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (side, side), 200).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_too_many_decoded_pixels_are_refused_before_decoding() -> None:
    data = _huge_png(7000)  # 49 Mpx in a small file
    assert len(data) < 300_000
    with pytest.raises(ImageError, match="too many pixels"):
        scale_image(data, mode="fit", max_side=1200)


def test_a_big_phone_photo_still_passes_through_a_reduced_jpeg_decode() -> None:
    scaled = scale_image(photo(8064, 6048), mode="fit", max_side=1200)  # 48.8 Mpx declared
    assert scaled.width == 640


def test_concurrent_decodes_never_hold_more_pixels_than_the_budgets() -> None:
    """Sixteen 4000x4000 PNGs (16 Mpx each) decoded by 16 threads: the send's budget and the process's stay
    within their capacity, while every image is still prepared."""
    from concurrent.futures import ThreadPoolExecutor

    from mail import images

    buffer = io.BytesIO()
    Image.new("RGB", (4000, 4000), (10, 20, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    send_budget = images.PixelBudget(40_000_000)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: scale_image(data, mode="fit", max_side=1200, budget=send_budget), range(16)))
    assert all(r.width == 640 for r in results)
    assert 0 < send_budget.peak <= 40_000_000
    assert send_budget.in_use == 0 and images.PROCESS_PIXELS.in_use == 0
    assert images.PROCESS_PIXELS.peak <= images.PROCESS_PIXEL_BUDGET


def test_a_budget_that_stays_full_gives_a_clear_error() -> None:
    from mail import images

    budget = images.PixelBudget(10)
    with budget.hold(10), pytest.raises(ImageError, match="try again"):
        with budget.hold(5, timeout=0.05):
            pass
    assert budget.in_use == 0
