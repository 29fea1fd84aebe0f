"""The site's content model: spaces, pages (with their bodies) and attachments.

Bodies are stored with `BASE_PLACEHOLDER` where the site's URL belongs, so one catalog (built once per
process) serves sandboxes on any port; `with_base()` puts the real URL in when a body is served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from sandbox.blobs import BlobSpec, render

BASE_PLACEHOLDER = "http://sandbox.invalid"


def with_base(text: str, public_url: str) -> str:
    return text.replace(BASE_PLACEHOLDER, public_url)


def title_slug(title: str) -> str:
    """The title as Confluence puts it at the end of page URLs (`Release+notes+%26+more`)."""
    return quote_plus(title)


def heading_anchor(page_title: str, heading_text: str) -> str:
    """Confluence's heading ids: page title and heading text with all whitespace removed."""
    return re.sub(r"\s+", "", page_title) + "-" + re.sub(r"\s+", "", heading_text)


@dataclass(frozen=True)
class Space:
    key: str
    id: int
    name: str
    description: str
    admins: tuple[str, ...]
    homepage_id: str


@dataclass(frozen=True)
class Attachment:
    """`id` is the numeric id that export_view puts in data-linked-resource-id; REST says `att{id}`."""

    id: str
    page_id: str
    title: str
    blob: BlobSpec
    file_id: str
    created: str
    comment: str = ""

    @property
    def rest_id(self) -> str:
        return f"att{self.id}"

    @property
    def media_type(self) -> str:
        return self.blob.media_type

    @property
    def size(self) -> int:
        """Bytes of the file (generating it on first use)."""
        return len(render(self.blob))

    def data(self) -> bytes:
        return render(self.blob)

    def download_path(self) -> str:
        """The path below the site's base URL (as `_links.download` gives it)."""
        return f"/download/attachments/{self.page_id}/{quote(self.title)}?version=1&api=v2"


@dataclass
class Page:
    id: str
    title: str
    space_key: str
    export_view: str
    storage: str
    version: int
    created_by: str
    updated_by: str
    created: str
    updated: str
    position: int
    parent_id: str | None = None
    read_groups: tuple[str, ...] = ()
    read_users: tuple[str, ...] = ()
    attachments: list[Attachment] = field(default_factory=list)
    tags: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.read_groups or self.read_users)

    def webui_path(self) -> str:
        return f"/spaces/{self.space_key}/pages/{self.id}/{title_slug(self.title)}"

    def attachment(self, attachment_id: str) -> Attachment | None:
        wanted = attachment_id.removeprefix("att")
        return next((item for item in self.attachments if item.id == wanted), None)

    def attachment_named(self, filename: str) -> Attachment | None:
        return next((item for item in self.attachments if item.title == filename), None)


@dataclass
class Catalog:
    spaces: dict[str, Space] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)

    def page(self, page_id: str) -> Page | None:
        return self.pages.get(page_id)

    def space(self, key: str) -> Space | None:
        return self.spaces.get(key)

    def pages_in(self, space_key: str) -> list[Page]:
        return sorted(
            (page for page in self.pages.values() if page.space_key == space_key), key=lambda page: page.position
        )

    def page_titled(self, title: str, space_key: str | None = None) -> Page | None:
        for page in self.pages.values():
            if page.title == title and (space_key is None or page.space_key == space_key):
                return page
        return None
