"""The site's spaces and pages, built once per process from the fixture pages (sandbox/fixtures) and a few made up.

Fixture pages keep their ids and rendered bodies (rewritten into the shape of Cloud's `export_view`:
absolute URLs, attachment ids that exist, container ids of the page itself) and get a synthesised
storage body; the Airbyte page keeps its real storage. Three pages are written here in storage format
and rendered by the sandbox's own converter: a small simple page, a macro-rich checklist, and the
benchmark page with 20 embedded images and 3 other attachments.
"""

from __future__ import annotations

import functools
import html
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from lxml import etree

from sandbox.blobs import BlobSpec, kind_for_filename
from sandbox.content import BASE_PLACEHOLDER, Attachment, Catalog, Page, Space
from sandbox.directory import (
    ADMIN_ID,
    ENGINEERING,
    GERMAN_ID,
    HIDDEN_EMAIL_ID,
    OUTSIDER_ID,
    REGULAR_ID,
    build_directory,
)
from sandbox.fixture_pages import FileRef, FixturePage, inner_html, read_fixture
from sandbox.storage_convert import ConvertContext, convert_storage
from sandbox.storage_synth import export_view_to_storage

_FILE_NAMESPACE = uuid.UUID("9d3e5f7a-1b2c-4d6e-8f0a-3c5e7a9b1d2f")
_AUTHORS = (ADMIN_ID, REGULAR_ID, GERMAN_ID, HIDDEN_EMAIL_ID, OUTSIDER_ID)

SIMPLE_PAGE_ID = "2000000001"
CHECKLIST_PAGE_ID = "2000000002"
BENCHMARK_PAGE_ID = "2000000003"
RESTRICTED_PAGE_ID = "1514897411"


@dataclass(frozen=True)
class _FixtureSpec:
    path: str
    page_id: str
    space_key: str
    tags: tuple[str, ...] = ("fixture",)
    read_groups: tuple[str, ...] = ()
    excerpt: bool = False
    intro: str = ""
    title: str | None = None


_SPACES = (
    Space("ENG", 98305, "Engineering", "Designs, how-tos and release notes.", (ADMIN_ID, REGULAR_ID), SIMPLE_PAGE_ID),
    Space(
        "DLX", 98306, "Digital Learning Experiences", "Usability tests and playable demos.", (GERMAN_ID,), "1153105921"
    ),
    Space("MKT", 98307, "Marketing", "Campaigns and the team's corner.", (OUTSIDER_ID,), "98487"),
)

_FIXTURES = (
    _FixtureSpec("1153105921.html", "1153105921", "DLX", ("fixture", "tasks", "large-images")),
    _FixtureSpec(
        "CE-Playable-Demo-Feedback-Tracking---TE_999391233.html",
        "999391233",
        "DLX",
        ("fixture", "excerpt", "largest"),
        excerpt=True,
    ),
    _FixtureSpec("Usability-Testing_-PHI_-Sep_1237385238.html", "1237385238", "DLX", ("fixture", "large-images")),
    _FixtureSpec("Supply-Chain-Project-Page_1116635137.html", "1116635137", "DLX", ("fixture", "iframe")),
    _FixtureSpec(
        "Feature-List_1363083276.html",
        "1363083276",
        "DLX",
        ("fixture", "excerpt"),
        excerpt=True,
        intro="The features planned for the trucking simulation, by release.",
    ),
    _FixtureSpec("Converting-Interactions-To-VR_1514799182.html", "1514799182", "ENG", ("fixture", "code")),
    _FixtureSpec("Converting-UI-To-Flex-XR-Panels_1514799110.html", "1514799110", "ENG", ("fixture", "warning")),
    _FixtureSpec("Designing-Learning-Simulations_13992558.html", "13992558", "ENG", ("fixture", "expand", "pdf")),
    _FixtureSpec(
        "PHI-VR-Research-Project_1514897411.html",
        RESTRICTED_PAGE_ID,
        "ENG",
        ("fixture", "restricted"),
        read_groups=(ENGINEERING,),
    ),
    _FixtureSpec("98487_overview.view.html", "98487", "MKT", ("fixture", "layout"), title="Overview"),
)

