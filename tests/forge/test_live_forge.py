"""The Forge door over real HTTP: the sandbox plays the Forge platform (JWKS, invocation tokens, the API gateway,
lifecycle events), the app is its remote. Sends end in the SMTP catcher; refused invocations change nothing."""

from __future__ import annotations

import base64
import copy
import email
import email.policy
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization

from models import SpaceSettings, Tenant, TenantSettings, db
from tests.forge_stack import ForgeStack, running_forge_stack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin, admin of ENG
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"  # regular user, admin of ENG
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"  # admin of MKT only; can't read the restricted page
APP_BOT = "63a1f0c2e4b5d6978a0b1c2d"  # the app's account in the sandbox (system token calls)
SIMPLE_PAGE = "2000000001"
RESTRICTED_PAGE = "1514897411"


@pytest.fixture(scope="module")
def forge_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForgeStack]:
    with running_forge_stack(tmp_path_factory.mktemp("forge")) as stack:
        yield stack


@pytest.fixture
def stack(forge_stack: ForgeStack) -> ForgeStack:
    return forge_stack.for_a_test()


def rows(stack: ForgeStack) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a request could change, to prove a refused one changed nothing."""
    with stack.app.app_context():
        return {
            model.__tablename__: [tuple(row) for row in db.session.execute(sa.select(model.__table__)).all()]
            for model in (Tenant, TenantSettings, SpaceSettings)
        }


def forge_tenant(stack: ForgeStack) -> Tenant | None:
    with stack.app.app_context():
        tenant = db.session.execute(sa.select(Tenant).where(Tenant.door == Tenant.FORGE)).scalar_one_or_none()
        if tenant is not None:
            db.session.expunge(tenant)
        return tenant


def test_the_forge_installation_is_a_tenant_of_its_own(stack: ForgeStack) -> None:
    with stack.app.app_context():
        tenants = {t.door: t for t in db.session.execute(sa.select(Tenant)).scalars()}
        assert set(tenants) == {"connect", "forge"}
        forge, connect = tenants["forge"], tenants["connect"]
        assert forge.client_key == f"forge:{stack.forge.cloud_id}" and forge.cloud_id == connect.cloud_id
        assert forge.installation_id == stack.forge.installation_ari
        assert forge.base_url == stack.forge.api_base_url
        assert forge.settings is not None and forge.oauth_client_id is None


def test_a_send_through_the_forge_door_arrives(stack: ForgeStack) -> None:
    response = stack.forge_api(
        "POST",
        "/api/send",
        ADA,
        json={"contentId": SIMPLE_PAGE, "to": [{"accountId": BEN}], "message": "Through Forge"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["sent"] is True
    mail = stack.catcher.wait_for(1)[0]
    users = {u["accountId"]: u for u in stack.users()}
    assert [a.lower() for a in mail.rcpt_tos] == [users[BEN]["email"].lower()]
    message = email.message_from_bytes(mail.raw, policy=email.policy.default)
    assert message["Reply-To"].addresses[0].addr_spec == users[ADA]["email"]
    assert "Through Forge" in message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    calls = stack.control("GET", "requests")["requests"]
    rest = [c for c in calls if c["path"].startswith("/ex/confluence/")]
    assert rest and all(c["auth"] == "bearer" for c in rest)
    assert not [c for c in calls if c["path"].startswith("/wiki/rest/")], "nothing goes around the gateway"
    # Content as the user; as the app only the email lookup and the per-recipient permission check.
    as_app = {c["path"].split("/wiki/rest/api/", 1)[1] for c in rest if c["accountId"] == APP_BOT}
    assert as_app and all(p == "user/email/bulk" or p.endswith("/permission/check") for p in as_app), as_app
    content = [c for c in rest if c["path"].endswith(f"/content/{SIMPLE_PAGE}")]
    assert content and all(c["accountId"] == ADA for c in content)


def test_the_forge_door_reads_as_the_user(stack: ForgeStack) -> None:
    before = rows(stack)
    refused = stack.forge_api(
        "POST", "/api/send", EMMA, json={"contentId": RESTRICTED_PAGE, "to": [{"accountId": BEN}]}
    )
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "page_not_found"
    assert stack.catcher.messages() == [] and rows(stack) == before


def test_admin_settings_through_the_forge_door(stack: ForgeStack) -> None:
    saved = stack.forge_api("PUT", "/api/admin/settings", ADA, json={"mail": {"subjectPrefix": "[Forge]"}})
    assert saved.status_code == 200, saved.text
    assert stack.forge_api("GET", "/api/admin/settings", ADA).json()["mail"]["subjectPrefix"] == "[Forge]"
    before = rows(stack)
    denied = stack.forge_api("PUT", "/api/admin/settings", BEN, json={"mail": {"subjectPrefix": "[Ben]"}})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_site_admin"
    assert rows(stack) == before
    # The same site's Connect tenant keeps its own settings.
    connect = stack.api("GET", "/api/admin/settings", ADA).json()
    assert connect["mail"]["subjectPrefix"] == "[Confluence]"


def test_space_settings_through_the_forge_door(stack: ForgeStack) -> None:
    answer = stack.forge_api("GET", "/api/spaces/ENG/settings", BEN)
    assert answer.status_code == 200 and answer.json()["canChange"] is True
    saved = stack.forge_api("PUT", "/api/spaces/ENG/settings", BEN, json={"enabled": False})
    assert saved.status_code == 200 and saved.json()["enabled"] is False
    before = rows(stack)
    denied = stack.forge_api("PUT", "/api/spaces/ENG/settings", EMMA, json={"enabled": True})
    assert denied.status_code == 403 and rows(stack) == before
    refused = stack.forge_api("POST", "/api/send", BEN, json={"contentId": SIMPLE_PAGE, "to": [{"accountId": ADA}]})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "space_disabled"
    assert stack.forge_api("PUT", "/api/spaces/ENG/settings", BEN, json={"enabled": True}).status_code == 200
    # Connect's tenant of the same site has no row for the space.
    assert stack.api("GET", "/api/spaces/ENG/settings", BEN).json()["enabled"] is True


# -- refused invocation tokens ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def hs256_with_public_key(stack: ForgeStack, claims: dict[str, Any]) -> str:
    """The classic confusion: HS256 keyed with the RS256 public key (as PEM), which a lax verifier would accept."""
    pem = stack.forge.keys.current.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": stack.forge.keys.current.kid}, claims)
    return signing_input + "." + _b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


def changed(change: Callable[[dict[str, Any]], None]) -> Callable[[ForgeStack], str]:
    def make(stack: ForgeStack) -> str:
        claims = copy.deepcopy(stack.forge.claims(ADA))
        change(claims)
        return str(stack.forge.keys.sign(claims))

    return make


def another_key(stack: ForgeStack) -> str:
    from sandbox.forge_platform import SigningKey

    impostor = SigningKey(kid=stack.forge.keys.current.kid)  # the published kid, another private key
    return str(stack.forge.keys.sign(stack.forge.claims(ADA), impostor))


def unknown_kid(stack: ForgeStack) -> str:
    from sandbox.forge_platform import SigningKey

    return str(stack.forge.keys.sign(stack.forge.claims(ADA), SigningKey()))


NOW = time.time
BAD_TOKENS: dict[str, Callable[[ForgeStack], str]] = {
    "wrong aud": changed(lambda c: c.update(aud="ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000")),
    "wrong iss": changed(lambda c: c.update(iss="forge/other-token")),
    "expired": changed(lambda c: c.update(iat=int(NOW()) - 900, nbf=int(NOW()) - 900, exp=int(NOW()) - 60)),
    "not yet valid": changed(lambda c: c.update(nbf=int(NOW()) + 120, exp=int(NOW()) + 600)),
    "no exp": changed(lambda c: c.pop("exp")),
    "unknown kid": unknown_kid,
    "another key": another_key,
    "alg none": lambda stack: _unsigned({"alg": "none", "typ": "JWT"}, stack.forge.claims(ADA)) + ".",
    "HS256 with the public key": lambda stack: hs256_with_public_key(stack, stack.forge.claims(ADA)),
    "missing principal": changed(lambda c: c.pop("principal")),
    "disallowed apiBaseUrl": changed(
        lambda c: c["app"].update(apiBaseUrl="https://evil.example.com/ex/confluence/" + c["context"]["cloudId"])
    ),
    "no cloudId": changed(lambda c: c["context"].pop("cloudId")),
    "another site": changed(lambda c: c["context"].update(cloudId="0badc0de-0000-4000-8000-000000000000")),
    "another installation": changed(
        lambda c: c["app"].update(installationId="ari:cloud:ecosystem::installation/not-the-current-one")
    ),
    "no installation": changed(lambda c: c["app"].pop("installationId")),
    "tampered payload": lambda stack: (
        lambda token: ".".join(
            [token.split(".")[0], _b64(json.dumps({**stack.forge.claims(BEN)}).encode()), token.split(".")[2]]
        )
    )(stack.forge.keys.sign(stack.forge.claims(ADA))),
    "garbage": lambda stack: "not-a-token",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_bad_invocation_tokens_are_refused_and_change_nothing(stack: ForgeStack, case: str) -> None:
    headers = stack.invocation_headers(ADA)
    headers["Authorization"] = "Bearer " + BAD_TOKENS[case](stack)
    before = rows(stack)
    for method, path, body in (
        ("PUT", "/api/admin/settings", {"mail": {"subjectPrefix": "[Hijacked]"}}),
        ("PUT", "/api/spaces/ENG/settings", {"enabled": False}),
        ("POST", "/api/send", {"contentId": SIMPLE_PAGE, "to": [{"accountId": BEN}]}),
    ):
        response = stack.http.request(method, f"{stack.app_url}{path}", headers=headers, json=body, timeout=30)
        assert response.status_code == 401, (case, path, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
        assert "eyJ" not in response.text  # the reason, never the token
    assert rows(stack) == before
    assert stack.catcher.messages() == []


@pytest.mark.parametrize("missing", ["x-forge-oauth-user", "x-forge-oauth-system"])
def test_a_call_without_the_forge_tokens_is_refused(stack: ForgeStack, missing: str) -> None:
    headers = stack.invocation_headers(ADA)
    del headers[missing]
    response = stack.http.get(f"{stack.app_url}/api/admin/settings", headers=headers, timeout=30)
    assert response.status_code == 401


def test_connect_tokens_and_forge_tokens_stay_at_their_own_door(stack: ForgeStack) -> None:
    forge_headers = stack.invocation_headers(ADA)
    # A FIT sent as a Connect credential, and a Connect context token sent as a Forge one.
    as_jwt = {"Authorization": "JWT " + forge_headers["Authorization"].split(" ", 1)[1]}
    assert stack.http.get(f"{stack.app_url}/api/admin/settings", headers=as_jwt, timeout=30).status_code == 401
    as_bearer = {**forge_headers, "Authorization": "Bearer " + stack.context_token(ADA)}
    assert stack.http.get(f"{stack.app_url}/api/admin/settings", headers=as_bearer, timeout=30).status_code == 401
    # The sandbox's gateway takes no Connect credential, and the site's REST routes take no Forge token.
    gateway = f"{stack.forge.api_base_url}/wiki/rest/api/user/current"
    assert stack.http.get(gateway, headers={"Authorization": "JWT x.y.z"}, timeout=30).status_code == 401
    site = f"{stack.sandbox.url}/wiki/rest/api/user/current"
    user_token = {"Authorization": "Bearer " + forge_headers["x-forge-oauth-user"]}
    assert stack.http.get(site, headers=user_token, timeout=30).status_code == 401
    assert stack.http.get(gateway, headers=user_token, timeout=30).status_code == 200


def test_signing_key_rotation(stack: ForgeStack) -> None:
    store = stack.app.extensions["pagemail.forge_keys"]
    store.min_refresh = 0.0  # the production pause between fetches (60 s) is unit-tested in test_jwks.py
    try:
        stack.forge_control("POST", "rotate-key")  # a new key, the old one still published
        assert stack.forge_api("GET", "/api/admin/settings", ADA).status_code == 200
        old = stack.forge.keys.current
        stack.forge_control("POST", "rotate-key", json={"keepOld": False})
        # A withdrawn key verifies until the cached set is older than max_age (an hour in production).
        store.max_age = 0.0
        stale = stack.invocation_headers(ADA)
        stale["Authorization"] = "Bearer " + stack.forge.keys.sign(stack.forge.claims(ADA), old)
        refused = stack.http.get(f"{stack.app_url}/api/admin/settings", headers=stale, timeout=30)
        assert refused.status_code == 401
        assert stack.forge_api("GET", "/api/admin/settings", ADA).status_code == 200
    finally:
        store.min_refresh, store.max_age = 60.0, 3600.0


# -- lifecycle --------------------------------------------------------------------------------------------------


def post_lifecycle(stack: ForgeStack, token: str, body: dict[str, Any]) -> Any:
    return stack.http.post(
        f"{stack.app_url}/lifecycle/forge", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def uninstall_body(stack: ForgeStack, **changes: Any) -> dict[str, Any]:
    body = {
        "id": stack.forge.installation_ari,
        "eventType": "avi:forge:uninstalled:app",
        "context": f"ari:cloud:confluence::site/{stack.forge.cloud_id}",
        "app": {"id": stack.forge.app_id, "version": "1.0.0"},
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "case",
    ["expired", "another app", "body of another installation", "body of another site", "unknown event", "no token"],
)
def test_refused_lifecycle_events_change_nothing(stack: ForgeStack, case: str) -> None:
    claims = stack.forge.claims(None)
    body = uninstall_body(stack)
    if case == "expired":
        claims.update(nbf=int(time.time()) - 900, exp=int(time.time()) - 120)
    elif case == "another app":
        claims["aud"] = "ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000"
    elif case == "body of another installation":
        body["id"] = "ari:cloud:ecosystem::installation/someone-else"
    elif case == "body of another site":
        body["context"] = "ari:cloud:confluence::site/0badc0de-0000-4000-8000-000000000000"
    elif case == "unknown event":
        body["eventType"] = "avi:forge:deleted:everything"
    token = "" if case == "no token" else stack.forge.keys.sign(claims)
    before = rows(stack)
    response = post_lifecycle(stack, token, body)
    assert response.status_code in (400, 401), response.text
    assert rows(stack) == before


def test_uninstall_deletes_the_tenant_and_all_it_owns(tmp_path: Path) -> None:
    with running_forge_stack(tmp_path) as stack:
        assert stack.forge_api("PUT", "/api/spaces/ENG/settings", BEN, json={"enabled": False}).status_code == 200
        assert stack.forge_api("PUT", "/api/admin/settings", ADA, json={"mail": {"subjectPrefix": "[F]"}}).ok
        tenant = forge_tenant(stack)
        assert tenant is not None
        headers = stack.invocation_headers(ADA)
        # A late uninstall of an earlier installation deletes nothing.
        stale = stack.forge.claims(None)
        stale["app"]["installationId"] = "ari:cloud:ecosystem::installation/an-earlier-one"
        answer = post_lifecycle(
            stack, stack.forge.keys.sign(stale), uninstall_body(stack, id=stale["app"]["installationId"])
        )
        assert answer.status_code == 200 and forge_tenant(stack) is not None
        assert stack.forge_control("POST", "uninstall")["answer"]["status"] == 200
        with stack.app.app_context():
            for model in (TenantSettings, SpaceSettings):
                owned = sa.select(sa.func.count()).select_from(model).where(model.tenant_id == tenant.id)
                assert db.session.execute(owned).scalar_one() == 0
            assert db.session.execute(sa.select(Tenant.door)).scalars().all() == ["connect"]
        # The invocation's tokens no longer open anything.
        assert stack.http.get(f"{stack.app_url}/api/admin/settings", headers=headers, timeout=30).status_code == 401
        # Installing again starts afresh, with the defaults.
        assert stack.forge_control("POST", "install")["answer"]["status"] == 200
        assert stack.forge_api("GET", "/api/admin/settings", ADA).json()["mail"]["subjectPrefix"] == "[Confluence]"
