"""The pages a person clicks through: a home page, spaces and pages that look like Confluence, the "•••"
menu with the app's web items (opening its dialog in a modal), the app's admin and space-tools pages in
iframes, *Manage apps*, and a user switcher.

Both of pagemail's apps appear side by side: the Connect app (descriptor modules, AP bridge: static/host.js) and
the Forge app (manifest modules rendering its Custom UI from Forge's CDN, Forge bridge: static/forge_host.js),
each installed from *Manage apps*.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from sandbox import installer
from sandbox.access import can_read, is_space_admin, readable_pages
from sandbox.content import with_base
from sandbox.control import module_context
from sandbox.directory import User
from sandbox.forge_cdn import cdn_origin
from sandbox.forge_host import FrameError, describe_frame
from sandbox.forge_modules import (
    CONTENT_ACTION,
    GLOBAL_SETTINGS,
    SPACE_SETTINGS,
    ForgeModule,
    build_problem,
    modules_of_kind,
)
from sandbox.forge_platform import ForgeError
from sandbox.modules import Module, find_module, modules_of, signed_module_url, web_items
from sandbox.state import SandboxState, current_state
from sandbox.ui_session import browsing_user, cookie_user, remember

PAGE_MENU_LOCATION = "system.content.action/secondary"

bp = Blueprint("ui", __name__)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""


def _friendly(timestamp: str) -> str:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).strftime("%b %d, %Y")
    except ValueError:
        return timestamp


def _render(template: str, state: SandboxState, status: int = 200, **context: Any) -> Response:
    user = browsing_user(state)
    installation = state.installation
    people = [person for person in state.directory.people() if person.roles] + [
        person for person in state.directory.people() if not person.roles
    ][:8]
    if user not in people:
        people.append(user)
    html = render_template(
        template,
        me=user,
        people=people,
        spaces=list(state.catalog.spaces.values()),
        installation=installation,
        app_origin=_origin(installation.app_base_url) if installation.active else "",
        is_site_admin=state.directory.is_site_admin(user.account_id),
        has_inbox="inbox" in current_app.blueprints,
        has_mail_providers="mail_provider_pages" in current_app.blueprints,
        public_url=state.config.public_url,
        forge_cdn_origin=cdn_origin(state.config.public_url),
        friendly=_friendly,
        **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    if cookie_user(state) is None:
        remember(response, user.account_id)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def root() -> Response:
    return redirect(url_for("ui.home"))


@bp.get("/wiki")
def wiki_root() -> Response:
    return redirect(url_for("ui.home"))


@bp.get("/wiki/")
def home() -> Response:
    state = current_state()
    user = browsing_user(state)
    by_space = {
        space.key: readable_pages(state.directory, state.catalog, user.account_id, space.key)
        for space in state.catalog.spaces.values()
    }
    return _render("wiki_home.html", state, by_space=by_space)


@bp.post("/wiki/_switch-user")
def switch_user() -> Response:
    state = current_state()
    account_id = request.form.get("accountId", "")
    user = state.directory.user(account_id)
    target = request.form.get("next") or url_for("ui.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("ui.home")
    response = redirect(target, code=303)
    if user is not None and user.account_type == "atlassian":
        remember(response, user.account_id)
    return response


@bp.get("/wiki/spaces/<space_key>")
@bp.get("/wiki/spaces/<space_key>/overview")
def space_home(space_key: str) -> Response:
    space = current_state().catalog.space(space_key)
    if space is None:
        abort(404)
    return redirect(url_for("ui.page_view", space_key=space.key, page_id=space.homepage_id))


@bp.get("/wiki/pages/viewpage.action")
def view_page_action() -> Response:
    page = current_state().catalog.page(request.args.get("pageId", ""))
    if page is None:
        abort(404)
    return redirect(url_for("ui.page_view", space_key=page.space_key, page_id=page.id))


def _menu_items(state: SandboxState, user: User) -> list[dict[str, Any]]:
    installation = state.installation
    if not installation.active:
        return []
    items = []
    for item in web_items(installation.descriptor, PAGE_MENU_LOCATION):
        target = find_module(installation.descriptor, item.key)
        width, height = target.size if target else ("600px", "450px")
        name = installation.translate(item.name_key, user.locale, item.name or item.key)
        title = installation.translate(target.name_key, user.locale, target.name) if target else ""
        items.append(
            {
                "key": item.key,
                "name": name,
                "width": width,
                "height": height,
                "chrome": target.chrome if target else True,
                "title": title or name,
            }
        )
    return items


def _forge_modules(state: SandboxState, kind: str) -> list[ForgeModule]:
    """The installed Forge app's Custom UI modules of one kind (none while it is not installed)."""
    forge = state.forge
    return modules_of_kind(forge.installation.manifest, kind) if forge.installation.installed else []


def _forge_frame(
    state: SandboxState, module_key: str, user: User, space_key: str = ""
) -> tuple[dict[str, Any] | None, str]:
    """(the frame to render, "") or (None, why there is none: not installed, no such module, no build)."""
    try:
        return describe_frame(state, module_key, user, space_key=space_key), ""
    except FrameError as exc:
        return None, exc.message