# (width, height, kind) of the benchmark page's images: a spread from phone photos to thumbnails.
_BENCHMARK_IMAGES = (
    (4000, 3000, "jpeg"),
    (3000, 2000, "png"),
    (2400, 1600, "jpeg"),
    (1920, 1080, "png"),
    (1920, 1080, "jpeg"),
    (1600, 1200, "jpeg"),
    (1280, 720, "png"),
    (1280, 960, "jpeg"),
    (1024, 768, "png"),
    (1024, 768, "jpeg"),
    (800, 600, "png"),
    (800, 600, "jpeg"),
    (640, 480, "png"),
    (640, 480, "jpeg"),
    (480, 320, "png"),
    (400, 300, "jpeg"),
    (320, 240, "png"),
    (256, 256, "png"),
    (200, 150, "gif"),
    (120, 90, "png"),
)
_BENCHMARK_FILES = (
    ("inspection-report.pdf", BlobSpec("pdf", 7001, label="Inspection report")),
    ("site-plan.docx", BlobSpec("docx", 7002, size=6_200_000, label="Site plan")),
    ("measurements.csv", BlobSpec("csv", 7003, size=240_000)),
)


@functools.cache
def load_catalog(fixtures_dir: Path) -> Catalog:
    """Every space and page (bodies use `BASE_PLACEHOLDER` for the site URL)."""
    catalog = Catalog(spaces={space.key: space for space in _SPACES})
    fixtures = [(spec, _read(fixtures_dir, spec)) for spec in _FIXTURES]
    sizes = {ref.filename: (ref.width, ref.height) for _, page in fixtures for ref in page.files if ref.width}
    for position, (spec, fixture) in enumerate(fixtures):
        catalog.pages[spec.page_id] = _fixture_page(spec, fixture, sizes, position)
    for spec, fixture in fixtures:
        page = catalog.pages[spec.page_id]
        links = _rewrite_body(fixture.body, page, catalog)
        page.export_view = inner_html(fixture.body)
        if spec.path.startswith("98487_"):
            page.storage = (fixtures_dir / "pages" / "98487_overview.storage.xhtml").read_text("utf-8")
        else:
            page.storage = export_view_to_storage(fixture.body, links.get, excerpt=spec.excerpt)
    _add_written_pages(catalog, len(fixtures))
    return catalog


def _read(fixtures_dir: Path, spec: _FixtureSpec) -> FixturePage:
    fixture = read_fixture(fixtures_dir / "pages" / spec.path, spec.page_id, spec.title)
    if spec.intro:
        intro = etree.Element("p")
        intro.text = spec.intro
        fixture.body.insert(0, intro)
    return fixture


def _timestamp(seed: int, year: int = 2024) -> str:
    return f"{year}-{1 + seed % 12:02d}-{1 + seed % 28:02d}T{8 + seed % 10:02d}:{seed % 60:02d}:00.000Z"


