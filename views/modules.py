"""The iframe modules Confluence opens (send dialog, admin page, space tools tab), module-token authenticated.

Their pages are static shells (the dialog fetches everything through the API), with a few request values in
attributes. Each shell is rendered once per template, language and mount point; a request only puts its escaped
values into the placeholders, which keeps template rendering off the path of every dialog load.
"""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, render_template, request
from markupsafe import escape

from connect.auth import module_token_required

bp = Blueprint("modules", __name__)

PLACEHOLDER = "pagemail-placeholder-{}-b2f7"
VALUES = ("content_id", "space_key")


def page_locale() -> str:
    """The language of the page shell; the page itself switches to the user's Confluence locale from AP."""
    requested = (request.args.get("loc") or request.args.get("user_locale") or "en").lower()
    return "de-DE" if requested.startswith("de") else "en"


@functools.lru_cache(maxsize=64)
def _shell(template: str, locale: str, script_root: str, all_js_url: str) -> str:
    placeholders = {name: PLACEHOLDER.format(name) for name in VALUES}
    return render_template(template, all_js_url=all_js_url, locale=locale, **placeholders)


def _page(template: str, **values: str) -> str:
    html = _shell(template, page_locale(), request.script_root, current_app.config["CONNECT_ALL_JS_URL"])
    for name in VALUES:
        html = html.replace(PLACEHOLDER.format(name), str(escape(values.get(name, ""))))
    return html


@bp.get("/dialog/send")
@module_token_required
def send_dialog() -> str:
    return _page(
        "dialog.html", content_id=request.args.get("contentId", ""), space_key=request.args.get("spaceKey", "")
    )


@bp.get("/admin/settings")
@module_token_required
def admin_settings() -> str:
    return _page("admin.html")


@bp.get("/space/settings")
@module_token_required
def space_settings() -> str:
    return _page("space.html", space_key=request.args.get("spaceKey", ""))
