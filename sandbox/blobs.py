"""Attachment bytes, made up on demand: real PNG/JPEG/GIF images, a real PDF, a .docx-shaped zip, a CSV.

The fixture pages reference images that were never published, so the sandbox draws its own: a colour
gradient, coarse noise, shapes and a label, so the files are neither blank nor trivially compressible.
Generation is deterministic (seeded) and cached per process: the first download of a 12-megapixel PNG
costs about a second, later ones nothing, and several sandboxes in one test run share the cache.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import zipfile
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv",
}
_EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "pdf": "pdf", "docx": "docx", "csv": "csv"}
IMAGE_KINDS = frozenset({"png", "jpeg", "gif"})


@dataclass(frozen=True)
class BlobSpec:
    """What to generate. `width`/`height` for images (and PDF pages), `size` (bytes) for docx/csv."""

    kind: str
    seed: int
    width: int = 0
    height: int = 0
    size: int = 0
    label: str = ""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]

    @property
    def is_image(self) -> bool:
        return self.kind in IMAGE_KINDS


def kind_for_filename(filename: str) -> str | None:
    """The blob kind for a file name's extension, or None when the sandbox can't make such a file."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _EXTENSIONS.get(extension)


@functools.cache
def render(spec: BlobSpec) -> bytes:
    """The file's bytes (cached: identical specs give identical bytes)."""
    if spec.is_image:
        return _image_bytes(spec)
    if spec.kind == "pdf":
        return _pdf_bytes(spec)
    if spec.kind == "docx":
        return _docx_bytes(spec)
    if spec.kind == "csv":
        return _csv_bytes(spec)
    raise ValueError(f"no generator for {spec.kind!r}")


def _picture(width: int, height: int, seed: int, label: str) -> Image.Image:
    rnd = random.Random(seed)
    horizontal = Image.linear_gradient("L").resize((width, height))
    vertical = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((width, height))
    base = Image.merge("RGB", (horizontal, vertical, Image.new("L", (width, height), rnd.randrange(256))))
    # Coarse (4-pixel) noise: real photos don't compress to nothing, yet this stays fast to encode.
    noise = Image.effect_noise((max(1, width // 4), max(1, height // 4)), 50).resize(
        (width, height), Image.Resampling.NEAREST
    )
    picture = Image.composite(base, Image.merge("RGB", (noise, noise, noise)), Image.new("L", (width, height), 200))
    draw = ImageDraw.Draw(picture)
    extent = max(2, min(width, height) // 4)
    for index in range(24):
        x, y, size = rnd.randrange(width), rnd.randrange(height), rnd.randrange(2, extent + 2)
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        if index % 3 == 0:
            draw.ellipse([x, y, x + size, y + size], fill=colour, outline=(0, 0, 0))
        elif index % 3 == 1:
            draw.rectangle([x, y, x + size, y + size // 2], fill=colour, outline=(255, 255, 255))
        else:
            draw.polygon([(x, y), (x + size, y), (x + size // 2, y + size)], fill=colour)
    if height >= 12 and width >= 24:
        font = ImageFont.load_default(size=max(10, min(height // 10, width // max(8, len(label) or 8))))
        draw.text(
            (max(2, width // 40), max(2, height // 40)),
            label or f"{width} x {height}",
            fill=(255, 255, 255),
            font=font,
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
    return picture


def _image_bytes(spec: BlobSpec) -> bytes:
    picture = _picture(max(1, spec.width), max(1, spec.height), spec.seed, spec.label)
    out = io.BytesIO()
    if spec.kind == "png":
        picture.save(out, "PNG", compress_level=3)
    elif spec.kind == "jpeg":
        picture.save(out, "JPEG", quality=85)
    else:
        picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out, "GIF")
    return out.getvalue()


def _pdf_bytes(spec: BlobSpec) -> bytes:
    """A genuine PDF: a few scanned-looking pages (A4 at 150 dpi unless the spec says otherwise)."""
    width, height = spec.width or 1240, spec.height or 1754
    pages = [_picture(width, height, spec.seed + page, f"{spec.label} — page {page + 1}") for page in range(3)]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=150.0)
    return out.getvalue()


_DOCX_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_DOCX_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)


def _docx_bytes(spec: BlobSpec) -> bytes:
    """A Word-shaped zip whose size is close to `spec.size` (an embedded binary object fills it up)."""
    paragraphs = "".join(f"<w:p><w:r><w:t>{spec.label} — section {index + 1}</w:t></w:r></w:p>" for index in range(20))
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{paragraphs}</w:body></w:document>"
    )
    filler = random.Random(spec.seed).randbytes(max(0, spec.size - 2048))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _DOCX_CONTENT_TYPES)
        archive.writestr("_rels/.rels", _DOCX_RELS)
        archive.writestr("word/document.xml", document)
        archive.writestr("word/embeddings/oleObject1.bin", filler, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def _csv_bytes(spec: BlobSpec) -> bytes:
    rnd = random.Random(spec.seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", "region", "product", "units", "revenue_eur", "note"])
    day = 0
    while out.tell() < (spec.size or 4096):
        day += 1
        writer.writerow(
            [
                f"2024-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}",
                rnd.choice(["North", "South", "East", "West", "Central"]),
                rnd.choice(["Widget", "Gadget", "Gizmo", "Sprocket"]),
                rnd.randrange(1, 500),
                f"{rnd.uniform(10, 25000):.2f}",
                rnd.choice(["", "promo", "returned; refunded", 'said "great"']),
            ]
        )
    return out.getvalue().encode("utf-8")


@functools.lru_cache(maxsize=256)
def icon_png(name: str, size: int = 16) -> bytes:
    """A small round icon for emoticons and UI images; the colour is derived from the name."""
    digest = sum(name.encode()) * 2654435761 % (1 << 24)
    colour = ((digest >> 16) & 0xFF, (digest >> 8) & 0xFF, digest & 0xFF)
    picture = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    draw.ellipse([1, 1, size - 2, size - 2], fill=(*colour, 255), outline=(23, 43, 77, 255))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()
