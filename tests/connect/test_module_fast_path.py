"""The module pages' fast path (views/modules.py) answers exactly what the Flask view answers, and only that.

A spy at the WSGI boundary counts what reaches Flask behind the fast path: a request the fast path answered never
does. Everything unusual (a token it can't check from the cache, a refusal, a value to decode) must reach Flask.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pytest
from flask import Flask

from tests.tokens import add_tenant, context_token, module_token

QUERY = "contentId=123&spaceKey=ENG&xdm_e=https%3A%2F%2Facme.atlassian.net&cp=%2Fwiki&lic=none"


class FlaskSpy:
    """Wraps the WSGI app behind the fast path and counts the requests that reach it."""

    def __init__(self, app: Flask) -> None:
        self.reached = 0
        fast_path = app.wsgi_app
        inner = fast_path.wsgi_app  # type: ignore[attr-defined]

        def counted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            self.reached += 1
            return inner(environ, start_response)

        fast_path.wsgi_app = counted  # type: ignore[attr-defined]


@pytest.fixture
def spied(app: Flask) -> tuple[Flask, FlaskSpy]:
    add_tenant(app)
    return app, FlaskSpy(app)


def get(app: Flask, path: str, query: str, **kwargs: Any) -> Any:
    token = module_token("GET", path, query)
    return app.test_client().get(f"{path}?{query}&jwt={token}", **kwargs)


def comparable(response: Any) -> tuple[int, bytes, list[tuple[str, str]]]:
    return response.status_code, response.data, sorted(response.headers.items())


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/dialog/send", QUERY),
        ("/dialog/send", QUERY + "&loc=de-DE"),
        ("/dialog/send", "contentId=9&spaceKey=~557058'x"),
        ("/dialog/send", "contentId=12%33&spaceKey=%45NG"),  # escapes of plain characters: the same either way
        ("/admin/settings", "xdm_e=https%3A%2F%2Facme.atlassian.net&lic=none"),
        ("/space/settings", "spaceKey=ENG&lic=none"),
    ],
)
def test_fast_answer_equals_the_views_answer(spied: tuple[Flask, FlaskSpy], path: str, query: str) -> None:
    app, spy = spied
    first = get(app, path, query)  # the view renders the shell and fills the tenant cache
    assert first.status_code == 200 and spy.reached == 1
    second = get(app, path, query)
    assert spy.reached == 1, "the second load should have been answered in front of Flask"
    assert comparable(second) == comparable(first)


def test_under_a_path_prefix(app_factory: Any) -> None:
    app = app_factory(BASE_URL="https://apps.example.com/pagemail")
    add_tenant(app)
    spy = FlaskSpy(app)
    token = module_token("GET", "/dialog/send", QUERY)
    client = app.test_client()
    url, prefix = f"/dialog/send?{QUERY}&jwt={token}", {"SCRIPT_NAME": "/pagemail"}
    first, second = client.get(url, environ_base=prefix), client.get(url, environ_base=prefix)
    assert spy.reached == 1 and comparable(second) == comparable(first) and first.status_code == 200
    # The same token on another module's path is refused, by Flask.
    other = client.get(f"/admin/settings?{QUERY}&jwt={token}", environ_base=prefix)
    assert other.status_code == 401 and spy.reached == 2


@pytest.mark.parametrize(
    "case",
    [
        "token in header",
        "non-ASCII value",
        "plus in value",
        "wrong qsh",
        "expired",
        "context token",
        "unknown tenant",
        "HEAD",
        "POST",
    ],
)
def test_anything_unusual_reaches_flask(spied: tuple[Flask, FlaskSpy], case: str) -> None:
    app, spy = spied
    assert get(app, "/dialog/send", QUERY).status_code == 200  # shell and cache ready
    client = app.test_client()
    now = time.time()
    path = "/dialog/send"
    token = module_token("GET", path, QUERY)
    requests = {
        "token in header": lambda: client.get(f"{path}?{QUERY}", headers={"Authorization": f"JWT {token}"}),
        "non-ASCII value": lambda: get(app, path, "contentId=1&spaceKey=%C3%A9T%C3%A9"),
        "plus in value": lambda: get(app, path, "contentId=1&spaceKey=A+B"),
        "wrong qsh": lambda: client.get(f"{path}?contentId=999&spaceKey=ENG&jwt={token}"),
        "expired": lambda: client.get(f"{path}?{QUERY}&jwt={module_token('GET', path, QUERY, now=now - 400)}"),
        "context token": lambda: client.get(f"{path}?{QUERY}&jwt={context_token()}"),
        "unknown tenant": lambda: client.get(f"{path}?{QUERY}&jwt={module_token('GET', path, QUERY, iss='other')}"),
        "HEAD": lambda: client.head(f"{path}?{QUERY}&jwt={token}"),
        "POST": lambda: client.post(f"{path}?{QUERY}&jwt={token}"),
    }
    # HEAD: its qsh is over "HEAD", not the "GET" the token was signed for.
    expected = {"token in header": 200, "non-ASCII value": 200, "plus in value": 200, "POST": 405}
    response = requests[case]()
    assert spy.reached == 2, "the fast path answered a request it should have left to Flask"
    assert response.status_code == expected.get(case, 401)


def test_a_disabled_tenant_is_refused_once_the_cache_knows(spied: tuple[Flask, FlaskSpy]) -> None:
    from models import Tenant, db

    app, spy = spied
    assert get(app, "/dialog/send", QUERY).status_code == 200
    with app.app_context():
        tenant = db.session.execute(db.select(Tenant)).scalar_one()
        tenant.enabled = False
        db.session.commit()
        client_key = tenant.client_key
    app.extensions["pagemail.tenants"].invalidate(client_key)  # what this process's lifecycle call does
    assert get(app, "/dialog/send", QUERY).status_code == 401
    assert spy.reached == 2


def test_a_token_of_deeply_nested_json_gets_flasks_answer_not_a_crash(spied: tuple[Flask, FlaskSpy]) -> None:
    import base64

    app, spy = spied
    assert get(app, "/dialog/send", QUERY).status_code == 200  # shell and cache ready

    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    deep = "[" * 1500 + "]" * 1500
    header = b64('{"alg":"HS256","x":' + deep + "}")
    for token in (f"{header}.e30.AAAA", f"e30.{b64(deep)}.AAAA"):
        response = app.test_client().get(f"/dialog/send?{QUERY}&jwt={token}")
        assert response.status_code in (400, 401), response.data
        assert b"Traceback" not in response.data
    assert spy.reached == 3
