"""The Forge app's UI as the site shows it, read from its manifest: which Custom UI module goes where (the page's
"•••" menu, Apps, Space settings), which resource each one renders, and where that resource's files are.

A resource's `path` is relative to the manifest's folder, as `forge deploy` uploads it (forge/ui/dist/<page>); the
files are the Custom UI build (`cd forge && npm ci && npm run build`), so a missing build is told, not guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.forge_platform import ForgeError, Manifest, read_manifest

CONTENT_ACTION = "confluence:contentAction"
GLOBAL_SETTINGS = "confluence:globalSettings"
SPACE_SETTINGS = "confluence:spaceSettings"
UI_MODULE_TYPES = (CONTENT_ACTION, GLOBAL_SETTINGS, SPACE_SETTINGS)
# The modal a contentAction opens, by its viewportSize (Forge's widths; the height is the sandbox's).
VIEWPORT_SIZES = {
    "small": ("400px", "420px"),
    "medium": ("600px", "560px"),
    "large": ("800px", "680px"),
    "xlarge": ("968px", "720px"),
    "max": ("100%", "100%"),
}
BUILD_COMMAND = "cd forge && npm ci && npm run build"


@dataclass(frozen=True)
class ForgeModule:
    kind: str  # one of UI_MODULE_TYPES
    key: str
    title: str
    resource: str  # the key of a `resources` entry
    viewport_size: str = "medium"

    @property
    def size(self) -> tuple[str, str]:
        return VIEWPORT_SIZES.get(self.viewport_size, VIEWPORT_SIZES["medium"])


def _title(value: Any) -> str:
    # A title may be a plain string or an i18n object ({i18n: key}); the sandbox shows plain ones (pagemail's are).
    if isinstance(value, dict):
        return str(value.get("i18n") or "")
    return str(value or "")


def ui_modules(manifest: Manifest | None) -> list[ForgeModule]:
    """The Custom UI modules the site shows, in the manifest's order."""
    if manifest is None:
        return []
    declared = manifest.raw.get("modules") or {}
    found: list[ForgeModule] = []
    for kind in UI_MODULE_TYPES:
        for entry in declared.get(kind) or []:
            if not isinstance(entry, dict) or not entry.get("key") or not entry.get("resource"):
                continue
            found.append(
                ForgeModule(
                    kind=kind,
                    key=str(entry["key"]),
                    title=_title(entry.get("title")) or str(entry["key"]),
                    resource=str(entry["resource"]),
                    viewport_size=str(entry.get("viewportSize") or "medium"),
                )
            )
    return found


def modules_of_kind(manifest: Manifest | None, kind: str) -> list[ForgeModule]:
    return [module for module in ui_modules(manifest) if module.kind == kind]


def find_ui_module(manifest: Manifest | None, key: str) -> ForgeModule | None:
    return next((module for module in ui_modules(manifest) if module.key == key), None)


@dataclass(frozen=True)
class RemoteEndpoint:
    """Where a module's invokeRemote goes (the remote's baseUrl) and which OAuth tokens Forge sends along."""

    base_url: str
    user_token: bool
    system_token: bool


def remote_endpoint(manifest: Manifest | None, module_key: str) -> RemoteEndpoint | None:
    """The endpoint the module's `resolver.endpoint` names, with its remote; None when there is none."""
    if manifest is None:
        return None
    modules = manifest.raw.get("modules") or {}
    entry = next(
        (
            item
            for kind in UI_MODULE_TYPES
            for item in modules.get(kind) or []
            if isinstance(item, dict) and str(item.get("key")) == module_key
        ),
        None,
    )
    endpoint_key = str(((entry or {}).get("resolver") or {}).get("endpoint") or "")
    endpoint = next(
        (item for item in modules.get("endpoint") or [] if isinstance(item, dict) and item.get("key") == endpoint_key),
        None,
    )
    remotes = [item for item in manifest.raw.get("remotes") or [] if isinstance(item, dict)]
    remote = next((item for item in remotes if endpoint and item.get("key") == endpoint.get("remote")), None)
    if endpoint is None or remote is None or not remote.get("baseUrl"):
        return None
    auth = endpoint.get("auth") or {}
    return RemoteEndpoint(
        base_url=str(remote["baseUrl"]).rstrip("/"),
        user_token=bool((auth.get("appUserToken") or {}).get("enabled")),
        system_token=bool((auth.get("appSystemToken") or {}).get("enabled")),
    )


def resource_dir(manifest: Manifest | None, manifest_path: Path, resource: str) -> Path | None:
    """The folder of a resource's files, when the manifest declares it inside the manifest's folder."""
    if manifest is None:
        return None
    base = manifest_path.resolve().parent
    for entry in manifest.raw.get("resources") or []:
        if isinstance(entry, dict) and str(entry.get("key")) == resource and entry.get("path"):
            folder = (base / str(entry["path"])).resolve()
            return folder if folder.is_relative_to(base) else None
    return None


def missing_build(manifest: Manifest | None, manifest_path: Path) -> list[str]:
    """The resources (as the manifest names their paths) that have no built index.html yet."""
    missing = []
    for module in ui_modules(manifest):
        folder = resource_dir(manifest, manifest_path, module.resource)
        if folder is None or not (folder / "index.html").is_file():
            missing.append(module.resource)
    return sorted(set(missing))


def build_hint(missing: list[str]) -> str:
    """What a person reads where a Custom UI page would be: which build is missing and how to make it."""
    return (
        f"The Forge app's Custom UI is not built ({', '.join(missing)} missing under forge/ui/dist). "
        f"Build it with `{BUILD_COMMAND}` (make run does this when npm is installed), then reload."
    )


def build_problem(manifest_path: Path, manifest: Manifest | None = None) -> str:
    """What keeps the Forge app's pages from showing (the Custom UI not built, an unreadable manifest), or ""."""
    if manifest is None:
        try:
            # Resource paths name no ${VARS}: the manifest as written is enough to find them.
            manifest = read_manifest(manifest_path, {})
        except ForgeError as exc:
            return str(exc)
    missing = missing_build(manifest, manifest_path)
    return build_hint(missing) if missing else ""
