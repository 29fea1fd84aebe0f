"""The app's UI modules from its descriptor, and iframe URLs signed the way Confluence signs them.

An iframe URL is the module's `url` below the app's baseUrl with context variables filled in
(`{content.id}`, `{space.key}`, …), plus the parameters Connect adds (`xdm_e`, `xdm_c`, `cp`,
`xdm_deprecated_addon_key_do_not_use`, `lic`, `cv`) and `jwt`: HS256 with the shared secret, `iss` =
clientKey, `sub` = the user's accountId, `qsh` over GET + path relative to the app's baseUrl + the
canonical query, `iat`, `exp` (+180 s) and an empty `context`.

Context tokens (what `AP.context.getToken()` hands the iframe) carry `qsh` = "context-qsh", `aud` = the
app key, a 15-minute lifetime and the page/space context.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import jwt

from sandbox.installation import Installation
from sandbox.qsh import CONTEXT_QSH, canonical_request, qsh_of

CONNECT_VERSION = "1000.0.0-5cf8b5b0f1a6"
MODULE_TOKEN_LIFETIME = 180
CONTEXT_TOKEN_LIFETIME = 900
DIALOG_SIZES = {
    "small": ("400px", "300px"),
    "medium": ("600px", "450px"),
    "large": ("810px", "600px"),
    "x-large": ("980px", "700px"),
    "fullscreen": ("100%", "100%"),
    "maximum": ("100%", "100%"),
}
_MODULE_KINDS = ("dialogs", "adminPages", "configurePage", "spaceToolsTabs", "generalPages", "webItems")
_VARIABLE = re.compile(r"\{([A-Za-z0-9_.]+)\}")


@dataclass(frozen=True)
class Module:
    kind: str
    key: str
    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    location: str = ""
    target_key: str | None = None  # webItems opening a dialog module
    name_key: str | None = None  # the name's i18n key (the descriptor's translation files)

    @property
    def size(self) -> tuple[str, str]:
        """Width and height for a dialog (explicit width/height win over the named size)."""
        default = DIALOG_SIZES.get(str(self.options.get("size", "medium")), DIALOG_SIZES["medium"])
        return str(self.options.get("width") or default[0]), str(self.options.get("height") or default[1])

    @property
    def chrome(self) -> bool:
        return bool(self.options.get("chrome", True))


@dataclass(frozen=True)
class ModuleContext:
    """What the iframe is about: a page (and its space), or only a space, or nothing."""

    content_id: str = ""
    content_type: str = ""
    content_version: str = ""
    space_key: str = ""
    space_id: str = ""

    def variables(self, account_id: str) -> dict[str, str]:
        return {
            "content.id": self.content_id,
            "content.type": self.content_type,
            "content.version": self.content_version,
            "content.plugin": "",
            "page.id": self.content_id if self.content_type == "page" else "",
            "page.type": self.content_type,
            "page.version": self.content_version,
            "space.key": self.space_key,
            "space.id": self.space_id,
            "user.accountId": account_id,
            "user.isExternalCollaborator": "false",
        }

    def claim(self, display_url: str) -> dict[str, Any]:
        """The `context` claim of a context token."""
        confluence: dict[str, Any] = {}
        if self.content_id:
            confluence["content"] = {
                "id": self.content_id,
                "type": self.content_type or "page",
                "version": self.content_version,
            }
        if self.space_key:
            confluence["space"] = {"id": self.space_id, "key": self.space_key}
        return {"confluence": confluence, "license": {"active": False}, "url": {"displayUrl": display_url}}


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("value", ""))
    return str(value or "")


def _i18n_key(value: Any) -> str | None:
    return str(value["i18n"]) if isinstance(value, dict) and value.get("i18n") else None


def modules_of(descriptor: dict[str, Any] | None) -> list[Module]:
    found: list[Module] = []
    declared = (descriptor or {}).get("modules") or {}
    for kind in _MODULE_KINDS:
        entries = declared.get(kind) or []
        if isinstance(entries, dict):
            entries = [entries]  # configurePage is a single module
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("key"):
                continue
            target = entry.get("target") or {}
            target_key = None
            if str(target.get("type", "")).lower() == "dialogmodule":
                target_key = str((target.get("options") or {}).get("key") or "") or None
            options = target.get("options") if kind == "webItems" else entry.get("options")
            found.append(
                Module(
                    kind,
                    str(entry["key"]),
                    _text(entry.get("name")),
                    str(entry.get("url") or ""),
                    dict(options or {}),
                    str(entry.get("location") or ""),
                    target_key,
                    _i18n_key(entry.get("name")),
                )
            )
    return found


def find_module(descriptor: dict[str, Any] | None, key: str) -> Module | None:
    """The module with this key; a webItem that opens a dialog resolves to that dialog."""
    modules = modules_of(descriptor)
    module = next((item for item in modules if item.key == key and item.kind != "webItems"), None)
    if module is not None:
        return module
    item = next((item for item in modules if item.key == key), None)
    if item is not None and item.target_key:
        return next((dialog for dialog in modules if dialog.kind == "dialogs" and dialog.key == item.target_key), None)
    return item


def web_items(descriptor: dict[str, Any] | None, location: str) -> list[Module]:
    return [item for item in modules_of(descriptor) if item.kind == "webItems" and item.location == location]


def fill_url(template: str, variables: dict[str, str]) -> str:
    """Substitute `{variable}`s, URL-encoded; unknown variables become empty, as in Connect."""
    return _VARIABLE.sub(lambda match: quote(variables.get(match.group(1), ""), safe=""), template)


def signed_module_url(
    installation: Installation,
    module: Module,
    account_id: str,
    context: ModuleContext,
    host_origin: str,
    now: float | None = None,
) -> str:
    """The iframe URL Confluence would load for `account_id` in `context`."""
    base = installation.app_base_url
    relative = fill_url(module.url or "/", context.variables(account_id))
    if not urlsplit(relative).scheme:
        relative = base + (relative if relative.startswith("/") else "/" + relative)
    target = urlsplit(relative)
    params = parse_qsl(target.query, keep_blank_values=True)
    params += [
        ("xdm_e", host_origin),
        ("xdm_c", f"channel-{installation.app_key}__{module.key}"),
        ("cp", "/wiki"),
        ("xdm_deprecated_addon_key_do_not_use", installation.app_key),
        ("lic", "none"),
        ("cv", CONNECT_VERSION),
    ]
    query = urlencode(params, quote_via=quote)
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": installation.client_key,
        "sub": account_id,
        "qsh": qsh_of(canonical_request("GET", target.path, query, urlsplit(base).path)),
        "iat": issued,
        "exp": issued + MODULE_TOKEN_LIFETIME,
        "context": {},
    }
    token = jwt.encode(claims, installation.shared_secret, algorithm="HS256")
    return urlunsplit((target.scheme, target.netloc, target.path, f"{query}&jwt={token}", ""))


def context_token(
    installation: Installation, account_id: str, context: ModuleContext, display_url: str, now: float | None = None
) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": installation.client_key,
        "sub": account_id,
        "aud": installation.app_key,
        "qsh": CONTEXT_QSH,
        "iat": issued,
        "exp": issued + CONTEXT_TOKEN_LIFETIME,
        "context": context.claim(display_url),
    }
    return jwt.encode(claims, installation.shared_secret, algorithm="HS256")
