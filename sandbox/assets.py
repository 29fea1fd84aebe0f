"""Files the site serves besides its pages: the AP client script apps load, emoticons and icons, avatars."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

from sandbox.blobs import icon_png

STATIC_DIR = Path(__file__).resolve().parent / "static"

bp = Blueprint("assets", __name__)


@bp.get("/atlassian-connect/all.js")
def all_js() -> Response:
    response = send_from_directory(STATIC_DIR, "all.js", mimetype="application/javascript")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/wiki/images/icons/<path:name>")
def icon(name: str) -> Response:
    size = 72 if name.startswith("emoticons/72/") else 16
    return Response(icon_png(name, size), mimetype="image/png", headers={"Cache-Control": "max-age=3600"})


@bp.get("/wiki/aa-avatar/<account_id>")
def avatar(account_id: str) -> Response:
    picture = icon_png(f"avatar:{account_id}", 48)
    return Response(picture, mimetype="image/png", headers={"Cache-Control": "max-age=3600"})
