"""The page as the sending user sees it: content, excerpt, attachment list and downloads (always as the user)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from confluence.client import Download, RestClient
from errors import NotFoundError, UpstreamError, ValidationError

CONTENT_ID = re.compile(r"[0-9]{1,20}")  # fullmatch, ASCII digits only (\d would take any script's)
ATTACHMENT_ID = re.compile(r"(att)?[0-9]{1,20}")
EXCERPT_START = re.compile(r"<ac:structured-macro\b[^>]*\bac:name=\"excerpt\"[^>]*>", re.IGNORECASE)
BODY_TAG = re.compile(r"<(/?)ac:rich-text-body\b[^>]*>", re.IGNORECASE)
ATTACHMENT_PAGE = 200


@dataclass(frozen=True)
class Page:
    content_id: str
    title: str
    space_key: str
    web_url: str
    base_url: str
    export_view: str
    storage: str | None


@dataclass(frozen=True)
class AttachmentInfo:
    id: str
    title: str
    media_type: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "mediaType": self.media_type, "size": self.size}


def check_content_id(content_id: object) -> str:
    if not isinstance(content_id, str | int) or not CONTENT_ID.fullmatch(str(content_id)):
        raise ValidationError("contentId must be a Confluence page id", details={"field": "contentId"})
    return str(content_id)


def attachment_api_id(attachment_id: str) -> str:
    """export_view names attachments by number; the REST API by `att<number>`."""
    if not isinstance(attachment_id, str) or not ATTACHMENT_ID.fullmatch(attachment_id):
        raise ValidationError("invalid attachment id", details={"field": "attachments"})
    return attachment_id if attachment_id.startswith("att") else "att" + attachment_id


def fetch_page(client: RestClient, content_id: str, *, with_storage: bool = False) -> Page:
    expand = "body.export_view,space,version" + (",body.storage" if with_storage else "")
    try:
        data = client.get_json(f"rest/api/content/{content_id}", params={"expand": expand})
    except NotFoundError:
        raise NotFoundError("This page does not exist or you may not view it", code="page_not_found") from None
    try:
        links = data.get("_links", {})
        body = data.get("body", {})
        return Page(
            content_id=str(data["id"]),
            title=str(data.get("title", "")),
            space_key=str(data.get("space", {}).get("key", "")),
            web_url=str(links.get("base", "")) + str(links.get("webui", "")),
            base_url=str(links.get("base", "")),
            export_view=str(body.get("export_view", {}).get("value", "")),
            storage=str(body["storage"]["value"]) if with_storage and "storage" in body else None,
        )
    except (AttributeError, KeyError, TypeError):
        raise UpstreamError("Confluence sent a page in an unexpected shape", code="confluence_bad_answer") from None


def list_attachments(client: RestClient, content_id: str) -> list[AttachmentInfo]:
    found: list[AttachmentInfo] = []
    start = 0
    while True:
        data = client.get_json(
            f"rest/api/content/{content_id}/child/attachment", params={"start": start, "limit": ATTACHMENT_PAGE}
        )
        results = data.get("results", []) if isinstance(data, dict) else []
        for item in results:
            if not isinstance(item, dict) or "id" not in item:
                continue
            extensions = item.get("extensions") or {}
            media_type = extensions.get("mediaType") or (item.get("metadata") or {}).get("mediaType") or ""
            found.append(
                AttachmentInfo(
                    str(item["id"]), str(item.get("title", "")), str(media_type), int(extensions.get("fileSize") or 0)
                )
            )
        if not results or not data.get("_links", {}).get("next"):
            return found
        start += len(results)


def download_attachment(client: RestClient, content_id: str, attachment_id: str, max_bytes: int) -> Download:
    api_id = attachment_api_id(attachment_id)
    return client.download(f"rest/api/content/{content_id}/child/attachment/{api_id}/download", max_bytes)


def excerpt_storage(storage: str | None) -> str | None:
    """The storage-format body of the page's first excerpt macro, or None."""
    if not storage:
        return None
    start = EXCERPT_START.search(storage)
    if not start:
        return None
    depth, body_start = 0, -1
    for tag in BODY_TAG.finditer(storage, start.end()):
        if tag.group(1) == "":
            if depth == 0:
                body_start = tag.end()
            depth += 1
        else:
            depth -= 1
            if depth == 0 and body_start >= 0:
                return storage[body_start : tag.start()]
    return None


def excerpt_html(client: RestClient, page: Page) -> str | None:
    """Confluence converts the excerpt's storage to export_view, so it renders like the page."""
    storage = excerpt_storage(page.storage)
    if storage is None:
        return None
    data = client.post_json(
        "rest/api/contentbody/convert/export_view",
        {"value": storage, "representation": "storage"},
        params={"contentIdContext": page.content_id},
        idempotent=True,
    )
    return str(data.get("value", "")) if isinstance(data, dict) else None
