"""Blueprints for the iframe pages and their JSON API: parse, authorise, call mail/ or models/, answer."""

from __future__ import annotations

from flask import Flask


def register_views(app: Flask) -> None:
    from connect.lifecycle import bp as lifecycle_bp
    from views.admin_api import bp as admin_api_bp
    from views.api import bp as api_bp
    from views.descriptor import bp as descriptor_bp
    from views.errors import register_error_handlers
    from views.health import bp as health_bp
    from views.modules import bp as modules_bp
    from views.openapi import bp as openapi_bp
    from views.ratelimit import install_rate_limits
    from views.security import install_security_headers

    app.register_blueprint(descriptor_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(lifecycle_bp)
    app.register_blueprint(modules_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_api_bp)
    app.register_blueprint(openapi_bp)
    register_error_handlers(app)
    install_security_headers(app)
    install_rate_limits(app)
