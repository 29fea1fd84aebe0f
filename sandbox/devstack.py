"""`make run`: the app, the sandbox Confluence and its mail catcher, wired together on this machine (SQLite).

Runs both as child processes (the sandbox never imports the app) and stops both on Ctrl-C. Both of the app's doors
are open: the app trusts the sandbox as Connect host (install keys, OAuth) and as Forge platform (JWKS, API
gateway, app id), so *Manage apps* can install the Connect app, the Forge app, or both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sandbox.config import CLI_TLS_DIR, DEFAULT_FORGE_APP_ID, DEFAULT_PROVIDER_SMTP_PORT, DEFAULT_TLS_PORT
from sandbox.forge_platform import JWKS_PATH
from sandbox.tls import HOST_NAME, ensure_certificate

ROOT = Path(__file__).resolve().parent.parent
APP_PORT = int(os.environ.get("APP_PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8100"))
SMTP_PORT = int(os.environ.get("SANDBOX_SMTP_PORT", "2525"))
TLS_PORT = int(os.environ.get("SANDBOX_TLS_PORT", str(DEFAULT_TLS_PORT)))
PROVIDER_SMTP_PORT = int(os.environ.get("SANDBOX_PROVIDER_SMTP_PORT", str(DEFAULT_PROVIDER_SMTP_PORT)))


def environment() -> dict[str, str]:
    sandbox = f"http://localhost:{SANDBOX_PORT}"
    app = f"http://localhost:{APP_PORT}"
    env = dict(os.environ)
    forge_app_id = env.get("SANDBOX_FORGE_APP_ID", "").strip() or DEFAULT_FORGE_APP_ID
    # The sandbox's certificate (made by main() before either process starts): the app trusts it for the providers'
    # token endpoints (REQUESTS_CA_BUNDLE) and their submission server (SMTP_CA_FILE).
    cert = str(CLI_TLS_DIR / f"{HOST_NAME}.crt")
    env.update(
        {
            "APP_ENV": "development",
            "BASE_URL": app,
            "CONNECT_INSTALL_KEYS_URL": f"{sandbox}/connect-keys",
            "CONNECT_ALLOWED_HOSTS": f"localhost:{SANDBOX_PORT}",
            "CONNECT_ALLOW_INSECURE_HOSTS": "1",
            # The sandbox serves attachment downloads from its other loopback name, as Confluence uses a media host.
            "CONFLUENCE_MEDIA_HOSTS": f"localhost:{SANDBOX_PORT},127.0.0.1:{SANDBOX_PORT}",
            "OAUTH_AUTH_SERVER_URL": f"{sandbox}/oauth",
            "CONNECT_ALL_JS_URL": f"{sandbox}/atlassian-connect/all.js",
            "SMTP_DEFAULT_HOST": "127.0.0.1",
            "SMTP_DEFAULT_PORT": str(SMTP_PORT),
            "SMTP_DEFAULT_SECURITY": "none",
            "SMTP_DEFAULT_FROM": "pagemail@localhost",
            "SMTP_ALLOW_PRIVATE_HOSTS": "1",
            # The Forge door: invocation tokens signed by the sandbox's keys, Confluence through its API gateway.
            "FORGE_APP_ID": forge_app_id,
            "FORGE_JWKS_URL": f"{sandbox}{JWKS_PATH}",
            "FORGE_API_HOSTS": f"localhost:{SANDBOX_PORT}",
            "SANDBOX_FORGE_APP_ID": forge_app_id,
            "SANDBOX_URL": sandbox,
            "SANDBOX_APP_DESCRIPTOR_URL": f"{app}/atlassian-connect.json",
            "SANDBOX_SMTP_PORT": str(SMTP_PORT),
            # Microsoft 365 and Google Workspace, played by the sandbox (demo credentials at /mail-providers).
            "MICROSOFT_AUTHORITY_HOST": f"https://localhost:{TLS_PORT}",
            "MICROSOFT_SMTP_HOST": f"localhost:{PROVIDER_SMTP_PORT}",
            "GOOGLE_SMTP_HOST": f"localhost:{PROVIDER_SMTP_PORT}",
            "REQUESTS_CA_BUNDLE": cert,
            "SMTP_CA_FILE": cert,
            "SANDBOX_TLS_PORT": str(TLS_PORT),
            "SANDBOX_PROVIDER_SMTP_PORT": str(PROVIDER_SMTP_PORT),
        }
    )
    return env


def wait_for(url: str, children: dict[str, subprocess.Popen[bytes]], seconds: float = 60.0) -> str | None:
    """None once `url` answers; otherwise why not (a child that exited, or the time that ran out)."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        exited = _exited(children)
        if exited:
            return exited
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (a local URL we built)
                return None
        except OSError:
            time.sleep(0.3)
    return f"{url} did not answer within {seconds:.0f} s"


