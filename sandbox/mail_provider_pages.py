"""`GET /mail-providers`: the demo Microsoft 365 and Google Workspace credentials, to paste into pagemail's
*Mail server* settings during `make run` (the same data as `GET /_sandbox/mail-providers`)."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template

from sandbox.state import current_state

bp = Blueprint("mail_provider_pages", __name__)

_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


@bp.get("/mail-providers")
def page() -> Response:
    state = current_state()
    demo = state.providers.demo(state.config.tls_url)
    response = make_response(
        render_template(
            "mail_providers.html",
            demo=demo,
            tls_url=state.config.tls_url,
            smtp_port=state.provider_catcher.port if state.provider_catcher else None,
            ca_file=state.tls_files[0] if state.tls_files else "",
        )
    )
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["Cache-Control"] = "no-store"
    return response
