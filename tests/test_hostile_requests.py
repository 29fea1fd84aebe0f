"""Requests no client of ours would send: clear 4xx answers in the error shape, never a 500."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.tokens import add_tenant, context_token

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize("path", ["/api/send", "/api/preview", "/api/recipients/summary", "/lifecycle/installed"])
def test_deeply_nested_json_is_a_400(app: Flask, body: str, path: str) -> None:
    add_tenant(app)
    response = app.test_client().open(
        path,
        method="POST",
        data=body,
        headers={"Authorization": f"JWT {context_token()}", "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and "Traceback" not in error["message"]
