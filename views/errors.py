"""Named errors → HTTP answers, once: JSON `{"error": {code, message, details}}` for the API, a short page else."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from errors import AppError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/lifecycle/") or request.is_json


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response:
    g.error_code = code
    if _wants_json():
        response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    else:
        response = Response(render_template("error.html", status=status, message=message), mimetype="text/html")
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(error: AppError) -> Response:
        if error.status == 401:
            # The reason only: never the token, never the request's query string.
            log.info("authentication refused: %s", error.message, extra={"error_code": error.code})
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.error("unexpected error", exc_info=error, extra={"error": type(error).__name__})
        return error_response(500, "internal_error", "Something went wrong on our side. Please try again.")
