"""The access line written straight from the values is the configured format filled in, character for character."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from gunicorn.config import Config

from deploy.gunicorn_logging import ACCESS_LOG_FORMAT, JsonAtoms, PrivacyLogger
from logs import REQUEST_FIELDS


class Answer:
    def __init__(self, status: str, sent: int | None) -> None:
        self.status, self.sent = status, sent


ENVIRONS: list[dict[str, Any]] = [
    {"REQUEST_METHOD": "GET", "PATH_INFO": "/dialog/send"},
    {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/dialog/send",
        REQUEST_FIELDS: {"route": "modules.send_dialog", "tenant_id": 7, "error_code": None},
    },
    {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": '/api/"quoted"\\path/ü/someone@example.com/eyJhbGciOiJIUzI1NiJ9.e30.sig',
        REQUEST_FIELDS: {"route": "api.send", "tenant_id": None, "error_code": "unauthorized"},
    },
    {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/dialog/send",
        "QUERY_STRING": "contentId=1&jwt=eyJhbGciOiJIUzI1NiJ9.secret-claims.sig",
        "REMOTE_ADDR": "203.0.113.77",
        "HTTP_X_FORWARDED_FOR": "198.51.100.23",
        "HTTP_AUTHORIZATION": "JWT eyJhbGciOiJIUzI1NiJ9.header-claims.sig",
        "HTTP_COOKIE": "session=cookie-value",
        REQUEST_FIELDS: {"route": "modules.send_dialog", "tenant_id": 7, "error_code": None},
    },
    {},
]
PRIVATE = ("eyJ", "secret-claims", "header-claims", "203.0.113.77", "198.51.100.23", "cookie-value", "contentId=")


@pytest.mark.parametrize("environ", ENVIRONS)
def test_direct_line_equals_the_formatted_one(environ: dict[str, Any]) -> None:
    config = Config()
    config.set("accesslog", "-")
    logger = PrivacyLogger(config)
    logger.now = lambda: "2026-01-01T00:00:00.000+00:00"  # type: ignore[method-assign]
    answer, took = Answer("200 OK", 1234), timedelta(seconds=1, microseconds=2500)
    formatted = ACCESS_LOG_FORMAT % JsonAtoms(logger.atoms(answer, None, environ, took))
    direct = logger.access_line(answer, environ, took)
    assert direct == formatted
    entry = json.loads(direct)
    assert entry["duration_ms"] == 1002 and "someone@example.com" not in direct
    assert not [text for text in PRIVATE if text in direct], direct
