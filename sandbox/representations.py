"""JSON in the shapes of Confluence Cloud's REST API v1 (users, groups, spaces, pages, attachments, lists)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from sandbox.content import Attachment, Catalog, Page, Space, with_base
from sandbox.directory import Directory, Group, User

BODY_REPRESENTATIONS = (
    "editor",
    "atlas_doc_format",
    "view",
    "export_view",
    "styled_view",
    "dynamic",
    "storage",
    "editor2",
    "anonymous_export_view",
)
_RENDERED = {"view", "export_view", "styled_view", "anonymous_export_view"}


def parse_expand(values: Iterable[str]) -> set[str]:
    """`expand=a.b,c` (possibly repeated) as a set of dotted paths."""
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def wants(expand: set[str], path: str) -> bool:
    """True when `path` or anything below it was asked for."""
    return any(item == path or item.startswith(path + ".") for item in expand)


def tiny_path(content_id: str) -> str:
    """Confluence's short link: the id's little-endian bytes in URL-safe base64."""
    number = int(content_id)
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "little")
    return "/x/" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Shapes:
    """Builds response objects for one site (`wiki` = its base URL, `public_url` = its origin)."""

    def __init__(self, public_url: str, directory: Directory, catalog: Catalog) -> None:
        self.public_url = public_url
        self.wiki = f"{public_url}/wiki"
        self.directory = directory
        self.catalog = catalog

    # -- people -------------------------------------------------------------------------------------------
    def user(self, user: User, operations: list[dict[str, str]] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "known",
            "accountId": user.account_id,
            "accountType": user.account_type,
            "email": user.visible_email,
            "publicName": user.public_name,
            "profilePicture": {
                "path": f"/wiki/aa-avatar/{user.account_id}",
                "width": 48,
                "height": 48,
                "isDefault": False,
            },
            "displayName": user.display_name,
            "timeZone": user.time_zone,
            "isExternalCollaborator": False,
            "isGuest": False,
            "locale": user.locale,
            "accountStatus": "active",
            "_expandable": {"operations": "", "personalSpace": ""},
            "_links": {"self": f"{self.wiki}/rest/api/user?accountId={quote(user.account_id, safe=':')}"},
        }
        if operations is not None:
            data["operations"] = operations
            del data["_expandable"]["operations"]
        return data

    def group(self, group: Group) -> dict[str, Any]:
        return {
            "type": "group",
            "name": group.name,
            "id": group.id,
            "_links": {"self": f"{self.wiki}/rest/api/group/by-id?id={group.id}"},
        }

    # -- spaces ------------------------------------------------------------------------------------------
    def space(self, space: Space, operations: list[dict[str, str]] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": space.id,
            "key": space.key,
            "alias": space.key,
            "name": space.name,
            "type": "global",
            "status": "current",
            "_expandable": {
                "settings": f"/rest/api/space/{space.key}/settings",
                "metadata": "",
                "operations": "",
                "lookAndFeel": f"/rest/api/settings/lookandfeel?spaceKey={space.key}",
                "identifiers": "",
                "permissions": "",
                "roles": "",
                "icon": "",
                "description": "",
                "theme": f"/rest/api/space/{space.key}/theme",
                "history": "",
                "homepage": f"/rest/api/content/{space.homepage_id}",
            },
            "_links": {"webui": f"/spaces/{space.key}", "self": f"{self.wiki}/rest/api/space/{space.key}"},
        }
        if operations is not None:
            data["operations"] = operations
            del data["_expandable"]["operations"]
        return data

    # -- pages -------------------------------------------------------------------------------------------
    def version(self, page: Page) -> dict[str, Any]:
        return {
            "by": self._by(page.updated_by),
            "when": page.updated,
            "friendlyWhen": _friendly(page.updated),
            "message": "",
            "number": page.version,
            "minorEdit": False,
            "confRev": f"confluence$content${page.id}.{page.version}",
            "contentTypeModified": False,
            "_expandable": {"collaborators": "", "content": f"/rest/api/content/{page.id}"},
            "_links": {"self": f"{self.wiki}/rest/api/content/{page.id}/version/{page.version}"},
        }

    def history(self, page: Page, expand: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"latest": True, "createdBy": self._by(page.created_by), "createdDate": page.created}
        expandable = {"lastUpdated": "", "previousVersion": "", "contributors": "", "nextVersion": ""}
        if "history.lastUpdated" in expand:
            data["lastUpdated"] = self.version(page)
            del expandable["lastUpdated"]
        data["_expandable"] = expandable
        data["_links"] = {"self": f"{self.wiki}/rest/api/content/{page.id}/history"}
        return data

    def body(self, page: Page, expand: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for representation in BODY_REPRESENTATIONS:
            if f"body.{representation}" not in expand:
                continue
            if representation == "storage":
                value = page.storage
            elif representation in _RENDERED:
                value = with_base(page.export_view, self.public_url)
            else:
                continue
            body[representation] = {
                "value": value,
                "representation": representation,
                "embeddedContent": [],
                "_expandable": {"content": f"/rest/api/content/{page.id}"},
            }
        body["_expandable"] = {name: "" for name in BODY_REPRESENTATIONS if name not in body}
        return body

    def page(self, page: Page, expand: set[str]) -> dict[str, Any]:
        space = self.catalog.space(page.space_key)
        data: dict[str, Any] = {
            "id": page.id,
            "type": "page",
            "status": "current",
            "title": page.title,
        }
        expandable = {
            "childTypes": "",
            "container": f"/rest/api/space/{page.space_key}",
            "schedulePublishInfo": "",
            "metadata": "",
            "operations": "",
            "schedulePublishDate": "",
            "children": f"/rest/api/content/{page.id}/child",
            "restrictions": f"/rest/api/content/{page.id}/restriction/byOperation",
            "history": f"/rest/api/content/{page.id}/history",
            "ancestors": "",
            "body": "",
            "version": "",
            "descendants": f"/rest/api/content/{page.id}/descendant",
            "space": f"/rest/api/space/{page.space_key}",
        }
        if space is not None and wants(expand, "space"):
            data["space"] = self.space(space)
        if space is not None and wants(expand, "container"):
            data["container"] = self.space(space)
        if wants(expand, "history"):
            data["history"] = self.history(page, expand)
        if wants(expand, "version"):
            data["version"] = self.version(page)
        if wants(expand, "ancestors"):
            data["ancestors"] = self._ancestors(page)
        if wants(expand, "children"):
            data["children"] = self._children(page, expand)
        if wants(expand, "restrictions"):
            data["restrictions"] = self._restrictions(page)
        if wants(expand, "metadata"):
            data["metadata"] = {"labels": {"results": [], "start": 0, "limit": 200, "size": 0}, "_expandable": {}}
        if wants(expand, "body"):
            data["body"] = self.body(page, expand)
        data["macroRenderedOutput"] = {}
        data["extensions"] = {"position": page.position}
        for key in list(expandable):
            if key in data:
                del expandable[key]
        data["_expandable"] = expandable
        data["_links"] = {
            "editui": f"/pages/resumedraft.action?draftId={page.id}",
            "webui": page.webui_path(),
            "edituiv2": f"/spaces/{page.space_key}/pages/edit-v2/{page.id}",
            "context": "/wiki",
            "self": f"{self.wiki}/rest/api/content/{page.id}",
            "tinyui": tiny_path(page.id),
            "collection": "/rest/api/content",
            "base": self.wiki,
        }
        return data

    def _ancestors(self, page: Page) -> list[dict[str, Any]]:
        space = self.catalog.space(page.space_key)
        if space is None or space.homepage_id == page.id:
            return []
        home = self.catalog.page(space.homepage_id)
        return [self.page(home, set())] if home else []

    def _children(self, page: Page, expand: set[str]) -> dict[str, Any]:
        children: dict[str, Any] = {}
        expandable = {
            "attachment": f"/rest/api/content/{page.id}/child/attachment",
            "comment": f"/rest/api/content/{page.id}/child/comment",
            "page": f"/rest/api/content/{page.id}/child/page",
        }
        if "children.attachment" in expand or any(item.startswith("children.attachment.") for item in expand):
            sub = {
                item.removeprefix("children.attachment.") for item in expand if item.startswith("children.attachment.")
            }
            children["attachment"] = self.paged(
                [self.attachment(item, sub) for item in page.attachments[:25]],
                0,
                25,
                len(page.attachments),
                f"/rest/api/content/{page.id}/child/attachment",
                {},
            )
            del expandable["attachment"]
        children["_expandable"] = expandable
        children["_links"] = {"self": f"{self.wiki}/rest/api/content/{page.id}/child"}
        return children

    def _restrictions(self, page: Page) -> dict[str, Any]:
        groups = [self.group(group) for name in page.read_groups if (group := self.directory.group_named(name))]
        users = [self.user(user) for account_id in page.read_users if (user := self.directory.user(account_id))]
        return {
            "read": {
                "operation": "read",
                "restrictions": {
                    "user": {"results": users, "start": 0, "limit": 200, "size": len(users)},
                    "group": {"results": groups, "start": 0, "limit": 200, "size": len(groups)},
                },
                "_expandable": {"content": f"/rest/api/content/{page.id}"},
                "_links": {"self": f"{self.wiki}/rest/api/content/{page.id}/restriction/byOperation/read"},
            },
            "_expandable": {"update": ""},
            "_links": {"self": f"{self.wiki}/rest/api/content/{page.id}/restriction/byOperation"},
        }

    def attachment(self, attachment: Attachment, expand: set[str]) -> dict[str, Any]:
        page = self.catalog.page(attachment.page_id)
        media_type = attachment.media_type
        data: dict[str, Any] = {
            "id": attachment.rest_id,
            "type": "attachment",
            "status": "current",
            "title": attachment.title,
            "macroRenderedOutput": {},
            "metadata": {
                "comment": attachment.comment,
                "mediaType": media_type,
                "labels": {"results": [], "start": 0, "limit": 200, "size": 0},
                "_expandable": {
                    "currentuser": "",
                    "comments": "",
                    "simple": "",
                    "properties": "",
                    "frontend": "",
                    "editorHtml": "",
                },
            },
            "extensions": {
                "mediaType": media_type,
                "fileSize": attachment.size,
                "comment": attachment.comment,
                "mediaTypeDescription": _describe(media_type),
                "fileId": attachment.file_id,
                "collectionName": f"contentId-{attachment.page_id}",
            },
        }
        if "version" in expand:
            data["version"] = {
                "by": self._by(page.updated_by if page else ""),
                "when": attachment.created,
                "friendlyWhen": _friendly(attachment.created),
                "message": "",
                "number": 1,
                "minorEdit": False,
                "contentTypeModified": False,
                "_expandable": {"collaborators": "", "content": f"/rest/api/content/{attachment.rest_id}"},
                "_links": {"self": f"{self.wiki}/rest/api/content/{attachment.rest_id}/version/1"},
            }
        if "container" in expand and page is not None:
            data["container"] = self.page(page, set())
        data["_expandable"] = {
            key: value
            for key, value in {
                "container": f"/rest/api/content/{attachment.page_id}",
                "operations": "",
                "children": f"/rest/api/content/{attachment.rest_id}/child",
                "restrictions": f"/rest/api/content/{attachment.rest_id}/restriction/byOperation",
                "history": f"/rest/api/content/{attachment.rest_id}/history",
                "ancestors": "",
                "body": "",
                "version": "",
                "descendants": f"/rest/api/content/{attachment.rest_id}/descendant",
                "space": f"/rest/api/space/{page.space_key if page else ''}",
            }.items()
            if key not in data
        }
        data["_links"] = {
            "webui": f"/pages/viewpageattachments.action?pageId={attachment.page_id}&preview="
            + quote(f"/{attachment.page_id}/{attachment.id}/{attachment.title}", safe=""),
            "self": f"{self.wiki}/rest/api/content/{attachment.rest_id}",
            "download": attachment.download_path(),
        }
        return data

    # -- lists -------------------------------------------------------------------------------------------
    def paged(
        self,
        results: Sequence[Any],
        start: int,
        limit: int,
        total: int,
        path: str,
        query: dict[str, str],
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A v1 list: `results`, `start`, `limit`, `size`, and `_links.next` while more remain."""
        links: dict[str, Any] = {"base": self.wiki, "context": "/wiki"}
        params = {key: value for key, value in query.items() if value not in (None, "")}
        links["self"] = f"{self.wiki}{path}" + (f"?{urlencode(params)}" if params else "")
        if start + len(results) < total:
            links["next"] = f"{path}?{urlencode({**params, 'limit': limit, 'start': start + len(results)})}"
        if start > 0:
            links["prev"] = f"{path}?{urlencode({**params, 'limit': limit, 'start': max(0, start - limit)})}"
        data: dict[str, Any] = {"results": list(results), "start": start, "limit": limit, "size": len(results)}
        data.update(extra or {})
        data["_links"] = links
        return data

    def _by(self, account_id: str) -> dict[str, Any]:
        user = self.directory.user(account_id)
        if user is None:
            return {"type": "unknown", "accountId": account_id, "displayName": "Unknown user"}
        return self.user(user)


def _friendly(timestamp: str) -> str:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    try:
        year, month, day = int(timestamp[:4]), int(timestamp[5:7]), int(timestamp[8:10])
    except ValueError:
        return timestamp
    return f"{months[month - 1]} {day:02d}, {year}"


def _describe(media_type: str) -> str:
    return {
        "image/png": "PNG Image",
        "image/jpeg": "JPEG Image",
        "image/gif": "GIF Image",
        "application/pdf": "PDF Document",
        "text/csv": "CSV File",
    }.get(media_type, "Microsoft Word Document" if "wordprocessingml" in media_type else "File")
