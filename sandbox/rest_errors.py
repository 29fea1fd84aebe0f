"""Errors in Confluence's REST shape: `{"statusCode": 404, "data": {...}, "message": "...", "reason": "..."}`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import HTTPException


class RestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "data": {
            "authorized": status not in (401, 403),
            "valid": status != 400,
            "allowedInReadOnlyMode": True,
            "errors": [],
            "successful": False,
        },
        "message": message,
        "reason": HTTPStatus(status).phrase,
    }


def error_response(status: int, message: str) -> Response:
    response = jsonify(error_body(status, message))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'JWT realm="Confluence", Bearer realm="Confluence"'
    return response


def not_found_content(content_id: str) -> RestError:
    """What Confluence says for content that doesn't exist *and* for content the caller may not read."""
    return RestError(404, f"No content found with id: ContentId{{id={content_id}}}")


def install_error_handlers(bp: Blueprint) -> None:
    @bp.errorhandler(RestError)
    def rest_error(error: RestError) -> Response:
        return error_response(error.status, error.message)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return error_response(error.code or 500, error.description or HTTPStatus(error.code or 500).phrase)
