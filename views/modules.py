"""The iframe modules Confluence opens (send dialog, admin page, space tools tab), module-token authenticated."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from connect.auth import current_identity, module_token_required

bp = Blueprint("modules", __name__)


def _page(template: str, **context: object) -> str:
    identity = current_identity()
    return render_template(
        template,
        all_js_url=current_app.config["CONNECT_ALL_JS_URL"],
        locale=(request.args.get("loc") or request.args.get("user_locale") or "en").replace("_", "-"),
        account_id=identity.account_id,
        **context,
    )


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
