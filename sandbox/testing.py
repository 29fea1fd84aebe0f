"""Run a sandbox in-process for tests: real HTTP on 127.0.0.1, a clean stop.

with run_sandbox() as sandbox:
    requests.post(f"{sandbox.url}/_sandbox/install", json={"descriptorUrl": ...})
    sandbox.state.installation.shared_secret  # in-process access to everything
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import BaseWSGIServer

from sandbox import installer
from sandbox.app import create_app
from sandbox.config import DEFAULT_PUBLIC_URL, SandboxConfig
from sandbox.serving import sandbox_server
from sandbox.state import SandboxState
from sandbox.tls import ensure_certificate, https_server


@dataclass
class RunningSandbox:
    url: str
    app: Flask
    state: SandboxState
    catcher: Any
    server: BaseWSGIServer
    tls_server: BaseWSGIServer | None = None

    @property
    def tls_url(self) -> str:
        """The https origin of the providers' token endpoints (`MICROSOFT_AUTHORITY_HOST`)."""
        return self.state.config.tls_url

    @property
    def provider_catcher(self) -> Any:
        """The providers' submission server (STARTTLS, AUTH XOAUTH2); its mails land in `catcher`."""
        return self.state.provider_catcher

    @property
    def base_url(self) -> str:
        """The site's base URL as apps see it (`{url}/wiki`)."""
        return self.state.config.tenant_base_url

    def install(self, descriptor_url: str | None = None) -> dict[str, Any]:
        """Install the app (same flow as `POST /_sandbox/install`)."""
        return installer.install(self.state, descriptor_url)


def _placeholder(_environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


@contextmanager
def run_sandbox(
    config: SandboxConfig | None = None, port: int | None = None, host_name: str = "127.0.0.1"
) -> Iterator[RunningSandbox]:
    """A running sandbox on 127.0.0.1, stopped (with its mail catcher) on exit.

    Where it listens: on `port` when given (0 = a free port), else on the port of `config.public_url` when the
    config names its own URL (e.g. `http://localhost:54321`, kept exactly as given), else on a free port with
    the public URL `http://{host_name}:{port}`. The mail catcher runs on `config.smtp_port` (0 = a free port).
    """
    base = config or SandboxConfig(start_smtp=True, smtp_port=0)
    explicit = port is None and base.public_url != DEFAULT_PUBLIC_URL
    bind_port = (urlsplit(base.public_url).port or 80) if explicit else (port or 0)
    # Bind first: the app needs its own public URL (port included) before it is built.
    server = sandbox_server("127.0.0.1", bind_port, _placeholder)
    public_url = base.public_url if explicit else f"http://{host_name}:{server.server_port}"
    # The https listener (token endpoints) is bound first too: the demo key's token URI names its port.
    tls_dir = base.tls_dir or Path(tempfile.mkdtemp(prefix="sandbox-tls-"))
    tls_files = ensure_certificate(tls_dir)
    tls_server = https_server("127.0.0.1", base.tls_port, _placeholder, tls_files)
    try:
        app = create_app(replace(base, public_url=public_url, tls_port=tls_server.server_port, tls_dir=tls_dir))
    except BaseException:
        server.server_close()
        tls_server.server_close()
        raise
    server.app = app
    tls_server.app = app
    state: SandboxState = app.extensions["sandbox"]
    # A short poll interval keeps shutdown quick (tests start many sandboxes).
    threads = [
        threading.Thread(
            target=each.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox-{each.server_port}", daemon=True
        )
        for each in (server, tls_server)
    ]
    for thread in threads:
        thread.start()
    running = RunningSandbox(state.config.public_url, app, state, app.extensions.get("mailcatcher"), server, tls_server)
    try:
        yield running
    finally:
        for each in (server, tls_server):
            each.shutdown()
            each.server_close()
        for thread in threads:
            thread.join(timeout=10)
        if state.provider_catcher is not None:
            state.provider_catcher.stop()
        if running.catcher is not None:
            running.catcher.stop()
