"""Attachment downloads the way Confluence Cloud serves them: the site answers `302` to its media service
on **another host**, with a short-lived signed reference in the URL, and the media service serves the bytes.

The other host is the same server under the other loopback name (`localhost` ↔ `127.0.0.1`), so a client
that forwards its `Authorization` header across hosts is caught: the media endpoint refuses any request
carrying one (400), and the request log shows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote, urlsplit, urlunsplit

from flask import Blueprint, Response, jsonify, redirect, request

from sandbox.access import can_read
from sandbox.content import Attachment
from sandbox.rest_auth import authenticate
from sandbox.rest_errors import RestError, install_error_handlers, not_found_content
from sandbox.state import SandboxState, current_state
from sandbox.ui_session import cookie_user

MEDIA_TOKEN_LIFETIME = 300

bp = Blueprint("media", __name__)
install_error_handlers(bp)


def other_host_url(public_url: str) -> str:
    """The site's origin under the other loopback name (unchanged for any other host name)."""
    parts = urlsplit(public_url)
    host = parts.hostname or ""
    swapped = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}.get(host, host)
    netloc = swapped + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def media_token(secret: bytes, attachment: Attachment, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + MEDIA_TOKEN_LIFETIME)
    payload = f"{attachment.page_id}:{attachment.id}:{expires}".encode()
    signature = hmac.new(secret, payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(signature)}"


def read_media_token(secret: bytes, token: str, now: float | None = None) -> tuple[str, str] | None:
    """(page id, attachment id) of a valid, unexpired token; None otherwise."""
    try:
        encoded_payload, encoded_signature = token.split(".", 1)
        payload, signature = _unb64(encoded_payload), _unb64(encoded_signature)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, hmac.new(secret, payload, hashlib.sha256).digest()[:18]):
        return None
    try:
        page_id, attachment_id, expires = payload.decode().split(":")
        if int(expires) < (time.time() if now is None else now):
            return None
    except ValueError:
        return None
    return page_id, attachment_id


def _redirect_to_media(state: SandboxState, attachment: Attachment) -> Response:
    token = media_token(state.media_secret, attachment)
    target = f"{other_host_url(state.config.public_url)}/media/file/{token}"
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/wiki/rest/api/content/<content_id>/child/attachment/<attachment_id>/download")
def rest_download(content_id: str, attachment_id: str) -> Response:
    state = current_state()
    caller = authenticate(state)
    page = state.catalog.page(content_id)
    if page is None or not can_read(state.directory, page, caller.account_id):
        raise not_found_content(content_id)
    attachment = page.attachment(attachment_id)
    if attachment is None:
        raise RestError(404, f"No attachment found with id: {attachment_id} on content {content_id}")
    version = request.args.get("version")
    if version is not None and version != "1":
        raise RestError(400, "Version number is greater than the attachment's latest version")
    return _redirect_to_media(state, attachment)


@bp.get("/wiki/download/attachments/<page_id>/<path:filename>")
def site_download(page_id: str, filename: str) -> Response:
    """The URL in export_view bodies: works with REST credentials or with the sandbox's browsing cookie."""
    state = current_state()
    if request.headers.get("Authorization"):
        account_id = authenticate(state).account_id
    else:
        user = cookie_user(state)
        if user is None:
            raise RestError(401, "Authentication required")
        account_id = user.account_id
        request.environ["sandbox.account_id"] = account_id
    page = state.catalog.page(page_id)
    if page is None or not can_read(state.directory, page, account_id):
        raise RestError(404, "Attachment not found")
    attachment = page.attachment_named(unquote(filename))
    if attachment is None:
        raise RestError(404, "Attachment not found")
    return _redirect_to_media(state, attachment)


@bp.get("/media/file/<token>")
def media_file(token: str) -> Response:
    state = current_state()
    if request.headers.get("Authorization"):
        # The media host is another origin: credentials meant for the site must never arrive here.
        response = jsonify(
            {"error": "invalid_request", "message": "Authorization header not accepted by the media service"}
        )
        response.status_code = 400
        return response
    reference = read_media_token(state.media_secret, token)
    page = state.catalog.page(reference[0]) if reference else None
    attachment = page.attachment(reference[1]) if page and reference else None
    if attachment is None:
        response = jsonify({"error": "unauthorized", "message": "Token is invalid or has expired"})
        response.status_code = 401
        return response
    response = Response(attachment.data(), mimetype=attachment.media_type)
    response.headers.set("Content-Disposition", "inline", filename=attachment.title)
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
