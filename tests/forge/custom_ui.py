"""The Forge app's Custom UI for tests: built from the working tree once per test session, as `make test` builds it
(`npm run build` in forge/, after `npm ci` when forge/node_modules is missing), into forge/ui/dist where the
sandbox serves it from. Without npm the tests that need it are skipped with the reason, as the browser tests are
without Chromium; a build that fails fails them."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORGE_DIR = ROOT / "forge"
DIST = FORGE_DIR / "ui" / "dist"
PAGES = ("dialog", "admin", "space")
BUILD_TIMEOUT_S = 600  # npm ci on a cold cache, on a slow CI machine

_lock = threading.Lock()
_built: list[Path] = []


def npm_missing() -> str | None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "npm is not installed (apt-get install nodejs npm; CI installs it): the Forge Custom UI can't be built"
    return None


def _run(*command: str) -> None:
    done = subprocess.run(
        list(command), cwd=FORGE_DIR, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` in forge/ failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def built_custom_ui() -> Path:
    """forge/ui/dist, built from the current templates and static files (once per session)."""
    with _lock:
        if _built:
            return _built[0]
        missing = npm_missing()
        if missing:
            pytest.skip(missing)
        if not (FORGE_DIR / "node_modules" / ".package-lock.json").exists():
            _run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
        _run("npm", "run", "--silent", "build")
        _built.append(DIST)
        return DIST