def _labels(state: SandboxState, user: User, modules: list[Module]) -> dict[str, str]:
    """Module names in the user's language, by module key."""
    installation = state.installation
    return {
        module.key: installation.translate(module.name_key, user.locale, module.name or module.key)
        for module in modules
    }


@bp.get("/wiki/spaces/<space_key>/pages/<page_id>")
@bp.get("/wiki/spaces/<space_key>/pages/<page_id>/<path:slug>")
def page_view(space_key: str, page_id: str, slug: str = "") -> Response:
    state = current_state()
    page = state.catalog.page(page_id)
    if page is None or page.space_key != space_key:
        return _render("wiki_missing.html", state, status=404)
    user = browsing_user(state)
    space = state.catalog.space(space_key)
    tree = readable_pages(state.directory, state.catalog, user.account_id, space_key)
    if not can_read(state.directory, page, user.account_id):
        return _render("wiki_restricted.html", state, status=403, space=space, tree=tree)
    return _render(
        "wiki_page.html",
        state,
        page=page,
        space=space,
        tree=tree,
        body=with_base(page.export_view, state.config.public_url),
        author=state.directory.user(page.created_by),
        editor=state.directory.user(page.updated_by),
        menu_items=_menu_items(state, user),
        forge_items=_forge_modules(state, CONTENT_ACTION),
    )


@bp.get("/wiki/people/<account_id>")
def person(account_id: str) -> Response:
    state = current_state()
    user = state.directory.user(account_id)
    if user is None:
        return _render("wiki_missing.html", state, status=404)
    groups = [group.name for group in state.directory.groups_of(user.account_id)]
    return _render("wiki_person.html", state, person=user, groups=groups)


def _frame(
    state: SandboxState, module: Module, user: User, content_id: str = "", space_key: str = ""
) -> dict[str, Any]:
    context = module_context(state, content_id, space_key)
    if isinstance(context, str):
        abort(404)
    url = signed_module_url(state.installation, module, user.account_id, context, state.config.public_url)
    return {"module": module, "url": url, "content_id": content_id, "space_key": space_key}


def _site_admin_only(state: SandboxState, user: User) -> Response | None:
    if state.directory.is_site_admin(user.account_id):
        return None
    return _render("wiki_forbidden.html", state, status=403, reason="Only site admins can open app settings.")


def _admin_entries(state: SandboxState, user: User) -> tuple[list[Module], dict[str, Any]]:
    """The Connect app's modules that may be opened, and what every Apps page shows: the Connect app's sidebar
    entries (with the labels of all its openable modules) and the Forge app's globalSettings pages."""
    installation = state.installation
    modules = modules_of(installation.descriptor) if installation.active else []
    # Like Confluence: adminPages are the sidebar's entries; the configurePage is no entry of its own, it is what
    # the app's *Configure* button in Manage apps opens (an app declaring both, as pagemail does, is listed once).
    sidebar = [module for module in modules if module.kind == "adminPages"]
    openable = sidebar + [module for module in modules if module.kind == "configurePage"]
    entries = {
        "admin_pages": sidebar,
        "labels": _labels(state, user, openable),
        "forge_pages": _forge_modules(state, GLOBAL_SETTINGS),
    }
    return openable, entries


@bp.get("/wiki/admin")
@bp.get("/wiki/admin/plugins/<module_key>")
def admin(module_key: str = "") -> Response:
    state = current_state()
    user = browsing_user(state)
    refused = _site_admin_only(state, user)
    if refused is not None:
        return refused
    openable, entries = _admin_entries(state, user)
    forge_pages = entries["forge_pages"]
    chosen = next((module for module in openable if module.key == module_key), openable[0] if openable else None)
    if chosen is None and forge_pages and not module_key:
        return redirect(url_for("ui.admin_forge", module_key=forge_pages[0].key))
    frame = _frame(state, chosen, user) if chosen else None
    return _render("wiki_admin.html", state, frame=frame, title="", **entries)


@bp.get("/wiki/admin/forge/<module_key>")
def admin_forge(module_key: str) -> Response:
    """Apps → the Forge app's globalSettings page: its Custom UI in an iframe."""
    state = current_state()
    user = browsing_user(state)
    refused = _site_admin_only(state, user)
    if refused is not None:
        return refused
    forge_frame, problem = _forge_frame(state, module_key, user)
    _openable, entries = _admin_entries(state, user)
    return _render(
        "wiki_admin.html",
        state,
        frame=None,
        forge_frame=forge_frame,
        forge_problem=problem,
        forge_key=module_key,
        title=forge_frame["title"] if forge_frame else "App settings",
        **entries,
    )


def _space_admin_only(state: SandboxState, space_key: str, user: User) -> Response | None:
    space = state.catalog.space(space_key)
    if space is None:
        return _render("wiki_missing.html", state, status=404)
    if not is_space_admin(space, user.account_id):
        return _render(
            "wiki_forbidden.html",
            state,
            status=403,
            reason=f"Only admins of the {space.name} space can change its settings.",
        )
    return None


