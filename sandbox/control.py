"""The control API for tests and scripts (`/_sandbox/...`, JSON, no authentication: local work only).

install / uninstall / enable / disable the app; signed module URLs and context tokens for any user;
the users and pages to pick test data from; injected faults; the request log; pre-generating files.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox import installer
from sandbox.access import can_read
from sandbox.modules import ModuleContext, context_token, find_module, signed_module_url
from sandbox.state import SandboxState, current_state

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _result(result: dict[str, Any]) -> Response:
    response = jsonify(result)
    response.status_code = 502 if result.get("error") else 200
    return response


def module_context(state: SandboxState, content_id: str, space_key: str) -> ModuleContext | str:
    """The iframe context for a page and/or space, or an error message."""
    if content_id:
        page = state.catalog.page(content_id)
        if page is None:
            return f"no page with id {content_id}"
        space = state.catalog.space(page.space_key)
        return ModuleContext(page.id, "page", str(page.version), page.space_key, str(space.id) if space else "")
    if space_key:
        space = state.catalog.space(space_key)
        if space is None:
            return f"no space with key {space_key}"
        return ModuleContext(space_key=space.key, space_id=str(space.id))
    return ModuleContext()


@bp.get("/")
def index() -> Response:
    return jsonify(
        {
            "endpoints": [
                "POST /_sandbox/install {descriptorUrl?}",
                "POST /_sandbox/uninstall",
                "POST /_sandbox/enable",
                "POST /_sandbox/disable",
                "GET /_sandbox/installation",
                "GET /_sandbox/module-url?module=&user=&contentId=&spaceKey=",
                "GET /_sandbox/context-token?user=&contentId=&spaceKey=",
                "GET /_sandbox/users",
                "GET /_sandbox/pages",
                "GET|POST|DELETE /_sandbox/faults",
                "GET|DELETE /_sandbox/requests",
                "POST /_sandbox/warm {pageId?}",
                "GET /_sandbox/mail-providers",
                "POST|DELETE /_sandbox/mail-providers/trouble {trouble?, tokenLifetime?, revokeTokens?}",
            ],
        }
    )


@bp.post("/install")
def install() -> Response:
    payload = request.get_json(silent=True) or {}
    url = payload.get("descriptorUrl") if isinstance(payload, dict) else None
    if url is not None and not isinstance(url, str):
        return _error(400, "descriptorUrl must be a string")
    return _result(installer.install(current_state(), url or None))


@bp.post("/uninstall")
def uninstall() -> Response:
    return _result(installer.uninstall(current_state()))


@bp.post("/enable")
def enable() -> Response:
    return _result(installer.set_enabled(current_state(), True))


@bp.post("/disable")
def disable() -> Response:
    return _result(installer.set_enabled(current_state(), False))


@bp.get("/installation")
def installation() -> Response:
    state = current_state()
    record = state.installation
    answer = record.last_answer
    return jsonify(
        {
            "installed": record.installed,
            "enabled": record.enabled,
            "appKey": record.app_key,
            "appBaseUrl": record.app_base_url,
            "descriptorUrl": record.descriptor_url,
            "clientKey": record.client_key,
            "oauthClientId": record.oauth_client_id,
            "cloudId": record.cloud_id,
            "baseUrl": state.config.tenant_base_url,
            "keyId": state.signing_key.kid,
            "lastAnswer": None
            if answer is None
            else {"event": answer.event, "status": answer.status, "body": answer.body[:200], "error": answer.error},
        }
    )


def _user_and_context() -> tuple[str, ModuleContext] | Response:
    state = current_state()
    account_id = request.args.get("user", "")
    if state.directory.user(account_id) is None:
        return _error(404, "user must be the accountId of a sandbox user")
    context = module_context(state, request.args.get("contentId", ""), request.args.get("spaceKey", ""))
    if isinstance(context, str):
        return _error(404, context)
    return account_id, context


@bp.get("/module-url")
def module_url() -> Response:
    """A signed iframe URL. It is signed even for a page the user can't read: the app must check itself."""
    state = current_state()
    record = state.installation
    if not record.active:
        return _error(409, "the app is not installed and enabled")
    module = find_module(record.descriptor, request.args.get("module", ""))
    if module is None:
        return _error(404, "no such module in the app's descriptor")
    found = _user_and_context()
    if isinstance(found, Response):
        return found
    account_id, context = found
    width, height = module.size
    url = signed_module_url(record, module, account_id, context, state.config.public_url)
    title = record.translate(module.name_key, state.directory.users[account_id].locale, module.name)
    return jsonify(
        {
            "url": url,
            "module": module.key,
            "kind": module.kind,
            "title": title,
            "width": width,
            "height": height,
            "chrome": module.chrome,
        }
    )


