"""The Forge platform's HTTP side: the JWKS, the API gateway in front of the REST routes, and control endpoints.

- `GET /forge-cdn/.well-known/jwks.json`: the keys that sign invocation tokens (the app's FORGE_JWKS_URL).
- `/ex/confluence/{cloudId}/wiki/...`: the gateway. It answers only for this site's cloudId and hands the call to
  the same REST routes Connect apps use, marked as coming through the gateway: there the Forge tokens are accepted
  (and Connect's are not), with the same permission rules.
- `/_sandbox/forge/...` (local only, no authentication): install (or upgrade), uninstall, an invocation token with
  its OAuth tokens for any user, key rotation, the installation's facts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.forge_platform import FORGE_CALL, JWKS_PATH, ForgeError, ForgePlatform
from sandbox.rest_errors import error_body
from sandbox.state import current_state

GATEWAY = re.compile(r"^/ex/confluence/(?P<cloud_id>[^/]+)(?P<rest>/wiki/.*)$")

bp = Blueprint("forge", __name__)


@bp.get(JWKS_PATH)
def jwks() -> Response:
    response = jsonify(current_state().forge.keys.jwks())
    response.headers["Cache-Control"] = "max-age=60"
    return response


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.post("/_sandbox/forge/install")
def install() -> Response:
    try:
        return jsonify(current_state().forge.install())
    except ForgeError as exc:
        return _error(409, str(exc))


@bp.post("/_sandbox/forge/uninstall")
def uninstall() -> Response:
    return jsonify(current_state().forge.uninstall())


@bp.get("/_sandbox/forge/installation")
def installation() -> Response:
    forge = current_state().forge
    return jsonify(
        {"installed": forge.installation.installed, "lastAnswer": forge.installation.last_answer, **forge.facts()}
    )


@bp.post("/_sandbox/forge/rotate-key")
def rotate_key() -> Response:
    payload = request.get_json(silent=True) or {}
    keep = not (isinstance(payload, dict) and payload.get("keepOld") is False)
    key = current_state().forge.keys.rotate(keep_old=keep)
    return jsonify({"kid": key.kid})


@bp.get("/_sandbox/forge/invocation")
def invocation() -> Response:
    """What Forge would send with a Custom UI's invokeRemote: the FIT and the OAuth tokens (as JSON)."""
    state = current_state()
    account_id = request.args.get("user", "")
    if account_id and state.directory.user(account_id) is None:
        return _error(404, "user must be the accountId of a sandbox user")
    extension: dict[str, Any] = {}
    content_id, space_key = request.args.get("contentId", ""), request.args.get("spaceKey", "")
    if content_id:
        extension["content"] = {"id": content_id, "type": "page"}
    if space_key:
        extension["space"] = {"key": space_key}
    try:
        sent = state.forge.invocation(account_id or None, request.args.get("module", ""), extension or None)
    except ForgeError as exc:
        return _error(409, str(exc))
    return jsonify({"headers": sent.headers(), "apiBaseUrl": sent.api_base_url})


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ForgeGateway:
    """`/ex/confluence/{cloudId}/wiki/...` → the site's `/wiki/...` routes, for this site's cloudId only."""

    def __init__(self, app: WSGIApp, forge: ForgePlatform) -> None:
        self.app = app
        self.forge = forge

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = GATEWAY.match(environ.get("PATH_INFO", ""))
        if match is None:
            return self.app(environ, start_response)
        if match.group("cloud_id") != self.forge.cloud_id:
            return _json_error(start_response, 404, "No site with this cloudId")
        environ["PATH_INFO"] = match.group("rest")
        environ[FORGE_CALL] = True
        return self.app(environ, start_response)


def _json_error(start_response: StartResponse, status: int, message: str) -> Iterable[bytes]:
    body = json.dumps(error_body(status, message)).encode()
    start_response(f"{status} Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