def _exited(children: dict[str, subprocess.Popen[bytes]]) -> str | None:
    for name, child in children.items():
        code = child.poll()
        if code is not None:
            return f"the {name} exited with status {code} (its messages are above)"
    return None


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    # Ctrl-C first (they clean up as after Ctrl-C); SIGTERM for a child that ignores SIGINT (started from the
    # background of a non-interactive shell); SIGKILL for anything still there.
    for signum, seconds in ((signal.SIGINT, 3.0), (signal.SIGTERM, 7.0)):
        running = [child for child in children.values() if child.poll() is None]
        for child in running:
            child.send_signal(signum)
        ends = time.monotonic() + seconds
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.0, ends - time.monotonic()))
    for child in children.values():
        if child.poll() is None:
            child.kill()
            child.wait()


def _stop_on_signal(signum: int, _frame: object) -> None:
    # A closed terminal (SIGHUP) or `kill` (SIGTERM) stops everything like Ctrl-C: no app or sandbox left behind.
    raise KeyboardInterrupt


def main() -> int:
    """0 after Ctrl-C (or SIGTERM, SIGHUP); 1 when the app or the sandbox fails to come up or stops on its own."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    # Ctrl-C (SIGINT) stops everything even when the launcher was started with SIGINT ignored (the background of a
    # non-interactive shell, where Python leaves it ignored); the app and the sandbox, started from here, then get it
    # back too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get("APP_ENV") == "production":
        print("make run is for local work only; refusing APP_ENV=production", file=sys.stderr)
        return 1
    env = environment()
    ensure_certificate(CLI_TLS_DIR)
    python = sys.executable
    flask = [python, "-m", "flask", "--app", "app"]
    migrated = subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=False)
    if migrated.returncode != 0:
        print(f"make run: the database migration failed (status {migrated.returncode}).", file=sys.stderr)
        return 1
    children = {
        "sandbox Confluence": subprocess.Popen([python, "-m", "sandbox"], cwd=ROOT, env=env),
        "pagemail app": subprocess.Popen([*flask, "run", "--port", str(APP_PORT), "--no-reload"], cwd=ROOT, env=env),
    }
    try:
        failure = wait_for(f"{env['SANDBOX_URL']}/wiki/", children) or wait_for(f"{env['BASE_URL']}/health", children)
        if failure:
            print(f"make run: pagemail did not come up: {failure}.", file=sys.stderr)
            return 1
        print(
            "\n  pagemail is running. Open the sandbox Confluence:\n\n"
            f"      {env['SANDBOX_URL']}/wiki/\n\n"
            "  In Manage apps, install the Connect app, the Forge app or both; open a page and\n"
            "  choose ••• → Send as mail (the Forge entry is marked FORGE);\n"
            f"  the mail arrives in {env['SANDBOX_URL']}/inbox . Microsoft 365 and Google Workspace\n"
            f"  demo credentials for the mail server settings: {env['SANDBOX_URL']}/mail-providers .\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while not (failure := _exited(children)):
            time.sleep(0.5)
        print(f"make run: stopping: {failure}.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(children)


if __name__ == "__main__":
    sys.exit(main())
