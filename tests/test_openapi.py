"""The OpenAPI description of the iframe API stays true: it is valid OpenAPI 3.1, it describes exactly the /api
routes the app has, and every status it documents for an operation is reached here against the live stack, each
answer checked against the documented schema."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import sqlalchemy as sa
from limits import parse
from openapi_spec_validator import validate

from app import create_app
from tests.conftest import LiveStack
from tests.stack import base_environ
from tests.tokens import context_token
from views import ratelimit
from views.openapi import SPEC

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin, ENG space admin
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"  # regular user, ENG space admin
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"  # can't read the restricted page, admin of MKT only
SIMPLE_PAGE = "2000000001"  # in ENG
RESTRICTED_PAGE = "1514897411"
METHODS = ("get", "put", "post", "delete", "patch")
UNDOCUMENTED = {"/api/openapi.json"}  # the description itself


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()]


def documented() -> set[tuple[str, int]]:
    return {(op["operationId"], int(status)) for _, _, op in operations() for status in op["responses"]}


def test_the_description_is_valid_openapi_3_1() -> None:
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


def test_it_is_served_without_a_token(stack: LiveStack) -> None:
    answer = stack.http.get(f"{stack.app_url}/api/openapi.json", timeout=30)
    assert answer.status_code == 200 and answer.json() == SPEC


def test_every_api_route_is_described_and_nothing_else(stack: LiveStack) -> None:
    routes: set[tuple[str, str]] = set()
    for rule in stack.app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        path = path.replace("{content_id}", "{contentId}").replace("{space_key}", "{spaceKey}")
        if path.startswith("/api/") and path not in UNDOCUMENTED:
            routes |= {(path, m.lower()) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert routes == {(path, method) for path, method, _ in operations()}


def _schema_for(op: dict[str, Any], status: int) -> dict[str, Any]:
    schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "components": SPEC["components"]}


# -- reaching every documented status -------------------------------------------------------------------------
Call = Callable[[], requests.Response]


def _call(stack: LiveStack, op_id: str, user: str = ADA, *, body: Any = None, token: str | None = "") -> Call:
    path, method = next((p, m) for p, m, op in operations() if op["operationId"] == op_id)
    path = path.replace("{contentId}", SIMPLE_PAGE).replace("{spaceKey}", "ENG")
    params = {"query": "ben"} if op_id == "searchRecipients" else None
    if body is None and method in ("post", "put"):
        body = {"contentId": SIMPLE_PAGE, "to": [{"accountId": BEN}]} if "/admin/" not in path else {}

    def call() -> requests.Response:
        headers = {} if token is None else {"Authorization": f"JWT {token or stack.context_token(user)}"}
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json"
            return stack.http.request(method, stack.app_url + path, headers=headers, data=body, timeout=120)
        url = stack.app_url + path
        return stack.http.request(method, url, headers=headers, params=params, json=body, timeout=120)

    return call


def _with_path(stack: LiveStack, op_id: str, old: str, new: str, user: str = ADA) -> Call:
    path, method = next((p, m) for p, m, op in operations() if op["operationId"] == op_id)
    path = path.replace("{contentId}", SIMPLE_PAGE).replace("{spaceKey}", "ENG")

    def moved() -> requests.Response:
        token = stack.context_token(user)
        return stack.http.request(
            method,
            stack.app_url + path.replace(old, new),
            headers={"Authorization": f"JWT {token}"},
            params={"query": "ben"},
            timeout=120,
        )

    return moved


def _short_query(stack: LiveStack) -> Call:
    def call() -> requests.Response:
        token = stack.context_token(ADA)
        return stack.http.get(
            f"{stack.app_url}/api/recipients", params={"query": "a"}, headers={"Authorization": f"JWT {token}"}
        )

    return call


@contextmanager
def _space_disabled(stack: LiveStack) -> Iterator[None]:
    from models import SpaceSettings, Tenant, db

    with stack.app.app_context():
        tenant = db.session.execute(sa.select(Tenant)).scalar_one()
        db.session.execute(sa.delete(SpaceSettings).where(SpaceSettings.space_key == "ENG"))
        db.session.add(SpaceSettings(tenant_id=tenant.id, space_key="ENG", enabled=False, group_ids=[]))
        db.session.commit()
    try:
        yield
    finally:
        with stack.app.app_context():
            db.session.execute(sa.delete(SpaceSettings).where(SpaceSettings.space_key == "ENG"))
            db.session.commit()


@contextmanager
def _confluence_refuses(stack: LiveStack) -> Iterator[None]:
    rule = {"pathPrefix": "/wiki/rest/api", "status": 500, "count": 1000}
    stack.control("POST", "faults", json={"rules": [rule]})
    try:
        yield
    finally:
        stack.reset_faults()


@contextmanager
def _one_request_a_minute(stack: LiveStack) -> Iterator[None]:
    before = dict(ratelimit.POLICIES)
    for name in before:
        ratelimit.POLICIES[name] = ratelimit.Policy(parse("1/minute"), parse("1000/minute"))
    stack.app.extensions["pagemail.ratelimit"].storage.reset()
    try:
        yield
    finally:
        ratelimit.POLICIES.update(before)
        stack.app.extensions["pagemail.ratelimit"].storage.reset()


def _reach(stack: LiveStack, op_id: str, status: int) -> requests.Response:
    """One request that answers `status` for the operation."""
    huge = b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    if status == 401:
        return _call(stack, op_id, token=None)()
    if status == 413:
        return _call(stack, op_id, body=huge)()
    if status == 429:
        with _one_request_a_minute(stack):
            call = _call(stack, op_id, body={"contentId": "x"})
            call()
            return call()
    if status == 502:
        with _confluence_refuses(stack):
            return _call(stack, op_id)()
    if status == 400:
        bad: dict[str, Call] = {
            "searchRecipients": _short_query(stack),
            "pageAttachments": _with_path(stack, op_id, SIMPLE_PAGE, "12x"),
            "getSpaceSettings": _with_path(stack, op_id, "/ENG/", "/no%20key/"),
            "putSpaceSettings": _call(stack, op_id, body={"enabled": "yes"}),
            "putSettings": _call(stack, op_id, body={"mail": {"senderName": "a\nb"}}),
            "testMailServer": _call(stack, op_id, body={"smtp": {"mode": "custom", "host": "not a host!"}}),
            "sendTestMail": _call(stack, op_id, body={"smtp": {"mode": "custom", "host": "not a host!"}}),
            "preview": _call(stack, op_id, body={"contentId": "x"}),
            "layoutPreview": _call(stack, op_id, body={"layout": {"customCss": "@import url(x)"}}),
        }
        return bad.get(op_id, _call(stack, op_id, body={"contentId": SIMPLE_PAGE, "to": [{"email": "a@b_c.com"}]}))()
    if status == 403:
        if op_id in ("send", "preview", "summariseRecipients"):
            with _space_disabled(stack):
                return _call(stack, op_id, BEN)()
        return _call(stack, op_id, EMMA, body={"enabled": False} if op_id == "putSpaceSettings" else None)()
    if status == 404:
        if "Space" in op_id:
            return _with_path(stack, op_id, "/ENG/", "/NOSUCHSPACE/")()
        if op_id == "pageAttachments":
            return _with_path(stack, op_id, SIMPLE_PAGE, RESTRICTED_PAGE, EMMA)()
        return _call(stack, op_id, EMMA, body={"contentId": RESTRICTED_PAGE, "to": [{"accountId": BEN}]})()
    if status == 409:
        many = [{"email": f"r{n}@external.example"} for n in range(30)]
        return _call(stack, op_id, body={"contentId": SIMPLE_PAGE, "to": many})()
    if status == 200:
        bodies = {"putSettings": {}, "putSpaceSettings": {"enabled": True}, "testMailServer": {}, "sendTestMail": {}}
        return _call(stack, op_id, body=bodies.get(op_id))()
    raise AssertionError(f"no recipe for {op_id} {status}")


@pytest.mark.parametrize(("op_id", "status"), sorted(documented() - {(o, 503) for o, _ in documented()}))
def test_every_documented_status_is_reached_and_matches_its_schema(stack: LiveStack, op_id: str, status: int) -> None:
    response = _reach(stack, op_id, status)
    assert response.status_code == status, response.text[:500]
    op = next(op for _, _, op in operations() if op["operationId"] == op_id)
    jsonschema.validate(response.json(), _schema_for(op, status))


def test_every_operation_answers_503_json_when_the_database_is_down(tmp_path: Path) -> None:
    url = "postgresql+psycopg://pagemail@127.0.0.1:9/pagemail"  # a closed port: refused at once
    client = create_app(environ=base_environ(tmp_path, DATABASE_URL=url)).test_client()
    token = context_token()
    for path, method, op in operations():
        assert "503" in op["responses"]
        concrete = path.replace("{contentId}", SIMPLE_PAGE).replace("{spaceKey}", "ENG")
        response = client.open(
            concrete, method=method.upper(), headers={"Authorization": f"JWT {token}"}, json={}, query_string="query=ab"
        )
        assert response.status_code == 503, (path, method, response.get_data(as_text=True))
        jsonschema.validate(response.get_json(), _schema_for(op, 503))
