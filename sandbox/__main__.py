"""`python -m sandbox`: the sandbox site on the port of SANDBOX_URL, with its SMTP catcher."""

from __future__ import annotations

import logging
import sys
import threading
from urllib.parse import urlsplit

from sandbox.app import create_app
from sandbox.config import SandboxConfig, refuse_production
from sandbox.forge_modules import build_problem
from sandbox.serving import sandbox_server
from sandbox.tls import https_server


def _warm(app_state: object) -> None:
    """Generate every attachment in the background so the first download of a large image is quick."""
    catalog = getattr(app_state, "catalog", None)
    for page in getattr(catalog, "pages", {}).values():
        for attachment in page.attachments:
            attachment.data()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = SandboxConfig.from_env()
    try:
        refuse_production(config.app_env)
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    parts = urlsplit(config.public_url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    bind = "127.0.0.1" if host in ("localhost", "127.0.0.1") else "0.0.0.0"
    app = create_app(config)
    state = app.extensions["sandbox"]
    server = sandbox_server(bind, port, app)
    # The providers' token endpoints (Entra ID, Google) over https on SANDBOX_TLS_PORT.
    tls_server = https_server("127.0.0.1", config.tls_port, app, state.tls_files)
    threading.Thread(target=tls_server.serve_forever, name="sandbox-https", daemon=True).start()
    threading.Thread(target=_warm, args=(state,), name="sandbox-warm", daemon=True).start()
    catcher = app.extensions.get("mailcatcher")
    print(
        f"Sandbox Confluence: {config.tenant_base_url}/  (key server {config.public_url}/connect-keys, "
        f"OAuth {config.oauth_server_url})",
        flush=True,
    )
    if catcher is not None:
        print(f"Sandbox mail: SMTP on {config.smtp_host}:{catcher.port}, inbox {config.public_url}/inbox", flush=True)
    if state.provider_catcher is not None:
        print(
            f"Sandbox Microsoft 365 / Google Workspace: tokens at {config.tls_url}, XOAUTH2 submission on "
            f"localhost:{state.provider_catcher.port}, demo credentials at {config.public_url}/mail-providers",
            flush=True,
        )
    # The Forge app's pages render its built Custom UI: say so now rather than as a blank frame later.
    problem = build_problem(config.forge_manifest)
    if problem:
        print(f"Sandbox Forge app: {problem}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        tls_server.shutdown()
        tls_server.server_close()
        if state.provider_catcher is not None:
            state.provider_catcher.stop()
        if catcher is not None:
            catcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
