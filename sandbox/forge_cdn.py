"""Forge's CDN for Custom UI: the built resources of the installed Forge app, served from an origin of their own.

Forge hosts a Custom UI resource on its CDN, not on the site, so the iframe is cross-origin to the page around it;
here the CDN is the sandbox under its other loopback name (`localhost` ↔ `127.0.0.1`, as the media host is). Each
index.html gets the platform's bridge script first in its <head> (the iframe side of `window.__bridge`, which
@forge/bridge needs before any of its own code runs), and every answer a Content-Security-Policy made from the
manifest's `permissions`: scripts and styles only from files unless `permissions.content` allows inline ones,
images from the resource, data: and blob: URLs and the manifest's `external.images`.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, request, send_from_directory
from markupsafe import escape

from sandbox.forge_modules import resource_dir
from sandbox.forge_platform import Manifest
from sandbox.media import other_host_url
from sandbox.state import current_state

RESOURCES_PATH = "/forge-cdn/resources"
BRIDGE_PATH = "/forge-cdn/bridge.js"
STATIC_DIR = Path(__file__).resolve().parent / "static"
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)

bp = Blueprint("forge_cdn", __name__)


def cdn_origin(public_url: str) -> str:
    return other_host_url(public_url)


def resource_url(public_url: str, resource: str) -> str:
    return f"{cdn_origin(public_url)}{RESOURCES_PATH}/{resource}/index.html"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(manifest: Manifest, site_origin: str) -> str:
    permissions = manifest.raw.get("permissions") or {}
    content = permissions.get("content") or {}
    external = permissions.get("external") or {}
    scripts = ["'self'", *(f"'{value}'" for value in content.get("scripts") or [] if isinstance(value, str))]
    styles = ["'self'", *(["'unsafe-inline'"] if "unsafe-inline" in (content.get("styles") or []) else [])]
    images = ["'self'", "data:", "blob:"]
    for entry in external.get("images") or []:
        address = entry.get("address") if isinstance(entry, dict) else entry
        if isinstance(address, str) and address:
            images.append(address)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src " + " ".join(scripts),
            "style-src " + " ".join(styles),
            "img-src " + " ".join(images),
            "object-src 'none'",
            "base-uri 'self'",
            f"frame-ancestors {site_origin}",
        ]
    )


def with_bridge(html: str, site_origin: str) -> str:
    """index.html with the platform's bridge script as the first thing its <head> runs."""
    tag = f'<script src="{BRIDGE_PATH}" data-host-origin="{escape(site_origin)}"></script>'
    match = _HEAD.search(html)
    if match is None:
        return tag + html
    return html[: match.end()] + tag + html[match.end() :]


def _on_cdn() -> bool:
    state = current_state()
    return _origin(request.host_url) == cdn_origin(state.config.public_url)


@bp.get(BRIDGE_PATH)
def bridge() -> Response:
    if not _on_cdn():
        abort(404)
    response = send_from_directory(STATIC_DIR, "forge_bridge.js", mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get(f"{RESOURCES_PATH}/<resource>/")
@bp.get(f"{RESOURCES_PATH}/<resource>/<path:filename>")
def resource_file(resource: str, filename: str = "index.html") -> Response:
    state = current_state()
    forge = state.forge
    manifest = forge.installation.manifest
    if not _on_cdn() or not forge.installation.installed or manifest is None:
        abort(404)
    folder = resource_dir(manifest, forge.manifest_path, resource)
    if folder is None or not folder.is_dir():
        abort(404)
    site_origin = _origin(state.config.public_url)
    if filename == "index.html":
        index = folder / "index.html"
        if not index.is_file():
            abort(404)
        response = Response(with_bridge(index.read_text(encoding="utf-8"), site_origin), mimetype="text/html")
    else:
        response = send_from_directory(folder, filename)
    response.headers["Content-Security-Policy"] = content_security_policy(manifest, site_origin)
    response.headers["Cache-Control"] = "no-cache"
    return response
