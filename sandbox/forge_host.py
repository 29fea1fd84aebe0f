"""The site's side of the Forge app's Custom UI: what an iframe is told (the context), and its calls to the remote.

The page around a Custom UI iframe answers `window.__bridge.callBridge` (static/forge_host.js). Two of the calls
need the server, for the person browsing (the sandbox's user cookie):
- `GET /wiki/forge/frame?module=&contentId=&spaceKey=`: where a module's iframe loads and what `view.getContext()`
  answers in it (the module, the user, the page or space it was opened on);
- `POST /wiki/forge/invoke` {module, contentId, spaceKey, call: {path, method, headers, body}}: an `invokeRemote`.
  As Forge does, the platform (not the browser) calls the remote: the endpoint's remote `baseUrl` + `path`, with a
  fresh invocation token for this user and module and the OAuth tokens the endpoint enables
  (sandbox/forge_platform.py mints them), and answers the bridge's `{success, payload: {status, headers, body}}`.
  The iframe never sees a token.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests
from flask import Blueprint, Response, jsonify, request

from sandbox.directory import User
from sandbox.forge_cdn import resource_url
from sandbox.forge_modules import (
    CONTENT_ACTION,
    SPACE_SETTINGS,
    ForgeModule,
    build_hint,
    find_ui_module,
    missing_build,
    remote_endpoint,
)
from sandbox.forge_platform import ForgeError
from sandbox.state import SandboxState, current_state
from sandbox.ui_session import cookie_user

# Forge gives a remote 25 s; the sandbox waits longer, as a slow test machine renders big sends.
INVOKE_TIMEOUT = 60.0
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Headers the app may not set on an invokeRemote: the platform's own, and what HTTP sets itself.
RESERVED_HEADERS = frozenset({"authorization", "host", "cookie", "content-length", "connection", "transfer-encoding"})

bp = Blueprint("forge_host", __name__)


class FrameError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def extension(state: SandboxState, module: ForgeModule, content_id: str, space_key: str) -> dict[str, Any]:
    """The context's `extension`: the module's type and the page (contentAction) or space (spaceSettings)."""
    found: dict[str, Any] = {"type": module.kind}
    if module.kind == CONTENT_ACTION:
        page = state.catalog.page(content_id) if content_id else None
        if page is None:
            raise FrameError(404, "contentId must name a page of the site")
        space = state.catalog.space(page.space_key)
        found["content"] = {"id": page.id, "type": "page", "subtype": None}
        found["space"] = {"id": str(space.id) if space else "", "key": page.space_key}
        found["location"] = f"{state.config.tenant_base_url}/spaces/{page.space_key}/pages/{page.id}"
    elif module.kind == SPACE_SETTINGS:
        space = state.catalog.space(space_key) if space_key else None
        if space is None:
            raise FrameError(404, "spaceKey must name a space of the site")
        found["space"] = {"id": str(space.id), "key": space.key}
    return found


def context(state: SandboxState, module: ForgeModule, user: User, content_id: str, space_key: str) -> dict[str, Any]:
    """What `view.getContext()` answers in the module's iframe (@forge/bridge's FullContext)."""
    forge = state.forge
    return {
        "accountId": user.account_id,
        "cloudId": forge.cloud_id,
        "siteUrl": state.config.public_url,
        "environmentId": forge.installation.environment_id,
        "environmentType": "DEVELOPMENT",
        "localId": str(uuid.uuid4()),
        "locale": user.locale.replace("_", "-"),
        "moduleKey": module.key,
        "timezone": user.time_zone or "UTC",
        "extension": extension(state, module, content_id, space_key),
    }


def describe_frame(
    state: SandboxState, module_key: str, user: User, content_id: str = "", space_key: str = ""
) -> dict[str, Any]:
    """Everything the host page needs to show a module: its iframe URL, size, title and context."""
    forge = state.forge
    manifest = forge.installation.manifest
    if not forge.installation.installed or manifest is None:
        raise FrameError(409, "The Forge app is not installed (Manage apps → Install Forge app).")
    module = find_ui_module(manifest, module_key)
    if module is None:
        raise FrameError(404, f"The Forge app has no UI module {module_key!r}.")
    missing = missing_build(manifest, forge.manifest_path)
    if module.resource in missing:
        raise FrameError(409, build_hint(missing))
    width, height = module.size
    return {
        "module": module.key,
        "kind": module.kind,
        "title": module.title,
        "url": resource_url(state.config.public_url, module.resource),
        "width": width,
        "height": height,
        "context": context(state, module, user, content_id, space_key),
        "contentId": content_id,
        "spaceKey": space_key,
    }


@bp.get("/wiki/forge/frame")
def frame() -> Response:
    state = current_state()
    user = cookie_user(state)
    if user is None:
        return _error(401, "Browse the site first: the frame is opened for the person browsing.")
    try:
        return jsonify(
            describe_frame(
                state,
                request.args.get("module", ""),
                user,
                request.args.get("contentId", ""),
                request.args.get("spaceKey", ""),
            )
        )
    except FrameError as exc:
        return _error(exc.status, exc.message)


def _answer_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


@bp.post("/wiki/forge/invoke")
def invoke() -> Response:
    state = current_state()
    user = cookie_user(state)
    # JSON only: a form post from another site can't make this call for the person browsing.
    if not request.is_json:
        return _error(415, "Send JSON")
    payload = request.get_json(silent=True)
    if user is None:
        return _error(401, "Browse the site first: invokeRemote runs as the person browsing.")
    if not isinstance(payload, dict) or not isinstance(payload.get("call"), dict):
        return _error(400, "Send {module, contentId, spaceKey, call: {path, method, headers, body}}")
    call = payload["call"]
    path, method = str(call.get("path") or ""), str(call.get("method") or "").upper()
    if not path.startswith("/") or path.startswith("//") or method not in METHODS:
        return _error(400, "call.path must be a path below the remote and call.method an HTTP method")
    module_key = str(payload.get("module") or "")
    content_id, space_key = str(payload.get("contentId") or ""), str(payload.get("spaceKey") or "")
    forge = state.forge
    try:
        module = find_ui_module(forge.installation.manifest, module_key)
        if module is None or not forge.installation.installed:
            raise FrameError(409, "The Forge app is not installed, or has no such module.")
        endpoint = remote_endpoint(forge.installation.manifest, module.key)
        if endpoint is None:
            raise FrameError(400, f"The module {module.key!r} names no endpoint with a remote for invokeRemote.")
        sent = forge.invocation(user.account_id, module.key, extension(state, module, content_id, space_key))
    except FrameError as exc:
        return _error(exc.status, exc.message)
    except ForgeError as exc:
        return _error(409, str(exc))
    headers = {
        str(name): str(value)
        for name, value in (call.get("headers") or {}).items()
        if str(name).lower() not in RESERVED_HEADERS and not str(name).lower().startswith("x-forge-")
    }
    headers["Authorization"] = f"Bearer {sent.token}"
    if endpoint.user_token:
        headers["x-forge-oauth-user"] = sent.user_token
    if endpoint.system_token:
        headers["x-forge-oauth-system"] = sent.system_token
    body = call.get("body")
    data = None if body is None else json.dumps(body)
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        response = requests.request(
            method, endpoint.base_url + path, data=data, headers=headers, timeout=INVOKE_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        return jsonify({"success": False, "error": {"message": f"{type(exc).__name__}: the remote is unreachable"}})
    answered: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        answered.setdefault(name.lower(), []).append(value)
    return jsonify(
        {
            "success": True,
            "payload": {"status": response.status_code, "headers": answered, "body": _answer_body(response)},
        }
    )
