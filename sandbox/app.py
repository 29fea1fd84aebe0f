"""`create_app()`: the sandbox's Flask app (a separate app that plays Atlassian; it imports nothing of pagemail)."""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from sandbox import (
    assets,
    control,
    entra,
    forge_cdn,
    forge_host,
    forge_routes,
    google_oauth,
    keyserver,
    mail_provider_pages,
    media,
    oauth,
    rest_content,
    rest_people,
    ui,
)
from sandbox.config import SandboxConfig, refuse_production
from sandbox.rest_errors import error_response
from sandbox.state import SandboxState
from sandbox.tls import ensure_certificate
from sandbox.traffic import TrafficMiddleware

log = logging.getLogger("sandbox")


def create_app(config: SandboxConfig | None = None) -> Flask:
    config = config or SandboxConfig.from_env()
    refuse_production(config.app_env)
    refuse_production(os.environ.get("APP_ENV"))
    state = SandboxState(config)
    state.tls_files = ensure_certificate(config.tls_dir)
    app = Flask(
        "sandbox",
        root_path=os.path.dirname(__file__),
        static_folder="static",
        static_url_path="/wiki/s",
        template_folder="templates",
    )
    app.config["MAX_CONTENT_LENGTH"] = 4 * 1024 * 1024
    app.extensions["sandbox"] = state
    blueprints = (ui.bp, assets.bp, keyserver.bp, oauth.bp, rest_content.bp, rest_people.bp, media.bp, control.bp)
    providers = (entra.bp, google_oauth.bp, mail_provider_pages.bp)
    for blueprint in (*blueprints, forge_routes.bp, forge_host.bp, forge_cdn.bp, *providers):
        app.register_blueprint(blueprint)
    _mount_mail_catcher(app, state)
    # The Forge API gateway inside the traffic log and faults, so both see the path the app called.
    gateway = forge_routes.ForgeGateway(app.wsgi_app, state.forge)
    app.wsgi_app = TrafficMiddleware(gateway, state.faults, state.requests)  # type: ignore[method-assign]

    @app.errorhandler(404)
    @app.errorhandler(405)
    def rest_routing_error(error: HTTPException) -> Response | HTTPException:
        # Unknown REST paths and methods answer in Confluence's JSON shape; other pages keep Flask's.
        if request.path.startswith("/wiki/rest/"):
            return error_response(error.code or 404, error.description or "Not found")
        return error

    @app.after_request
    def no_sniffing(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith(("/wiki/rest/", "/oauth/", "/_sandbox/")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _mount_mail_catcher(app: Flask, state: SandboxState) -> None:
    app.extensions["mailcatcher"] = None
    if not state.config.start_smtp:
        return
    try:
        from sandbox.mailcatcher import MailCatcher, inbox_blueprint
    except ImportError:  # the catcher is optional for the rest of the sandbox
        log.warning("sandbox: mail catcher unavailable; no SMTP server started")
        return
    catcher = MailCatcher(state.config.smtp_host, state.config.smtp_port)
    catcher.start()
    state.catcher = catcher
    app.extensions["mailcatcher"] = catcher
    app.register_blueprint(inbox_blueprint(catcher))
    # Exchange Online's and Gmail's submission servers: STARTTLS, then AUTH XOAUTH2 only; mails land in the inbox.
    provider = MailCatcher(
        state.config.smtp_host,
        state.config.provider_port,
        tls_cert=state.tls_files,
        xoauth2=state.providers.smtp_verdict,
        sink=catcher,
    )
    try:
        provider.start()
    except BaseException:
        catcher.stop()
        raise
    state.provider_catcher = provider
    app.extensions["provider_mailcatcher"] = provider