def _space_tools_entries(state: SandboxState, space_key: str, user: User) -> dict[str, Any]:
    """What every Integrations page of a space shows: the space, the Connect app's tabs (and their labels) and the
    Forge app's spaceSettings pages."""
    installation = state.installation
    modules = modules_of(installation.descriptor) if installation.active else []
    tabs = [module for module in modules if module.kind == "spaceToolsTabs"]
    return {
        "space": state.catalog.space(space_key),
        "tabs": tabs,
        "labels": _labels(state, user, tabs),
        "forge_tabs": _forge_modules(state, SPACE_SETTINGS),
    }


@bp.get("/wiki/spaces/<space_key>/settings/integrations")
@bp.get("/wiki/spaces/<space_key>/settings/integrations/<module_key>")
def space_tools(space_key: str, module_key: str = "") -> Response:
    state = current_state()
    user = browsing_user(state)
    refused = _space_admin_only(state, space_key, user)
    if refused is not None:
        return refused
    entries = _space_tools_entries(state, space_key, user)
    tabs, forge_tabs = entries["tabs"], entries["forge_tabs"]
    chosen = next((module for module in tabs if module.key == module_key), tabs[0] if tabs else None)
    if chosen is None and forge_tabs and not module_key:
        return redirect(url_for("ui.space_tools_forge", space_key=space_key, module_key=forge_tabs[0].key))
    frame = _frame(state, chosen, user, space_key=space_key) if chosen else None
    return _render("wiki_space_tools.html", state, frame=frame, **entries)


@bp.get("/wiki/spaces/<space_key>/settings/integrations/forge/<module_key>")
def space_tools_forge(space_key: str, module_key: str) -> Response:
    """Space settings → Integrations → the Forge app's spaceSettings page: its Custom UI in an iframe."""
    state = current_state()
    user = browsing_user(state)
    refused = _space_admin_only(state, space_key, user)
    if refused is not None:
        return refused
    forge_frame, problem = _forge_frame(state, module_key, user, space_key=space_key)
    return _render(
        "wiki_space_tools.html",
        state,
        frame=None,
        forge_frame=forge_frame,
        forge_problem=problem,
        forge_key=module_key,
        **_space_tools_entries(state, space_key, user),
    )


@bp.get("/wiki/plugins/servlet/upm")
def manage_apps() -> Response:
    state = current_state()
    installation = state.installation
    configure = next((module for module in modules_of(installation.descriptor) if module.kind == "configurePage"), None)
    forge = state.forge
    return _render(
        "wiki_upm.html",
        state,
        configure=configure if installation.active else None,
        default_descriptor=state.installation.descriptor_url,
        key_url=f"{state.config.public_url}/connect-keys/{state.signing_key.kid}",
        message=request.args.get("message", ""),
        forge=forge,
        forge_facts=forge.facts(),
        forge_pages=_forge_modules(state, GLOBAL_SETTINGS),
        forge_hint=build_problem(forge.manifest_path, forge.installation.manifest),
    )


@bp.post("/wiki/plugins/servlet/upm/<action>")
def manage_apps_action(action: str) -> Response:
    state = current_state()
    if not state.directory.is_site_admin(browsing_user(state).account_id):
        return _render("wiki_forbidden.html", state, status=403, reason="Only site admins can manage apps.")
    if action == "install":
        result = installer.install(state, request.form.get("descriptorUrl", "").strip() or None)
    elif action == "uninstall":
        result = installer.uninstall(state)
    elif action in ("enable", "disable"):
        result = installer.set_enabled(state, action == "enable")
    else:
        abort(404)
    message = result.get("error") or f"{action.capitalize()}: done"
    return redirect(url_for("ui.manage_apps", message=message), code=303)


@bp.post("/wiki/plugins/servlet/upm/forge/<action>")
def manage_forge_app(action: str) -> Response:
    """*Install Forge app* (again: an upgrade) and *Uninstall*: the lifecycle events go to the app's remote."""
    state = current_state()
    if not state.directory.is_site_admin(browsing_user(state).account_id):
        return _render("wiki_forbidden.html", state, status=403, reason="Only site admins can manage apps.")
    try:
        if action == "install":
            result = state.forge.install()
        elif action == "uninstall":
            result = state.forge.uninstall()
        else:
            abort(404)
    except ForgeError as exc:
        return redirect(url_for("ui.manage_apps", message=f"Forge app: {exc}"), code=303)
    answer = result.get("answer") or {}
    if result.get("error"):
        message = f"Forge app: {result['error']}"
    elif answer.get("status") is None or not 200 <= int(answer["status"]) < 300:
        told = answer.get("error") or f"HTTP {answer.get('status')}"
        message = f"Forge app: {action} sent {answer.get('event')}, the remote answered {told}"
    else:
        message = f"Forge app: {action}: done ({answer.get('event')} answered HTTP {answer['status']})"
    return redirect(url_for("ui.manage_apps", message=message), code=303)
