"""The iframe modules Confluence opens (send dialog, admin page, space tools tab), module-token authenticated.

Their pages are static shells (the dialog fetches everything through the API), with a few request values in
attributes. Each shell is rendered once per template, language and mount point; a request only puts its escaped
values into the placeholders, which keeps template rendering off the path of every dialog load.

Opening a module is the most frequent request there is (every dialog open), so it has a fast path in front of Flask
(`ModulePageFastPath`): a GET of a module URL whose token checks out against the tenant cache, whose shell is
already rendered and whose values are plain ASCII is answered directly, with the same body and headers the view
gives. Anything else (a cache miss, any refusal, an unusual value) goes to Flask untouched, which decides and answers
as always; so the fast path can only ever answer what the view would have answered 200.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, render_template, request
from markupsafe import escape

from connect.auth import cached_module_tenant, module_token_required
from connect.qsh import parse_query
from logs import write_request_line
from views.security import HEADERS

bp = Blueprint("modules", __name__)

PLACEHOLDER = "pagemail-placeholder-{}-b2f7"
VALUES = ("content_id", "space_key")
SHELLS = "pagemail.module_shells"


def locale_of(requested: str) -> str:
    """The language of the page shell; the page itself switches to the user's Confluence locale from AP."""
    return "de-DE" if requested.lower().startswith("de") else "en"


def page_locale() -> str:
    return locale_of(request.args.get("loc") or request.args.get("user_locale") or "en")


def _shell(template: str, locale: str, script_root: str, all_js_url: str) -> list[str]:
    """The rendered page cut at its placeholders: [text, value name, text, value name, ..., text]."""
    shells: dict[tuple[str, str, str, str], list[str]] = current_app.extensions.setdefault(SHELLS, {})
    key = (template, locale, script_root, all_js_url)
    parts = shells.get(key)
    if parts is None:
        placeholders = {name: PLACEHOLDER.format(name) for name in VALUES}
        html = render_template(template, all_js_url=all_js_url, locale=locale, **placeholders)
        pattern = "(" + "|".join(re.escape(p) for p in placeholders.values()) + ")"
        names = {PLACEHOLDER.format(name): name for name in VALUES}
        parts = [names.get(piece, piece) if i % 2 else piece for i, piece in enumerate(re.split(pattern, html))]
        if len(shells) < 64:  # a handful of templates x languages x mount points
            shells[key] = parts
    return parts


def fill(parts: list[str], values: dict[str, str]) -> str:
    return "".join(str(escape(values.get(piece, ""))) if i % 2 else piece for i, piece in enumerate(parts))


def _page(template: str, **values: str) -> str:
    parts = _shell(template, page_locale(), request.script_root, current_app.config["CONNECT_ALL_JS_URL"])
    return fill(parts, values)


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


# ---------------------------------------------------------------------------------------------- fast path


@dataclass(frozen=True)
class Module:
    endpoint: str
    template: str
    values: dict[str, str]  # placeholder name -> query parameter


MODULES = {
    "/dialog/send": Module("modules.send_dialog", "dialog.html", {"content_id": "contentId", "space_key": "spaceKey"}),
    "/admin/settings": Module("modules.admin_settings", "admin.html", {}),
    "/space/settings": Module("modules.space_settings", "space.html", {"space_key": "spaceKey"}),
}
# Decoded values of plain ASCII characters are the same whoever decodes them; anything else (a space, non-ASCII,
# an invalid escape, &, <, >, a double quote) is left to Flask's own decoding.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.~:,@!$'()*/;-]*")

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class ModulePageFastPath:
    """WSGI middleware in front of Flask for module page loads that need nothing but the caches (see above)."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.base_path = urlsplit(app.config["BASE_URL"]).path
        self.all_js_url = app.config["CONNECT_ALL_JS_URL"]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        module = MODULES.get(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "GET" else None
        body = None
        if module is not None:
            try:
                body = self.page(environ, module, started)
            except Exception:  # anything unusual is answered by Flask, with its error handling
                body = None
        if body is None:
            return self.wsgi_app(environ, start_response)
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
        headers.extend(self.app.extensions[HEADERS])
        start_response("200 OK", headers)
        return [body]

    def page(self, environ: dict[str, Any], module: Module, started: float) -> bytes | None:
        script_root = environ.get("SCRIPT_NAME", "").rstrip("/")
        if not script_root.isascii():
            return None
        params = parse_query(environ.get("QUERY_STRING", ""))
        first: dict[str, str] = {}
        for name, value in params:
            first.setdefault(name, value)
        token = first.get("jwt")
        if not token:
            return None  # a token in the Authorization header: the full check reads it
        values = {}
        for placeholder, parameter in module.values.items():
            value = first.get(parameter, "")
            if not _PLAIN_VALUE.fullmatch(value):
                return None
            values[placeholder] = value
        locale = locale_of(first.get("loc") or first.get("user_locale") or "en")
        parts = self.app.extensions.get(SHELLS, {}).get((module.template, locale, script_root, self.all_js_url))
        if parts is None:
            return None  # rendered by the view on its first request
        path = script_root + environ["PATH_INFO"]
        tenant = cached_module_tenant(self.app, token, path, params, self.base_path)
        if tenant is None:
            return None
        write_request_line(environ, "GET", module.endpoint, 200, tenant_id=tenant.ref.id, started=started)
        return fill(parts, values).encode("utf-8")
