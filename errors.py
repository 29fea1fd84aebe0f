"""The few named errors of the app, each with a stable code and an HTTP status (mapped once in views/errors.py)."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class AuthError(AppError):
    """A request that could not be authenticated: always 401, the reason short and free of token data."""

    status = 401
    code = "unauthorized"


class ForbiddenError(AppError):
    status = 403
    code = "forbidden"


class NotFoundError(AppError):
    status = 404
    code = "not_found"


class ValidationError(AppError):
    status = 400
    code = "invalid_request"


class UpstreamError(AppError):
    """Confluence (or the mail server) failed or was unreachable; the message says which and how."""

    status = 502
    code = "upstream_unavailable"


class RateLimitedError(AppError):
    status = 429
    code = "rate_limited"


class ConfirmationRequired(AppError):
    """The request is valid but big enough that the user must confirm it first (send it again, confirmed)."""

    status = 409
    code = "confirmation_required"
