"""Named errors → HTTP answers, once: JSON `{"error": {code, message, details}}` for the API, a short page else."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError
from werkzeug.exceptions import HTTPException

from errors import AppError
from views.messages import GERMAN_HTTP, german_details, german_message, wants_german

log = logging.getLogger(__name__)

LOCALE_HEADER = "X-Pagemail-Locale"


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/lifecycle/") or request.is_json


def _in_german() -> bool:
    return wants_german(request.headers.get(LOCALE_HEADER))


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
        message, details = error.message, error.details
        if _in_german():
            message, details = german_message(error.code, message, details), german_details(details)
        return error_response(error.status, error.code, message, details)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        message = error.description or error.name
        # Only werkzeug's own wording is replaced: a specific description may say more than the German text.
        if _in_german() and message == type(error).description and code in GERMAN_HTTP:
            message = GERMAN_HTTP[code]
        return error_response(error.code or 500, code, message)

    @app.errorhandler(RecursionError)
    def _nested_too_deeply(error: RecursionError) -> Response:
        # JSON (a body, a token's header or claims) nested thousands deep: bad input, not our failure.
        message = "The request is nested too deeply"
        if _in_german():
            message = german_message("nested_too_deeply", message)
        return error_response(400, "nested_too_deeply", message)

    @app.errorhandler(SQLAlchemyOperationalError)
    def _database_unavailable(error: SQLAlchemyOperationalError) -> Response:
        # Unreachable, hung (statement timeout) or out of connections: the client may retry; no 500.
        log.error("database unavailable", extra={"error": type(error.orig).__name__ if error.orig else "unknown"})
        message = "The service is busy or its database is unavailable. Please try again in a moment."
        if _in_german():
            message = german_message("database_unavailable", message)
        response = error_response(503, "database_unavailable", message)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.error("unexpected error", exc_info=error, extra={"error": type(error).__name__})
        message = "Something went wrong on our side. Please try again."
        if _in_german():
            message = german_message("internal_error", message)
        return error_response(500, "internal_error", message)
