"""The install key server: `GET /connect-keys/{kid}` → the PEM public key (like connect-install-keys.atlassian.com)."""

from __future__ import annotations

from flask import Blueprint, Response

from sandbox.state import current_state

bp = Blueprint("keyserver", __name__)


@bp.get("/connect-keys/<kid>")
def connect_key(kid: str) -> Response:
    state = current_state()
    if kid != state.signing_key.kid:
        return Response("Not found", status=404, mimetype="text/plain")
    return Response(state.signing_key.public_pem(), mimetype="text/plain")
