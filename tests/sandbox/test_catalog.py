"""The site's content as built from the fixtures: export_view shape, storage, attachments, real files."""

from __future__ import annotations

import io
import zipfile

import lxml.html
import pytest
from PIL import Image

from sandbox.blobs import BlobSpec, render
from sandbox.catalog import BENCHMARK_PAGE_ID, SIMPLE_PAGE_ID, load_catalog
from sandbox.config import default_fixtures_dir
from sandbox.content import BASE_PLACEHOLDER, Catalog
from sandbox.directory import build_directory
from sandbox.storage_convert import ConvertContext, convert_storage

FIXTURE_IDS = [
    "1153105921",
    "999391233",
    "1237385238",
    "1116635137",
    "1363083276",
    "1514799182",
    "1514799110",
    "13992558",
    "1514897411",
    "98487",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(default_fixtures_dir())


def test_fixture_pages_keep_their_ids_and_titles(catalog: Catalog) -> None:
    assert set(FIXTURE_IDS) <= set(catalog.pages)
    assert catalog.pages["13992558"].title == "Designing Learning Simulations"
    assert catalog.pages["98487"].title == "Overview"
    assert {page.space_key for page in catalog.pages.values()} == {"ENG", "DLX", "MKT"}


@pytest.mark.parametrize("page_id", FIXTURE_IDS)
def test_export_view_images_point_at_real_attachments_of_the_page(catalog: Catalog, page_id: str) -> None:
    page = catalog.pages[page_id]
    body = lxml.html.fragment_fromstring(page.export_view, create_parent="div")
    for image in body.find_class("confluence-embedded-image"):
        attachment = page.attachment(image.get("data-linked-resource-id"))
        assert attachment is not None, image.get("data-linked-resource-id")
        assert image.get("data-linked-resource-container-id") == page.id
        assert image.get("data-linked-resource-default-alias") == attachment.title
        assert image.get("src").startswith(f"{BASE_PLACEHOLDER}/wiki/download/attachments/{page.id}/")
        assert "api=v2" in image.get("src")
        if image.get("data-width"):
            assert (attachment.blob.width, attachment.blob.height) == (
                int(image.get("data-width")),
                int(image.get("data-height")),
            )
    for image in body.iter("img"):
        assert image.get("src", "").startswith(("http://", "https://")), image.get("src")
    for link in body.iter("a"):
        href = link.get("href", "")
        assert not href.startswith(("attachments/", "/wiki/")) and not href.endswith(".html"), href


def test_storage_bodies_convert_and_excerpts_are_where_the_rendering_shows_one(catalog: Catalog) -> None:
    directory = build_directory()
    for page in catalog.pages.values():
        html = convert_storage(page.storage, ConvertContext(BASE_PLACEHOLDER, catalog, directory, page, page.space_key))
        assert html.strip() or page.id == "1363083276"
    excerpt_pages = {page.id for page in catalog.pages.values() if 'ac:name="excerpt"' in page.storage}
    assert excerpt_pages == {"999391233", "1363083276", "2000000002"}
    assert catalog.pages["98487"].storage.startswith("<ac:layout>")  # the real storage of the Airbyte page


def test_restricted_page(catalog: Catalog) -> None:
    restricted = [page for page in catalog.pages.values() if page.restricted]
    assert [(page.id, page.read_groups) for page in restricted] == [("1514897411", ("engineering",))]


def test_benchmark_page_has_20_images_and_3_other_files(catalog: Catalog) -> None:
    page = catalog.pages[BENCHMARK_PAGE_ID]
    images = [item for item in page.attachments if item.blob.is_image]
    others = [item for item in page.attachments if not item.blob.is_image]
    assert len(images) == 20 and len(others) == 3
    assert {item.media_type for item in images} == {"image/png", "image/jpeg", "image/gif"}
    body = lxml.html.fragment_fromstring(page.export_view, create_parent="div")
    assert len(body.find_class("confluence-embedded-image")) == 20
    assert {(item.blob.width, item.blob.height, item.blob.kind) for item in images} >= {
        (4000, 3000, "jpeg"),
        (3000, 2000, "png"),
    }
    docx = next(item for item in others if item.title.endswith(".docx"))
    assert docx.size > 5 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(docx.data())) as archive:
        assert "word/document.xml" in archive.namelist()
    simple = catalog.pages[SIMPLE_PAGE_ID]
    assert len(simple.attachments) == 1 and simple.attachments[0].size < 200_000


def test_generated_images_are_real_and_not_trivially_compressible() -> None:
    data = render(BlobSpec("png", 7, 1161, 645, label="x"))
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("PNG", (1161, 645))
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is None or len(colours) > 1000
    assert len(data) > 50_000
    assert render(BlobSpec("png", 7, 1161, 645, label="x")) is data  # cached per process
    with Image.open(io.BytesIO(render(BlobSpec("gif", 3, 200, 150)))) as gif:
        assert gif.format == "GIF"
