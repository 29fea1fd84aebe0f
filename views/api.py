"""The iframe API (DESIGN §7): JSON for the send dialog, behind either door's credential."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

from confluence.fanout import map_bounded
from errors import AppError, ValidationError
from identity import Identity, api_auth_required, current_identity
from mail import send as sending
from mail.page import check_content_id, excerpt_storage, fetch_page
from views.context import clients, send_context, tenant_settings
from views.ratelimit import enforce

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_QUERY = 100
SEARCH_LIMIT = 10


def _locale() -> str:
    return (request.headers.get("X-Pagemail-Locale") or "en")[:10]


def cql_string(text: str) -> str:
    """A CQL string literal: quotes and backslashes escaped so user input can't change the query."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _avatar(identity: Identity, user: dict[str, Any]) -> str:
    path = str((user.get("profilePicture") or {}).get("path") or "")
    if not path or path.startswith(("http://", "https://")):
        return path
    parts = urlsplit(identity.tenant.base_url)
    return f"{parts.scheme}://{parts.netloc}{path}"


@bp.get("/recipients")
@api_auth_required
def recipients() -> Response:
    identity = current_identity()
    enforce("recipients", identity)
    query = (request.args.get("query") or "").strip()
    if len(query) < 2 or len(query) > MAX_QUERY:
        raise ValidationError(f"Type between 2 and {MAX_QUERY} characters", details={"field": "query"})
    user_client, _ = clients(identity, budget=15)
    users_answer, groups_answer = map_bounded(
        lambda job: job(),
        [
            lambda: user_client.get_json(
                "rest/api/search/user", params={"cql": f"user.fullname~{cql_string(query)}", "limit": SEARCH_LIMIT}
            ),
            lambda: user_client.get_json("rest/api/group/picker", params={"query": query, "limit": SEARCH_LIMIT}),
        ],
    )
    users = []
    for result in users_answer.get("results", []) if isinstance(users_answer, dict) else []:
        user = result.get("user") if isinstance(result, dict) else None
        if isinstance(user, dict) and user.get("accountId") and user.get("accountType", "atlassian") == "atlassian":
            users.append(
                {
                    "accountId": user["accountId"],
                    "displayName": user.get("displayName") or user.get("publicName") or "",
                    "avatarUrl": _avatar(identity, user),
                    # As Confluence shows it to this user: "" when its owner hides it. Tells same-named people apart.
                    "email": str(user.get("email") or ""),
                }
            )
    groups = [
        {"groupId": g["id"], "name": g.get("name", "")}
        for g in (groups_answer.get("results", []) if isinstance(groups_answer, dict) else [])
        if isinstance(g, dict) and g.get("id")
    ]
    return jsonify({"users": users, "groups": groups})


@bp.post("/recipients/summary")
@api_auth_required
def recipients_summary() -> Response:
    """Who a send would reach (counts, groups with member counts) and its guard-rails, before sending."""
    identity = current_identity()
    enforce("recipients", identity)
    send_request = sending.parse_send_request(request.get_json(silent=True))
    return jsonify(sending.recipients_summary(send_context(identity, _locale()), send_request))


@bp.get("/pages/<content_id>/attachments")
@api_auth_required
def attachments(content_id: str) -> Response:
    """The page's attachments, plus what the dialog needs to set itself up in one call."""
    identity = current_identity()
    enforce("read", identity)
    content_id = check_content_id(content_id)
    ctx = send_context(identity, _locale())
    settings = tenant_settings(identity)
    answer: dict[str, Any] = {
        "attachments": [],
        "limit": settings.max_attachment_bytes,
        "hasExcerpt": False,
        "title": "",
        "subjectPrefix": settings.subject_prefix,
        "canSend": True,
        "reason": "",
    }
    try:
        page, _me, available = sending.check_permission(ctx, content_id)
    except AppError as error:
        if error.status != 403:
            raise
        answer.update(canSend=False, reason=error.message, reasonCode=error.code)
        page = fetch_page(ctx.user_client, content_id)
        answer["title"] = page.title
        return jsonify(answer)
    answer["title"] = page.title
    answer["hasExcerpt"] = excerpt_storage(page.storage) is not None
    answer["attachments"] = [a.as_dict() for a in available]
    return jsonify(answer)


@bp.post("/preview")
@api_auth_required
def preview() -> Response:
    identity = current_identity()
    enforce("preview", identity)
    send_request = sending.parse_send_request(request.get_json(silent=True))
    return jsonify(sending.preview(send_context(identity, _locale()), send_request))


@bp.post("/send")
@api_auth_required
def send() -> Response:
    identity = current_identity()
    enforce("send", identity)
    send_request = sending.parse_send_request(request.get_json(silent=True))
    return jsonify(sending.send(send_context(identity, _locale(), for_send=True), send_request))
