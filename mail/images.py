"""Page images → mail-ready bytes (Pillow): bomb-safe, EXIF-oriented, scaled down per layout, metadata
stripped. Photos are JPEG (a photograph saved as PNG too, once it is re-encoded); screenshots, drawings and
anything with transparency stay PNG; never upscaled."""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image, ImageOps, UnidentifiedImageError

ImageMode = Literal["original", "fit", "max_side"]

MAX_PIXELS = 100_000_000  # what an image may declare at all: checked before any pixel is decoded
# What one image may decode to (a JPEG is decoded at a reduced scale first when it is shrunk, so a 48-megapixel
# phone photo passes): 40 Mpx is 160 MB as RGBA.
MAX_DECODED_PIXELS = 40_000_000
# Decoded pixels held at once: by one send, and by the whole process (threads of all sends together). 16 small
# PNGs of 7000x7000 once needed +5.9 GB; with these bounds a process holds at most ~480 MB of decoded pixels.
# A send's images are scaled on the cores there are, so holding more of them decoded at once gains no time: the
# 20-image benchmark send (six of ~4 Mpx to scale) was as fast with 16 Mpx as with 60 and peaked ~12% lower
# (README, Performance); with 10 Mpx its sends at 100 ms latency took ~0.04 s longer. One image larger than the
# budget holds all of it.
SEND_PIXEL_BUDGET = 16_000_000
PROCESS_PIXEL_BUDGET = 120_000_000
BUDGET_WAIT_SECONDS = 60.0
MAX_INPUT_BYTES = 50 * 1024 * 1024
GIF_PASSTHROUGH_BYTES = 2 * 1024 * 1024  # small GIFs keep their animation
JPEG_QUALITY = 85
# zlib levels 1-3 use its fast deflate; on resampled photos and screenshots they came out as small as level 6
# (Pillow's default) or smaller, at a third of its time (README, "Send CPU").
PNG_COMPRESS_LEVEL = 2
# An opaque image bound for PNG with more distinct colours than this is a photograph: it goes out as a JPEG, a sixth
# of the PNG's size in a tenth of the time to write. Screenshots and drawings have a few hundred to a few thousand
# colours (the README's screenshots: 46-128; scaled down, 2,400-15,000); photographs have hundreds of thousands.
PHOTO_COLOURS = 65_536
# Decoders we let near untrusted bytes; SVG, PDF, PSD, ICO, … are refused by Pillow itself with this list.
SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # JPEG also opens MPO (phone photos)
# Image.info keys that carry no personal data (everything else — EXIF, XMP, IPTC, comments, PNG text
# chunks — makes us re-encode to strip it).
_HARMLESS_INFO = frozenset(
    {
        "dpi",
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "adobe",
        "adobe_transform",
        "progressive",
        "progression",
        "icc_profile",
        "gamma",
        "transparency",
        "srgb",
        "aspect",
        "chromaticity",
        "interlace",
        "background",
        "duration",
        "loop",
        "version",
        "extension",
    }
)
_PNG_METADATA_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf"})
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
_ORIENTATION_TAG = 0x0112


class ImageError(ValueError):
    """The bytes are not an image we can put in a mail (not an image, unsupported, corrupt, too big)."""