def _fixture_page(spec: _FixtureSpec, fixture: FixturePage, sizes: dict[str, tuple[int, int]], position: int) -> Page:
    seed = int(spec.page_id)
    page = Page(
        id=spec.page_id,
        title=fixture.title,
        space_key=spec.space_key,
        export_view="",
        storage="",
        version=fixture.container_version or 1 + seed % 30,
        created_by=_AUTHORS[seed % len(_AUTHORS)],
        updated_by=_AUTHORS[(seed // 7) % len(_AUTHORS)],
        created=_timestamp(seed, 2023),
        updated=_timestamp(seed // 3),
        position=position,
        read_groups=spec.read_groups,
        tags=spec.tags,
    )
    names: set[str] = set()
    for ref in fixture.files:
        attachment = _fixture_attachment(page, ref, sizes, names)
        if attachment is not None:
            page.attachments.append(attachment)
            names.add(attachment.title)
    return page


def _fixture_attachment(
    page: Page, ref: FileRef, sizes: dict[str, tuple[int, int]], taken: set[str]
) -> Attachment | None:
    kind = kind_for_filename(ref.filename)
    if kind is None:
        return None
    title = ref.filename
    if title in taken:  # Confluence keeps one file per name and page; the export had two copies
        stem, _, extension = title.rpartition(".")
        title = f"{stem}-{ref.id}.{extension}"
    number = int(ref.id)
    width, height = (ref.width, ref.height) if ref.width else sizes.get(ref.filename, (0, 0))
    if not width:
        width, height = 800 + number % 800, 450 + number % 550
    spec = (
        BlobSpec(kind, number % 2**31, width, height, label=title)
        if kind != "pdf"
        else BlobSpec("pdf", number % 2**31, label=title.rsplit(".", 1)[0])
    )
    return _attachment(page.id, ref.id, title, spec)


def _attachment(page_id: str, attachment_id: str, title: str, spec: BlobSpec) -> Attachment:
    return Attachment(
        id=attachment_id,
        page_id=page_id,
        title=title,
        blob=spec,
        file_id=str(uuid.uuid5(_FILE_NAMESPACE, f"file:{attachment_id}")),
        created=_timestamp(int(attachment_id)),
    )


def add_attachment(page: Page, attachment_id: str, title: str, spec: BlobSpec) -> Attachment:
    """Attach one more generated file to a page (benchmarks that need a given attachment volume)."""
    attachment = _attachment(page.id, attachment_id, title, spec)
    page.attachments.append(attachment)
    return attachment


def _page_url(page: Page) -> str:
    return f"{BASE_PLACEHOLDER}/wiki{page.webui_path()}"


def _rewrite_body(body: etree._Element, page: Page, catalog: Catalog) -> dict[str, str]:
    """Make the exported body look like Cloud's export_view; returns href → storage link for the synthesis."""
    wiki = f"{BASE_PLACEHOLDER}/wiki"
    links: dict[str, str] = {}
    for image in body.iter("img"):
        resource_id = image.get("data-linked-resource-id")
        attachment = page.attachment(resource_id) if resource_id else None
        source = image.get("src") or ""
        if attachment is not None and "confluence-embedded-image" in (image.get("class") or ""):
            download = f"{wiki}{attachment.download_path()}"
            image.set("src", download)
            image.set("data-image-src", download)
            image.set("data-linked-resource-default-alias", attachment.title)
            image.set("data-linked-resource-container-id", page.id)
            image.set("data-linked-resource-container-version", str(page.version))
            image.set("data-base-url", wiki)
            image.set("data-media-id", attachment.file_id)
        elif source.startswith("images/"):
            image.set("src", f"{wiki}/{source}")
        elif source.startswith("/wiki/"):
            image.set("src", f"{BASE_PLACEHOLDER}{source}")
    for anchor in body.iter("a"):
        href = anchor.get("href")
        if href is None:
            continue
        target, storage_link = _rewrite_href(href, page, catalog)
        anchor.set("href", target)
        if storage_link:
            links[target] = storage_link
    return links


def _rewrite_href(href: str, page: Page, catalog: Catalog) -> tuple[str, str | None]:
    wiki = f"{BASE_PLACEHOLDER}/wiki"
    if href.startswith("/wiki/"):
        return BASE_PLACEHOLDER + href, None
    if not href or href.startswith(("#", "$")) or urlsplit(href).scheme:
        return href, None
    path = href.split("?", 1)[0]
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "attachments" and parts[1].isdigit():
        owner = catalog.page(parts[1]) or page
        attachment = owner.attachment(parts[2].split(".", 1)[0])
        if attachment is not None:
            filename = html.escape(attachment.title, quote=True)
            link = f'<ac:link><ri:attachment ri:filename="{filename}" /><ac:plain-text-link-body>{{text}}'
            return f"{wiki}{attachment.download_path()}", link + "</ac:plain-text-link-body></ac:link>"
        return f"{wiki}/download/{quote(path)}", None
    if path == "index.html":
        return f"{wiki}/spaces/{page.space_key}/overview", None
    page_id = path.removesuffix(".html").rsplit("_", 1)[-1]
    if path.endswith(".html") and page_id.isdigit():
        linked = catalog.page(page_id)
        if linked is None:
            return f"{wiki}/pages/viewpage.action?pageId={page_id}", None
        title = html.escape(linked.title, quote=True)
        link = (
            f'<ac:link><ri:page ri:space-key="{linked.space_key}" ri:content-title="{title}" />'
            "<ac:plain-text-link-body>{text}</ac:plain-text-link-body></ac:link>"
        )
        return _page_url(linked), link
    return f"{wiki}/{href}", None


def _written_page(page_id: str, title: str, space_key: str, position: int, tags: tuple[str, ...]) -> Page:
    seed = int(page_id)
    return Page(
        id=page_id,
        title=title,
        space_key=space_key,
        export_view="",
        storage="",
        version=1 + seed % 5,
        created_by=ADMIN_ID,
        updated_by=REGULAR_ID,
        created=_timestamp(seed, 2024),
        updated=_timestamp(seed // 5, 2025),
        position=position,
        tags=tags,
    )


def _add_written_pages(catalog: Catalog, position: int) -> None:
    simple = _written_page(SIMPLE_PAGE_ID, "Engineering home", "ENG", position, ("simple",))
    simple.attachments.append(
        _attachment(
            SIMPLE_PAGE_ID, "2000000101", "team-offsite.jpg", BlobSpec("jpeg", 2101, 640, 360, label="Team offsite")
        )
    )
    simple.storage = _SIMPLE_STORAGE
    checklist = _written_page(CHECKLIST_PAGE_ID, "Release checklist", "ENG", position + 1, ("macros", "excerpt"))
    checklist.storage = _CHECKLIST_STORAGE
    benchmark = _written_page(BENCHMARK_PAGE_ID, "Site visit photo report", "ENG", position + 2, ("benchmark",))
    for index, (width, height, kind) in enumerate(_BENCHMARK_IMAGES, start=1):
        extension = {"jpeg": "jpg"}.get(kind, kind)
        benchmark.attachments.append(
            _attachment(
                BENCHMARK_PAGE_ID,
                str(2000000200 + index),
                f"site-photo-{index:02d}.{extension}",
                BlobSpec(kind, 2200 + index, width, height, label=f"Site photo {index}"),
            )
        )
    for index, (name, spec) in enumerate(_BENCHMARK_FILES, start=1):
        benchmark.attachments.append(_attachment(BENCHMARK_PAGE_ID, str(2000000300 + index), name, spec))
    benchmark.storage = _benchmark_storage(benchmark)
    for page in (simple, checklist, benchmark):
        catalog.pages[page.id] = page
    directory = build_directory()
    for page in (simple, checklist, benchmark):
        context = ConvertContext(BASE_PLACEHOLDER, catalog, directory, page, page.space_key)
        page.export_view = convert_storage(page.storage, context)


def _benchmark_storage(page: Page) -> str:
    images = [item for item in page.attachments if item.blob.is_image]
    files = [item for item in page.attachments if not item.blob.is_image]
    parts = [
        "<p>Photos from the site visit on 14 May, in the order they were taken. The inspection report, "
        "the site plan and the raw measurements are attached.</p>",
        '<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:rich-text-body>'
        "<p>Full-resolution originals: click an image to open it.</p></ac:rich-text-body></ac:structured-macro>",
    ]
    for index, image in enumerate(images, start=1):
        shown = min(image.blob.width, 680)
        parts.append(f"<h3>Photo {index}</h3>")
        parts.append(
            f'<p><ac:image ac:align="center" ac:width="{shown}" ac:alt="Site photo {index}">'
            f'<ri:attachment ri:filename="{image.title}" /></ac:image></p>'
        )
    parts.append("<h2>Documents</h2><ul>")
    for item in files:
        parts.append(f'<li><p><ac:link><ri:attachment ri:filename="{item.title}" /></ac:link></p></li>')
    parts.append("</ul>")
    return "".join(parts)


_SIMPLE_STORAGE = (
    "<p>Welcome to the <strong>Engineering</strong> space: designs, how-tos and release notes live here.</p>"
    "<h2>Getting started</h2>"
    '<ul><li><p>Read the <ac:link><ri:page ri:content-title="Release checklist" /></ac:link> before every '
    'release.</p></li><li><p>Questions? Ask <ac:link><ri:user ri:account-id="' + REGULAR_ID + '" />'
    "</ac:link>.</p></li></ul>"
    '<p><ac:image ac:width="480" ac:alt="The team at the offsite"><ri:attachment ri:filename="team-offsite.jpg" />'
    "</ac:image></p>"
    '<p>Have a good week <ac:emoticon ac:name="smile" ac:emoji-shortname=":slight_smile:" '
    'ac:emoji-id="1f642" ac:emoji-fallback="&#128578;" /></p>'
)

_CHECKLIST_STORAGE = (
    '<ac:structured-macro ac:name="excerpt" ac:schema-version="1" ac:macro-id="5c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e">'
    "<ac:rich-text-body><p>Everything that has to happen before a release goes out, and who does it.</p>"
    "</ac:rich-text-body></ac:structured-macro>"
    '<ac:structured-macro ac:name="toc" ac:schema-version="1"><ac:parameter ac:name="maxLevel">2</ac:parameter>'
    "</ac:structured-macro>"
    "<h2>Before the release</h2>"
    '<ac:structured-macro ac:name="note" ac:schema-version="1"><ac:parameter ac:name="title">Freeze</ac:parameter>'
    "<ac:rich-text-body><p>No merges to <code>main</code> after Wednesday noon.</p></ac:rich-text-body>"
    "</ac:structured-macro>"
    "<ac:task-list>"
    "<ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete</ac:task-status>"
    "<ac:task-body>Changelog written</ac:task-body></ac:task>"
    "<ac:task><ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status>"
    '<ac:task-body>Migration tested on a copy of production, owner <ac:link><ri:user ri:account-id="'
    + GERMAN_ID
    + '" /></ac:link></ac:task-body></ac:task>'
    "</ac:task-list>"
    "<h2>Release</h2>"
    "<table><tbody><tr><th><p>Step</p></th><th><p>State</p></th></tr>"
    '<tr><td><p>Tag</p></td><td><p><ac:structured-macro ac:name="status" ac:schema-version="1">'
    '<ac:parameter ac:name="colour">Green</ac:parameter><ac:parameter ac:name="title">Done</ac:parameter>'
    "</ac:structured-macro></p></td></tr>"
    '<tr><td><p>Deploy</p></td><td><p><ac:structured-macro ac:name="status" ac:schema-version="1">'
    '<ac:parameter ac:name="colour">Yellow</ac:parameter><ac:parameter ac:name="title">In progress</ac:parameter>'
    "</ac:structured-macro></p></td></tr></tbody></table>"
    '<ac:structured-macro ac:name="code" ac:schema-version="1"><ac:parameter ac:name="language">bash</ac:parameter>'
    '<ac:parameter ac:name="title">Tag and push</ac:parameter>'
    '<ac:plain-text-body><![CDATA[git tag -s v2.4.0 -m "Release 2.4.0" && git push --tags]]></ac:plain-text-body>'
    "</ac:structured-macro>"
    '<ac:structured-macro ac:name="expand" ac:schema-version="1"><ac:parameter ac:name="title">If the deploy fails'
    "</ac:parameter><ac:rich-text-body><ol><li><p>Roll back with the previous tag.</p></li>"
    "<li><p>Tell the team in the release channel &amp; open an incident.</p></li></ol></ac:rich-text-body>"
    "</ac:structured-macro>"
    '<ac:structured-macro ac:name="warning" ac:schema-version="1"><ac:rich-text-body>'
    '<p>Never release on a Friday <ac:emoticon ac:name="warning" /></p></ac:rich-text-body></ac:structured-macro>'
)
