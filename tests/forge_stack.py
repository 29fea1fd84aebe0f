"""The app and the sandbox over real HTTP with both doors open: Connect installed, and the Forge app installed too.

Like tests/stack.py, plus the Forge platform: the app trusts the sandbox's JWKS and API gateway, and the sandbox
sends the Forge lifecycle events to the app's `/lifecycle/forge` (read from forge/manifest.yml).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask_migrate import upgrade

from app import create_app
from tests.servers import free_port, serve
from tests.stack import LiveStack, live_environ


@dataclass
class ForgeStack(LiveStack):
    """A LiveStack whose API calls can also go through the Forge door."""

    @property
    def forge(self) -> Any:
        """The sandbox's Forge platform, in-process (keys, installation, tokens)."""
        return self.sandbox.state.forge

    def for_a_test(self) -> ForgeStack:
        """The shared stack as each test starts it: no faults, an empty inbox, the rate limits and the sandbox's
        request log cleared."""
        self.reset_faults()
        self.catcher.clear()
        self.app.extensions["pagemail.ratelimit"].storage.reset()
        self.control("DELETE", "requests")
        return self

    def forge_control(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.control(method, f"forge/{path}", **kwargs)

    def invocation_headers(self, account_id: str, **params: str) -> dict[str, str]:
        """What Forge sends with a Custom UI's invokeRemote for this user: FIT + app system and user tokens."""
        answer = self.forge_control("GET", "invocation", params={"user": account_id, **params})
        return dict(answer["headers"])

    def forge_api(
        self, method: str, path: str, account_id: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        sent = {**self.invocation_headers(account_id), **(headers or {})}
        return self.http.request(method, f"{self.app_url}{path}", headers=sent, timeout=120, **kwargs)


def forge_environ(tmp_path: Path, sandbox: Any, app_url: str) -> dict[str, str]:
    environ = live_environ(tmp_path, sandbox.url, app_url, sandbox.catcher.port)
    sandbox_host = sandbox.url.split("://", 1)[1]
    environ.update(
        FORGE_APP_ID=sandbox.state.forge.app_id,
        FORGE_JWKS_URL=sandbox.state.forge.facts()["jwksUrl"],
        FORGE_API_HOSTS=sandbox_host,
    )
    return environ


@contextmanager
def running_forge_stack(tmp_path: Path, *, install_forge: bool = True) -> Iterator[ForgeStack]:
    from sandbox import SandboxConfig
    from sandbox.testing import run_sandbox

    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    config = SandboxConfig(app_descriptor_url=f"{app_url}/atlassian-connect.json", smtp_port=0, start_smtp=True)
    with run_sandbox(config, host_name="localhost") as sandbox:
        app = create_app(environ=forge_environ(tmp_path, sandbox, app_url))
        with app.app_context():
            upgrade()
        with serve(app, port=app_port) as _server, requests.Session() as http:
            stack = ForgeStack(app=app, app_url=app_url, sandbox=sandbox, http=http)
            installed = stack.control("POST", "install")
            assert 200 <= int(installed["status"]) < 300, installed
            if install_forge:
                answer = stack.forge_control("POST", "install")["answer"]
                assert answer["status"] == 200, answer
            yield stack
