"""`make run`: the app, the sandbox Confluence and its mail catcher, wired together on this machine (SQLite).

Runs both as child processes (the sandbox never imports the app) and stops both on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PORT = int(os.environ.get("APP_PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8100"))
SMTP_PORT = int(os.environ.get("SANDBOX_SMTP_PORT", "2525"))


def environment() -> dict[str, str]:
    sandbox = f"http://localhost:{SANDBOX_PORT}"
    app = f"http://localhost:{APP_PORT}"
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "development",
            "BASE_URL": app,
            "CONNECT_INSTALL_KEYS_URL": f"{sandbox}/connect-keys",
            "CONNECT_ALLOWED_HOSTS": f"localhost:{SANDBOX_PORT}",
            "CONNECT_ALLOW_INSECURE_HOSTS": "1",
            "OAUTH_AUTH_SERVER_URL": f"{sandbox}/oauth",
            "CONNECT_ALL_JS_URL": f"{sandbox}/atlassian-connect/all.js",
            "SMTP_DEFAULT_HOST": "127.0.0.1",
            "SMTP_DEFAULT_PORT": str(SMTP_PORT),
            "SMTP_DEFAULT_SECURITY": "none",
            "SMTP_DEFAULT_FROM": "pagemail@localhost",
            "SMTP_ALLOW_PRIVATE_HOSTS": "1",
            "SANDBOX_URL": sandbox,
            "SANDBOX_APP_DESCRIPTOR_URL": f"{app}/atlassian-connect.json",
            "SANDBOX_SMTP_PORT": str(SMTP_PORT),
        }
    )
    return env


def wait_for(url: str, seconds: float = 30.0) -> bool:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (a local URL we built)
                return True
        except OSError:
            time.sleep(0.3)
    return False


def main() -> int:
    if os.environ.get("APP_ENV") == "production":
        print("make run is for local work only; refusing APP_ENV=production", file=sys.stderr)
        return 1
    env = environment()
    python = sys.executable
    flask = [python, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True)
    children = [
        subprocess.Popen([python, "-m", "sandbox"], cwd=ROOT, env=env),
        subprocess.Popen([*flask, "run", "--port", str(APP_PORT), "--no-reload"], cwd=ROOT, env=env),
    ]
    try:
        ready = wait_for(f"{env['SANDBOX_URL']}/wiki/") and wait_for(f"{env['BASE_URL']}/health")
        if ready:
            print(
                "\n  pagemail is running. Open the sandbox Confluence:\n\n"
                f"      {env['SANDBOX_URL']}/wiki/\n\n"
                "  Install the app from Manage apps, open a page, choose ••• → Send as mail;\n"
                f"  the mail arrives in {env['SANDBOX_URL']}/inbox . Ctrl-C stops everything.\n",
                flush=True,
            )
        else:
            print("pagemail or the sandbox did not come up; see the messages above.", file=sys.stderr)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
