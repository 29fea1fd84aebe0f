"""Module and context tokens: accepted where they belong, refused (401, nothing changed) everywhere else."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from flask import Flask

from tests.tokens import SECRET, add_tenant, context_token, module_token

PATH = "/dialog/send"
QUERY = "contentId=123&spaceKey=ENG&xdm_e=https%3A%2F%2Facme.atlassian.net&cp=%2Fwiki&lic=none"


@pytest.fixture
def tenant_app(app: Flask) -> Flask:
    add_tenant(app)
    return app


def get_module(app: Flask, token: str, query: str = QUERY, path: str = PATH) -> Any:
    return app.test_client().get(f"{path}?{query}&jwt={token}")


def test_module_token_opens_the_dialog(tenant_app: Flask) -> None:
    response = get_module(tenant_app, module_token("GET", PATH, QUERY))
    assert response.status_code == 200
    assert b"send-dialog" in response.data
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "case",
    [
        "wrong secret",
        "expired",
        "future iat",
        "wrong qsh",
        "other path",
        "context token",
        "alg none",
        "HS512",
        "unknown tenant",
        "no qsh",
        "no exp",
        "garbage",
        "empty",
        "tampered payload",
    ],
)
def test_bad_module_tokens_are_refused(tenant_app: Flask, case: str) -> None:
    now = time.time()
    tokens = {
        "wrong secret": lambda: module_token("GET", PATH, QUERY, secret="not-the-secret-" + "z" * 20),
        "expired": lambda: module_token("GET", PATH, QUERY, now=now - 400),
        "future iat": lambda: module_token("GET", PATH, QUERY, iat=int(now) + 600, exp=int(now) + 900),
        "wrong qsh": lambda: module_token("GET", PATH, "contentId=999&spaceKey=ENG"),
        "other path": lambda: module_token("GET", "/admin/settings", QUERY),
        "context token": lambda: context_token(),
        "alg none": lambda: jwt.encode(
            {"iss": "test-client-key-1", "exp": int(now) + 60, "iat": int(now), "qsh": "x"}, None, algorithm="none"
        ),
        "HS512": lambda: module_token("GET", PATH, QUERY, algorithm="HS512"),
        "unknown tenant": lambda: module_token("GET", PATH, QUERY, iss="someone-else"),
        "no qsh": lambda: module_token("GET", PATH, QUERY, qsh=None),
        "no exp": lambda: module_token("GET", PATH, QUERY, exp=None),
        "garbage": lambda: "abc.def.ghi",
        "empty": lambda: "",
        "tampered payload": lambda: _tamper(module_token("GET", PATH, QUERY)),
    }
    response = get_module(tenant_app, tokens[case]())
    assert response.status_code == 401
    assert b"Traceback" not in response.data


def _tamper(token: str) -> str:
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "admin"
    forged = jwt.encode(claims, "x" * 32, algorithm="HS256").split(".")[1]
    return ".".join([header, forged, signature])


def test_leeway_is_thirty_seconds(tenant_app: Flask) -> None:
    now = time.time()
    inside = module_token("GET", PATH, QUERY, iat=int(now) - 200, exp=int(now) - 20)
    outside = module_token("GET", PATH, QUERY, iat=int(now) - 200, exp=int(now) - 40)
    assert get_module(tenant_app, inside).status_code == 200
    assert get_module(tenant_app, outside).status_code == 401


def test_disabled_tenant_is_refused(app: Flask) -> None:
    add_tenant(app, enabled=False)
    assert get_module(app, module_token("GET", PATH, QUERY)).status_code == 401


def test_context_token_is_required_on_the_api(tenant_app: Flask) -> None:
    client = tenant_app.test_client()
    module = module_token("GET", "/api/recipients", "query=al")
    refused = client.get("/api/recipients?query=al", headers={"Authorization": f"JWT {module}"})
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/recipients?query=al").status_code == 401
    wrong = context_token(secret="wrong-secret-" + "q" * 30)
    assert client.get("/api/recipients?query=al", headers={"Authorization": f"JWT {wrong}"}).status_code == 401
    anonymous = context_token(sub=None)
    assert client.get("/api/recipients?query=al", headers={"Authorization": f"JWT {anonymous}"}).status_code == 401


def test_context_token_in_query_is_not_a_module_token(tenant_app: Flask) -> None:
    assert get_module(tenant_app, context_token()).status_code == 401


def test_served_under_a_path_prefix(app_factory: Any) -> None:
    """Behind a proxy at /pagemail, qsh is over the path relative to the base path."""
    prefixed = app_factory(BASE_URL="https://apps.example.com/pagemail")
    add_tenant(prefixed)
    token = module_token("GET", PATH, QUERY)
    client = prefixed.test_client()
    response = client.get(f"{PATH}?{QUERY}&jwt={token}", environ_base={"SCRIPT_NAME": "/pagemail"})
    assert response.status_code == 200
    # The same token is not valid for a request whose path differs relative to the base path.
    other = client.get(f"/admin/settings?{QUERY}&jwt={token}", environ_base={"SCRIPT_NAME": "/pagemail"})
    assert other.status_code == 401


def test_secret_is_only_used_decrypted_in_memory(tenant_app: Flask) -> None:
    from models import Tenant, db

    with tenant_app.app_context():
        stored = db.session.execute(db.select(Tenant.shared_secret_encrypted)).scalar_one()
    assert SECRET not in stored


def test_secret_changed_by_another_instance_is_picked_up(tenant_app: Flask) -> None:
    """The per-process tenant cache retries a failed signature against the database (re-install elsewhere)."""
    from models import Tenant, db
    from tests.tokens import CLIENT_KEY

    assert get_module(tenant_app, module_token("GET", PATH, QUERY)).status_code == 200  # cached now
    new_secret = "re-installed-secret-" + "n" * 30
    box = tenant_app.extensions["pagemail.secrets"]
    with tenant_app.app_context():
        tenant = db.session.execute(db.select(Tenant)).scalar_one()
        tenant.shared_secret_encrypted = box.encrypt(new_secret, tenant=CLIENT_KEY, field=Tenant.SHARED_SECRET_FIELD)
        db.session.commit()
    assert get_module(tenant_app, module_token("GET", PATH, QUERY, secret=new_secret)).status_code == 200
    assert get_module(tenant_app, module_token("GET", PATH, QUERY, secret="forged-" + "f" * 30)).status_code == 401


def test_request_values_in_the_page_are_escaped(tenant_app: Flask) -> None:
    query = "contentId=123&spaceKey=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    response = get_module(tenant_app, module_token("GET", PATH, query), query=query)
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.data
    assert b"&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in response.data


def test_a_call_that_acts_sees_a_tenant_disabled_by_another_process_at_once(tenant_app: Flask) -> None:
    """This process's tenant cache still holds the tenant as enabled; another process disabled it in the database
    (its lifecycle call, not ours). Reads may go on from the cache for up to its TTL; a call that acts may not."""
    from models import Tenant, db

    client = tenant_app.test_client()
    headers = {"Authorization": f"JWT {context_token()}"}
    assert client.post("/api/send", json={}, headers=headers).status_code == 400  # past the token check: bad body
    assert get_module(tenant_app, module_token("GET", PATH, QUERY)).status_code == 200  # cached
    with tenant_app.app_context():
        db.session.execute(db.update(Tenant).values(enabled=False))
        db.session.commit()
    refused = client.post("/api/send", json={}, headers=headers)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    assert get_module(tenant_app, module_token("GET", PATH, QUERY)).status_code == 401  # the cache now knows too
