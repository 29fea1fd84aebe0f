"""Readiness: `GET /ready` answers 200 only when the database answers, so a load balancer routes around an
instance that lost its database. Liveness (`/health`, in descriptor.py) stays dependency-free on purpose:
a database outage must not make the orchestrator kill and restart every healthy process.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from models import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def database_ready() -> bool:
    """One round trip (`SELECT 1`); any failure means not ready, never an error page."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as error:  # a missing driver, a refused connection, a timeout: all mean "not ready"
        # The class only: driver messages can carry host names and user names from the connection URL.
        log.warning("readiness check failed", extra={"event": "ready", "error": type(error).__name__})
        return False
    finally:
        # Roll back and hand the connection back to the pool now, whatever happened.
        db.session.remove()
    return True


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    if database_ready():
        return jsonify({"status": "ready", "checks": {"database": "ok"}}), 200
    response = jsonify({"status": "unavailable", "checks": {"database": "unavailable"}})
    response.headers["Retry-After"] = "5"
    return response, 503