class PixelBudget:
    """Decoded pixels held at once, shared by threads: a decode waits for room, so memory stays bounded."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self.peak = 0
        self._room = threading.Condition()

    @contextmanager
    def hold(self, pixels: int, timeout: float = BUDGET_WAIT_SECONDS) -> Iterator[None]:
        pixels = min(max(1, pixels), self.capacity)
        with self._room:
            if not self._room.wait_for(lambda: self.in_use + pixels <= self.capacity, timeout):
                raise ImageError("too many images are being prepared at once; try again in a moment")
            self.in_use += pixels
            self.peak = max(self.peak, self.in_use)
        try:
            yield
        finally:
            with self._room:
                self.in_use -= pixels
                self._room.notify_all()


PROCESS_PIXELS = PixelBudget(PROCESS_PIXEL_BUDGET)


@dataclass(frozen=True)
class ScaledImage:
    data: bytes
    content_type: str
    width: int
    height: int


def scale_image(
    data: bytes,
    *,
    mode: ImageMode,
    max_side: int,
    content_width: int = 640,
    budget: PixelBudget | None = None,
    max_width: int | None = None,
) -> ScaledImage:
    """Scale an image for a mail: "original" keeps its size, "fit" fits content_width, "max_side" caps the
    longer side; with max_width (twice the width the mail shows the image at: sharp on a high-density screen,
    nothing beyond) "fit" and "max_side" are never wider than that either. Raises ImageError for anything that is
    not a supported, sane image. Decoding waits for room in `budget` (the send's) and in the process-wide budget."""
    if mode not in ("original", "fit", "max_side"):
        raise ValueError(f"unknown image mode {mode!r}")
    if max_side < 1 or content_width < 1 or (max_width is not None and max_width < 1):
        raise ValueError("max_side, content_width and max_width must be positive")
    if not data:
        raise ImageError("empty image data")
    if len(data) > MAX_INPUT_BYTES:
        raise ImageError("image file too large")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _scale(data, mode, max_side, content_width, budget, max_width)
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError("image has too many pixels (decompression bomb)") from None
        except UnidentifiedImageError:
            raise ImageError("not an image in a supported format") from None
        except Exception as exc:  # any decoder failure on untrusted bytes is "bad image"
            raise ImageError(f"could not decode image ({type(exc).__name__})") from None


def _target_size(
    width: int,
    height: int,
    mode: ImageMode,
    max_side: int,
    content_width: int,
    max_width: int | None = None,
) -> tuple[int, int]:
    if mode == "fit":
        scale = min(1.0, content_width / width)
    elif mode == "max_side":
        scale = min(1.0, max_side / max(width, height))
    else:
        return width, height
    if max_width is not None:
        scale = min(scale, max_width / width)
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _scale(
    data: bytes,
    mode: ImageMode,
    max_side: int,
    content_width: int,
    budget: PixelBudget | None,
    max_width: int | None = None,
) -> ScaledImage:
    im = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    source_format = im.format or ""
    width, height = im.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise ImageError("image has too many pixels (decompression bomb)")
    if source_format not in ("JPEG", "MPO") and width * height > MAX_DECODED_PIXELS:
        raise ImageError("image has too many pixels to prepare for a mail")  # only JPEG decodes at a reduced scale
    size_ok = _target_size(width, height, mode, max_side, content_width, max_width) == (width, height)
    if size_ok and _can_pass_through(data, im, source_format):
        # No metadata (so no EXIF orientation either) and the right size: sent as it is, without
        # decoding a single pixel.
        return ScaledImage(data, _CONTENT_TYPES[source_format], width, height)
    orientation = _orientation(im, data)
    swapped = orientation in (5, 6, 7, 8)
    shown_w, shown_h = (height, width) if swapped else (width, height)
    target = _target_size(shown_w, shown_h, mode, max_side, content_width, max_width)
    resize = target != (shown_w, shown_h)

    if resize and source_format in ("JPEG", "MPO") and im.mode in ("RGB", "L"):
        # Let libjpeg decode at a reduced scale: much faster and less memory for big photos.
        raw_target = (target[1], target[0]) if swapped else target
        im.draft(im.mode, raw_target)
    decoded = im.size[0] * im.size[1]
    if decoded > MAX_DECODED_PIXELS:
        raise ImageError("image has too many pixels to prepare for a mail")
    # The decoded image and its scaled copy are held at once.
    with ExitStack() as held:
        for room in (budget, PROCESS_PIXELS):
            if room is not None:
                held.enter_context(room.hold(decoded + target[0] * target[1]))
        if source_format == "GIF" and not resize and len(data) <= GIF_PASSTHROUGH_BYTES:
            im.seek(0)
            im.load()  # (only to refuse a broken one: the bytes go out as they are, animation and all)
            return ScaledImage(data, "image/gif", width, height)
        return _decode_and_encode(im, source_format, target, resize, orientation)


def _decode_and_encode(
    im: Image.Image, source_format: str, target: tuple[int, int], resize: bool, orientation: int
) -> ScaledImage:
    im.load()

    icc_profile = im.info.get("icc_profile")
    transparent = _has_alpha(im)
    as_jpeg = source_format in ("JPEG", "MPO") or (
        source_format == "WEBP" and not transparent and im.info.get("lossless") is not True
    )
    if im.mode == "P" or (not as_jpeg and im.mode not in ("1", "L", "LA", "RGB", "RGBA")):
        im = im.convert("RGBA" if transparent else "RGB")
    if im.mode in ("RGBA", "LA") and "transparency" not in im.info and _opaque(im):
        # An alpha channel that is opaque everywhere (many tools save one): the image is judged, and written, without.
        transparent = False
        im = im.convert("RGB" if im.mode == "RGBA" else "L")
    if not as_jpeg and not transparent and _is_photograph(im):
        as_jpeg = True  # a photograph saved as PNG (or TIFF, BMP, lossless WebP)
    if orientation != 1:
        im = ImageOps.exif_transpose(im) or im  # (with nothing to turn it would still copy every pixel)
    if resize:
        if im.mode == "1":
            im = im.convert("L")
        # reducing_gap: Pillow first reduce()s by the integer factor that leaves at least 3x to resample, then
        # resamples: the speed of a box filter on huge shrinks, output no different from a full resample.
        # Photographs are resampled with Bicubic: it differs from Lanczos by 0.6/255 a pixel on average, a fifth of
        # what JPEG compression changes anyway, in 70% of the time. What stays PNG (screenshots, drawings) keeps
        # Lanczos's sharper text and edges.
        resample = Image.Resampling.BICUBIC if as_jpeg else Image.Resampling.LANCZOS
        im = im.resize(target, resample, reducing_gap=3.0)

    if as_jpeg:
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        # Baseline with optimised Huffman tables: a progressive JPEG is about 4% smaller but takes 2.5x as long to
        # write, and a mail client shows an embedded image only once the whole message is there anyway.
        options = {"quality": JPEG_QUALITY, "optimize": True, "icc_profile": icc_profile}
        data = _encoded(im, "JPEG", options)
        content_type = "image/jpeg"
    else:
        data = _encoded(im, "PNG", {"compress_level": PNG_COMPRESS_LEVEL, "icc_profile": icc_profile})
        content_type = "image/png"
    return ScaledImage(data, content_type, im.width, im.height)


def _encoded(im: Image.Image, image_format: str, options: dict[str, Any]) -> bytes:
    """Encode into an anonymous in-memory file where the system has them: Pillow's JPEG encoder lets go of the GIL
    only while it writes to a real file descriptor, so the other threads (downloads, MIME, other images) run
    meanwhile. (Its PNG encoder lets go of it either way.)"""
    try:
        descriptor = os.memfd_create("pagemail-image", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux, or a sandbox that refuses it: the same bytes, GIL held
        out = io.BytesIO()
        im.save(out, format=image_format, **options)
        return out.getvalue()
    with open(descriptor, "w+b") as file:
        im.save(file, format=image_format, **options)
        file.seek(0)
        return file.read()


def _can_pass_through(data: bytes, im: Image.Image, source_format: str) -> bool:
    """A JPEG or PNG without metadata. Opening a JPEG reads all its metadata segments; a PNG may keep
    text or EXIF chunks after the image data, so its chunk list is checked too."""
    if source_format not in ("JPEG", "PNG") or not set(im.info) <= _HARMLESS_INFO:
        return False
    return source_format == "JPEG" or not (_png_chunk_types(data) & _PNG_METADATA_CHUNKS)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk's payload. PNG: 8-byte signature, then chunks of 4-byte length, 4-byte
    type, payload, 4-byte CRC."""
    position = 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        yield data[position + 4 : position + 8], position + 8, position + 8 + length
        position += 12 + length


def _png_chunk_types(data: bytes) -> set[bytes]:
    return {kind for kind, _start, _end in _png_chunks(data)}


def _orientation(im: Image.Image, data: bytes) -> int:
    try:
        if im.format == "PNG":
            # Pillow decodes every pixel to find an eXIf chunk after the image data, before the pixel budgets are
            # held: read the chunk from the bytes instead.
            payload = next((data[start:end] for kind, start, end in _png_chunks(data) if kind == b"eXIf"), None)
            if payload is None:
                return 1
            exif = Image.Exif()
            exif.load(payload)
        else:
            exif = im.getexif()
        value = exif.get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block just means "no orientation"
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _is_photograph(im: Image.Image) -> bool:
    """Many distinct colours (counted in C, stopping at PHOTO_COLOURS + 1)."""
    return im.mode == "RGB" and im.getcolors(maxcolors=PHOTO_COLOURS) is None


def _opaque(im: Image.Image) -> bool:
    return bool(im.getchannel("A").getextrema() == (255, 255))


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