@bp.get("/context-token")
def context_token_for() -> Response:
    state = current_state()
    record = state.installation
    if not record.active:
        return _error(409, "the app is not installed and enabled")
    found = _user_and_context()
    if isinstance(found, Response):
        return found
    account_id, context = found
    token = context_token(record, account_id, context, state.config.tenant_base_url)
    return jsonify({"token": token, "context": context.claim(state.config.tenant_base_url)})


@bp.get("/users")
def users() -> Response:
    state = current_state()
    listing = []
    for user in state.directory.users.values():
        groups = [group.name for group in state.directory.groups_of(user.account_id)]
        listing.append(
            {
                "accountId": user.account_id,
                "displayName": user.display_name,
                "accountType": user.account_type,
                "email": user.email,
                "emailVisible": user.email_visible,
                "locale": user.locale,
                "groups": groups,
                "siteAdmin": state.directory.is_site_admin(user.account_id),
                "spaceAdminOf": [
                    space.key for space in state.catalog.spaces.values() if user.account_id in space.admins
                ],
                "roles": list(user.roles),
            }
        )
    group_listing = [
        {"id": group.id, "name": group.name, "members": len(state.directory.members.get(group.id, []))}
        for group in state.directory.all_groups()
    ]
    return jsonify({"users": listing, "groups": group_listing})


@bp.get("/pages")
def pages() -> Response:
    state = current_state()
    listing = []
    for page in sorted(state.catalog.pages.values(), key=lambda item: item.position):
        listing.append(
            {
                "id": page.id,
                "title": page.title,
                "spaceKey": page.space_key,
                "version": page.version,
                "tags": list(page.tags),
                "restricted": page.restricted,
                "readGroups": list(page.read_groups),
                "readUsers": list(page.read_users),
                "readableBy": [
                    account_id for account_id in state.directory.users if can_read(state.directory, page, account_id)
                ]
                if page.restricted
                else "everyone",
                "hasExcerpt": 'ac:name="excerpt"' in page.storage,
                "attachments": [
                    {
                        "id": item.rest_id,
                        "title": item.title,
                        "mediaType": item.media_type,
                        "isImage": item.blob.is_image,
                    }
                    for item in page.attachments
                ],
                "webui": f"{state.config.tenant_base_url}{page.webui_path()}",
            }
        )
    return jsonify(
        {
            "pages": listing,
            "spaces": [
                {
                    "key": space.key,
                    "id": space.id,
                    "name": space.name,
                    "admins": list(space.admins),
                    "homepageId": space.homepage_id,
                }
                for space in state.catalog.spaces.values()
            ],
        }
    )


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    state = current_state()
    if request.method == "POST":
        try:
            state.faults.replace(request.get_json(silent=True))
        except ValueError as exc:
            return _error(400, str(exc))
    elif request.method == "DELETE":
        state.faults.reset()
    return jsonify(state.faults.to_json())


@bp.route("/requests", methods=["GET", "DELETE"])
def requests_log() -> Response:
    state = current_state()
    if request.method == "DELETE":
        state.requests.clear()
        return jsonify({"requests": []})
    return jsonify({"requests": state.requests.entries()})


@bp.post("/warm")
def warm() -> Response:
    """Generate (and cache) attachment files now, so a benchmark doesn't time their first generation."""
    state = current_state()
    payload = request.get_json(silent=True) or {}
    page_id = payload.get("pageId") if isinstance(payload, dict) else None
    pages = [state.catalog.page(str(page_id))] if page_id else list(state.catalog.pages.values())
    if any(page is None for page in pages):
        return _error(404, "no such page")
    sizes = [item.size for page in pages if page for item in page.attachments]
    return jsonify({"attachments": len(sizes), "bytes": sum(sizes)})


@bp.get("/mail-providers")
def mail_providers() -> Response:
    """The demo Microsoft 365 and Google Workspace credentials, the trouble switched on, and the servers."""
    state = current_state()
    answer = state.providers.demo(state.config.tls_url)
    answer["smtp"] = {
        "host": "localhost",
        "port": state.provider_catcher.port if state.provider_catcher else None,
        "caFile": state.tls_files[0] if state.tls_files else None,
    }
    return jsonify(answer)


@bp.route("/mail-providers/trouble", methods=["POST", "DELETE"])
def mail_provider_trouble() -> Response:
    state = current_state()
    if request.method == "DELETE":
        state.providers.reset()
    else:
        try:
            state.providers.configure(request.get_json(silent=True))
        except ValueError as exc:
            return _error(400, str(exc))
    return jsonify({"troubles": sorted(state.providers.troubles), "tokenLifetime": state.providers.token_lifetime})
