"""Reading the rendered fixture pages: title, body, the attachments they embed or list.

The fixtures are pages of a Confluence Cloud space export: the body sits in
`<div id="main-content" class="wiki-content group">`, images point at `attachments/{page}/{id}.png`, and
an "Attachments:" section below the body lists the page's files. The Airbyte page is a bare body.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
from lxml import etree

_LISTED = re.compile(r'<a href="attachments/(\d+)/(\d+)\.\w+">([^<]*)</a>\s*\(([^)]*)\)')


@dataclass(frozen=True)
class FileRef:
    """An attachment the fixture mentions: its numeric id, file name, media type and, for images, size."""

    id: str
    filename: str
    media_type: str
    width: int = 0
    height: int = 0


@dataclass
class FixturePage:
    page_id: str
    title: str
    body: etree._Element
    container_version: int | None
    files: list[FileRef] = field(default_factory=list)


def read_fixture(path: Path, page_id: str, title: str | None = None) -> FixturePage:
    """Parse one rendered fixture page (a full export page, or a bare body)."""
    text = path.read_text(encoding="utf-8")
    if 'id="main-content"' in text:
        document = lxml.html.document_fromstring(text)
        body = document.get_element_by_id("main-content")
        body.attrib.clear()
        heading = document.findtext(".//title") or ""
        title = title or heading.split(" : ", 1)[-1].strip()
        listed = _listed_files(text, page_id)
    else:
        body = lxml.html.fragment_fromstring(text, create_parent="div")
        listed = []
    embedded, versions = _embedded_images(body)
    files = {ref.id: ref for ref in listed}
    for ref in embedded:
        files[ref.id] = ref  # the embedded copy knows the image's size
    return FixturePage(page_id, title or page_id, body, max(versions) if versions else None, list(files.values()))


def inner_html(element: etree._Element) -> str:
    """The element's content as HTML (its own tag left out)."""
    head = html.escape(element.text, quote=False) if element.text else ""
    return head + "".join(lxml.html.tostring(child, encoding="unicode") for child in element)


def _listed_files(text: str, page_id: str) -> list[FileRef]:
    start = text.find("Attachments:</h2>")
    if start < 0:
        return []
    return [
        FileRef(file_id, lxml.html.fromstring(f"<b>{name}</b>").text_content(), media_type.strip())
        for owner, file_id, name, media_type in _LISTED.findall(text[start:])
        if owner == page_id
    ]


def _embedded_images(body: etree._Element) -> tuple[list[FileRef], list[int]]:
    images, versions = [], []
    for image in body.iter("img"):
        resource_id = image.get("data-linked-resource-id")
        if "confluence-embedded-image" not in (image.get("class") or "") or not resource_id:
            continue
        images.append(
            FileRef(
                resource_id,
                image.get("data-linked-resource-default-alias") or f"image-{resource_id}.png",
                image.get("data-linked-resource-content-type") or "image/png",
                _number(image.get("data-width")),
                _number(image.get("data-height")),
            )
        )
        version = _number(image.get("data-linked-resource-container-version"))
        if version:
            versions.append(version)
    return images, versions


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0
