"""REST: content, its attachments, permission checks and body conversion (Confluence Cloud v1 shapes)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.access import can_read, group_can_read
from sandbox.content import Page
from sandbox.representations import Shapes, parse_expand
from sandbox.rest_auth import Caller, authenticate
from sandbox.rest_errors import RestError, install_error_handlers, not_found_content
from sandbox.state import SandboxState, current_state
from sandbox.storage_convert import ConvertContext, StorageError, convert_storage

CONVERT_TARGETS = ("view", "export_view", "styled_view", "anonymous_export_view")
MAX_CONVERT_BYTES = 2_000_000

bp = Blueprint("rest_content", __name__, url_prefix="/wiki/rest/api")
install_error_handlers(bp)


def shapes(state: SandboxState) -> Shapes:
    return Shapes(state.config.public_url, state.directory, state.catalog)


def paging(default_limit: int, max_limit: int) -> tuple[int, int]:
    """`start` and `limit` from the query; limits above the maximum are cut down, as Confluence does."""
    try:
        start = int(request.args.get("start", 0))
        limit = int(request.args.get("limit", default_limit))
    except ValueError:
        raise RestError(400, "start and limit must be integers")
    if start < 0 or limit < 0:
        raise RestError(400, "start and limit must not be negative")
    return start, min(limit, max_limit)


def readable_page(state: SandboxState, caller: Caller, content_id: str) -> Page:
    if not content_id.isdigit():
        raise RestError(400, f"Can't parse as a ContentId: {content_id}")
    page = state.catalog.page(content_id)
    if page is None or not can_read(state.directory, page, caller.account_id):
        raise not_found_content(content_id)
    return page


@bp.get("/content/<content_id>")
def get_content(content_id: str) -> Response:
    state = current_state()
    caller = authenticate(state)
    expand = parse_expand(request.args.getlist("expand"))
    if content_id.startswith("att") and content_id[3:].isdigit():
        for page in state.catalog.pages.values():
            attachment = page.attachment(content_id)
            if attachment is not None and can_read(state.directory, page, caller.account_id):
                return jsonify(shapes(state).attachment(attachment, expand))
        raise not_found_content(content_id)
    page = readable_page(state, caller, content_id)
    return jsonify(shapes(state).page(page, expand))


@bp.get("/content/<content_id>/child/attachment")
def list_attachments(content_id: str) -> Response:
    state = current_state()
    caller = authenticate(state)
    page = readable_page(state, caller, content_id)
    start, limit = paging(25, 200)
    filename = request.args.get("filename")
    media_type = request.args.get("mediaType")
    matching = [
        item
        for item in page.attachments
        if (filename is None or item.title == filename) and (media_type is None or item.media_type == media_type)
    ]
    expand = {item.removeprefix("results.") for item in parse_expand(request.args.getlist("expand"))}
    window = matching[start : start + limit]
    query = {"filename": filename or "", "mediaType": media_type or "", "expand": request.args.get("expand", "")}
    body = shapes(state).paged(
        [shapes(state).attachment(item, expand) for item in window],
        start,
        limit,
        len(matching),
        f"/rest/api/content/{page.id}/child/attachment",
        query,
    )
    return jsonify(body)


@bp.post("/content/<content_id>/permission/check")
def check_permission(content_id: str) -> Response:
    state = current_state()
    caller = authenticate(state)
    if caller.is_app:
        # The app asks about other users (Confluence wants the caller to be able to check for anyone), so the
        # answer depends on the subject's access, not on whether the app's own user could read the page.
        page = state.catalog.page(content_id) if content_id.isdigit() else None
        if page is None:
            raise not_found_content(content_id)
    else:
        page = readable_page(state, caller, content_id)
    payload = request.get_json(silent=True)
    subject = payload.get("subject") if isinstance(payload, dict) else None
    operation = payload.get("operation") if isinstance(payload, dict) else None
    if not isinstance(subject, dict) or subject.get("type") not in ("user", "group"):
        raise RestError(400, "subject.type must be user or group")
    identifier = subject.get("identifier")
    if not isinstance(identifier, str) or not identifier:
        raise RestError(400, "subject.identifier is required")
    if operation not in ("read", "update", "delete"):
        raise RestError(400, "operation must be one of read, update, delete")
    errors: list[dict[str, Any]] = []
    if subject["type"] == "user":
        user = state.directory.user(identifier)
        allowed = user is not None and can_read(state.directory, page, identifier)
        if user is None:
            errors.append({"translation": "User does not exist", "args": []})
        elif not allowed:
            errors.append({"translation": "User does not have permission to the content", "args": []})
    else:
        group = state.directory.group(identifier) or state.directory.group_named(identifier)
        allowed = group is not None and group_can_read(state.directory, page, group.name)
        if not allowed:
            errors.append({"translation": "Group does not have permission to the content", "args": []})
    return jsonify(
        {
            "hasPermission": allowed,
            "errors": errors,
            "_links": {"base": f"{state.config.tenant_base_url}", "context": "/wiki"},
        }
    )


@bp.post("/contentbody/convert/<to>")
def convert_body(to: str) -> Response:
    state = current_state()
    caller = authenticate(state)
    if to not in CONVERT_TARGETS:
        raise RestError(400, f"Conversion to {to} is not supported")
    if (request.content_length or 0) > MAX_CONVERT_BYTES:
        raise RestError(413, "Content body is too large")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), str):
        raise RestError(400, "Body must be a JSON object with a string value")
    if payload.get("representation", "storage") != "storage":
        raise RestError(400, f"Conversion from {payload.get('representation')} to {to} is not supported")
    page = None
    context_id = request.args.get("contentIdContext")
    if context_id:
        page = readable_page(state, caller, context_id)
    space_key = request.args.get("spaceKeyContext") or (page.space_key if page else None)
    if space_key and state.catalog.space(space_key) is None:
        raise RestError(404, f"No space with key : {space_key}")
    context = ConvertContext(state.config.public_url, state.catalog, state.directory, page, space_key)
    try:
        value = convert_storage(payload["value"], context)
    except StorageError as exc:
        raise RestError(400, str(exc))
    return jsonify(
        {
            "value": value,
            "representation": to,
            "embeddedContent": [],
            "_expandable": {"content": "", "embeddedContent": "", "webresource": "", "mediaToken": ""},
            "_links": {"base": state.config.tenant_base_url, "context": "/wiki"},
        }
    )
