"""Administration over real HTTP: who may change what, validation, the write-only password, the permission gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from models import SpaceSettings, Tenant, TenantSettings, db
from sandbox.mailcatcher import MailCatcher, make_self_signed_cert
from tests.conftest import LiveStack
from tests.tokens import add_tenant

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin, space admin of ENG
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"  # regular; design group; space admin of ENG
DIETER = "712020:9b2e7c41-5d3a-4f8e-b1c6-2a9d8e7f6c05"  # not in design
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"  # space admin of MKT only
ENG_PAGE = "2000000001"
PASSWORD = "correct horse battery staple"


def rows(stack: LiveStack) -> list[tuple[Any, ...]]:
    with stack.app.app_context():
        result = [("t", *r) for r in db.session.execute(sa.text("SELECT * FROM tenant_settings")).all()]
        result += [("s", *r) for r in db.session.execute(sa.text("SELECT * FROM space_settings")).all()]
        return result


def put(stack: LiveStack, account_id: str, body: Any) -> Any:
    return stack.api("PUT", "/api/admin/settings", account_id, json=body)


def test_admin_reads_and_changes_settings(admin_stack: LiveStack) -> None:
    stack = admin_stack
    got = stack.api("GET", "/api/admin/settings", ADA)
    assert got.status_code == 200, got.text
    assert set(got.json()) == {"mail", "layout", "permissions", "smtp", "debugLoggingUntil"}
    changed = put(stack, ADA, {"mail": {"subjectPrefix": "[Wiki]"}, "layout": {"buttonLabel": "Read it"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["mail"]["subjectPrefix"] == "[Wiki]"
    sent = stack.api("POST", "/api/send", BEN, json={"contentId": ENG_PAGE, "to": [{"accountId": ADA}]})
    assert sent.status_code == 200, sent.text
    mail = stack.catcher.wait_for(1)[0].message()
    assert mail["Subject"].startswith("[Wiki] ")
    assert "Read it" in mail.get_body(preferencelist=("html",)).get_content()


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_non_admin_is_refused_and_nothing_changes(admin_stack: LiveStack, method: str) -> None:
    before = rows(admin_stack)
    response = admin_stack.api(method, "/api/admin/settings", BEN, json={"mail": {"subjectPrefix": "x"}})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_site_admin"
    test = admin_stack.api("POST", "/api/admin/smtp/test", BEN, json={})
    assert test.status_code == 403
    assert rows(admin_stack) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mail": {"senderAddress": "not an address"}}, "mail.senderAddress"),
        ({"mail": {"subjectPrefix": "a\r\nBcc: x@example.com"}}, "mail.subjectPrefix"),
        ({"smtp": {"port": 70000}}, "smtp.port"),
        ({"smtp": {"mode": "custom", "host": "169.254.169.254"}}, "smtp.host"),
        ({"smtp": {"mode": "custom", "host": "10.0.0.5"}}, "smtp.host"),
        ({"smtp": {"mode": "custom", "host": ""}}, "smtp.host"),
        ({"layout": {"customCss": "@import url(https://evil.example/x.css);"}}, "layout.customCss"),
        ({"layout": {"customCss": "p { background: url(https://evil.example/t.png) }"}}, "layout.customCss"),
        ({"layout": {"customCss": "p { width: expression(alert(1)) }"}}, "layout.customCss"),
        ({"layout": {"customCss": "p { color: red; }" * 3000}}, "layout.customCss"),
        ({"layout": {"headerText": "x" * 500}}, "layout.headerText"),
        ({"permissions": {"maxRecipients": 0}}, "permissions.maxRecipients"),
        ({"permissions": {"allowedDomains": ["exa mple.com"]}}, "permissions.allowedDomains"),
        ({"debugLoggingHours": 48}, "debugLoggingHours"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_settings_change_nothing(admin_stack: LiveStack, body: dict[str, Any], field: str) -> None:
    before = rows(admin_stack)
    # The live stack allows private mail hosts (its catcher is on loopback); production doesn't.
    admin_stack.app.config["SMTP_ALLOW_PRIVATE_HOSTS"] = False
    try:
        # A valid change in the same request must not be saved either: all or nothing.
        response = put(admin_stack, ADA, {**body, "mail": {**body.get("mail", {}), "senderName": "Changed"}})
    finally:
        admin_stack.app.config["SMTP_ALLOW_PRIVATE_HOSTS"] = True
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_settings" and field in error["details"]["fields"]
    assert rows(admin_stack) == before


def test_password_is_write_only_and_encrypted(admin_stack: LiveStack) -> None:
    stack = admin_stack
    response = put(
        stack,
        ADA,
        {"smtp": {"mode": "custom", "host": "127.0.0.1", "port": 2525, "username": "u", "password": PASSWORD}},
    )
    assert response.status_code == 200, response.text
    assert PASSWORD not in response.text and response.json()["smtp"]["passwordSet"] is True
    assert PASSWORD not in stack.api("GET", "/api/admin/settings", ADA).text
    with stack.app.app_context():
        raw = db.session.execute(sa.text("SELECT smtp_password_encrypted FROM tenant_settings")).scalar_one()
        client_key = db.session.execute(sa.select(Tenant.client_key)).scalar_one()
        assert PASSWORD not in raw and raw.startswith("pm1.")
        box = stack.app.extensions["pagemail.secrets"]
        assert box.decrypt(raw, tenant=client_key, field=TenantSettings.SMTP_PASSWORD_FIELD) == PASSWORD
    # Saving other fields keeps the password; the admin page (module) never contains it either.
    assert put(stack, ADA, {"smtp": {"security": "tls"}}).json()["smtp"]["passwordSet"] is True
    # Not a field it is bound to, though: another username needs the password again (tests/test_live_admin_secrets).
    assert put(stack, ADA, {"smtp": {"username": "v"}}).status_code == 400
    cleared = put(stack, ADA, {"smtp": {"clearPassword": True}})
    assert cleared.json()["smtp"]["passwordSet"] is False


def test_test_connection_with_starttls_and_a_wrong_password(admin_stack: LiveStack, tmp_path: Path) -> None:
    stack = admin_stack
    cert, key = make_self_signed_cert(tmp_path)
    stack.app.config["SMTP_CA_FILE"] = str(cert)
    try:
        with MailCatcher(tls_cert=(str(cert), str(key)), require_auth=("mailer", PASSWORD)) as server:
            smtp = {
                "mode": "custom",
                "host": "localhost",
                "port": server.port,
                "security": "starttls",
                "username": "mailer",
            }
            good = stack.api("POST", "/api/admin/smtp/test", ADA, json={"smtp": {**smtp, "password": PASSWORD}})
            assert good.json() == {
                "ok": True,
                "stage": "auth",
                "message": "Connected",
                "encrypted": True,
                "authenticated": True,
                "authOffered": False,
            }
            bad = stack.api("POST", "/api/admin/smtp/test", ADA, json={"smtp": {**smtp, "password": "nope"}})
            answer = bad.json()
            assert answer["ok"] is False and answer["stage"] == "auth" and "password" in answer["message"]
            assert server.messages() == []
            # Saved as the tenant's own server, the next mail goes through it.
            assert put(stack, ADA, {"smtp": {**smtp, "password": PASSWORD}}).status_code == 200
            mail = stack.api("POST", "/api/admin/smtp/test-mail", ADA, json={})
            assert mail.json()["ok"] is True
            caught = server.wait_for(1)[0]
            assert caught.used_tls and caught.authenticated_as == "mailer"
    finally:
        stack.app.config.pop("SMTP_CA_FILE", None)


def test_debug_logging_switches_itself_off(admin_stack: LiveStack) -> None:
    stack = admin_stack
    on = put(stack, ADA, {"debugLoggingHours": 2}).json()["debugLoggingUntil"]
    assert on is not None
    until = datetime.fromisoformat(on)
    assert timedelta(hours=1, minutes=59) < until - datetime.now(UTC) <= timedelta(hours=2)
    with stack.app.app_context():
        settings = db.session.execute(sa.select(TenantSettings)).scalar_one()
        settings.debug_logging_until = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert stack.api("GET", "/api/admin/settings", ADA).json()["debugLoggingUntil"] is None
    assert put(stack, ADA, {"debugLoggingHours": 25}).status_code == 400


def test_group_restriction_refuses_outsiders_with_a_reason(admin_stack: LiveStack) -> None:
    stack = admin_stack
    design = next(
        g["groupId"]
        for g in stack.api("GET", "/api/recipients", ADA, params={"query": "design"}).json()["groups"]
        if g["name"] == "design"
    )
    saved = put(stack, ADA, {"permissions": {"mode": "groups", "groups": [{"groupId": design}]}})
    assert saved.json()["permissions"]["groups"] == [{"groupId": design, "name": "design"}]
    refused = stack.api("POST", "/api/send", DIETER, json={"contentId": ENG_PAGE, "to": [{"accountId": ADA}]})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_in_allowed_groups"
    # The refusal says which group a sender must be in, not "certain groups".
    assert refused.json()["error"]["details"] == {"groups": "design"}
    assert refused.json()["error"]["message"].endswith("to send pages as mail: design.")
    german = stack.api(
        "POST",
        "/api/send",
        DIETER,
        json={"contentId": ENG_PAGE, "to": [{"accountId": ADA}]},
        headers={"X-Pagemail-Locale": "de-DE"},
    ).json()["error"]["message"]
    assert german == "Ihr Site-Admin erlaubt nur Mitgliedern dieser Gruppen, Seiten als E-Mail zu senden: design."
    setup = stack.api("GET", f"/api/pages/{ENG_PAGE}/attachments", DIETER).json()
    assert setup["canSend"] is False and setup["reason"]
    allowed = stack.api("POST", "/api/send", BEN, json={"contentId": ENG_PAGE, "to": [{"accountId": ADA}]})
    assert allowed.status_code == 200, allowed.text
    assert len(stack.catcher.wait_for(1)) == 1


def test_a_space_group_refusal_names_the_groups(admin_stack: LiveStack) -> None:
    stack = admin_stack
    design = next(
        g["groupId"]
        for g in stack.api("GET", "/api/recipients", BEN, params={"query": "design"}).json()["groups"]
        if g["name"] == "design"
    )
    saved = stack.api("PUT", "/api/spaces/ENG/settings", BEN, json={"enabled": True, "groups": [design]})
    assert saved.status_code == 200, saved.text
    try:
        refused = stack.api("POST", "/api/send", DIETER, json={"contentId": ENG_PAGE, "to": [{"accountId": ADA}]})
        error = refused.json()["error"]
        assert refused.status_code == 403 and error["code"] == "not_in_space_groups"
        assert error["details"] == {"groups": "design"}
        assert error["message"].endswith("to send pages from this space: design.")
    finally:
        assert stack.api("PUT", "/api/spaces/ENG/settings", BEN, json={"enabled": True, "groups": []}).ok


def test_space_settings_only_for_space_admins(admin_stack: LiveStack) -> None:
    stack = admin_stack
    before = rows(stack)
    refused = stack.api("PUT", "/api/spaces/ENG/settings", EMMA, json={"enabled": False})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_space_admin"
    assert rows(stack) == before
    assert stack.api("GET", "/api/spaces/ENG/settings", EMMA).json()["enabled"] is True
    off = stack.api("PUT", "/api/spaces/ENG/settings", BEN, json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    blocked = stack.api("POST", "/api/send", ADA, json={"contentId": ENG_PAGE, "to": [{"accountId": BEN}]})
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "space_disabled"
    assert stack.api("PUT", "/api/spaces/MKT/settings", EMMA, json={"enabled": True}).status_code == 200
    assert stack.api("PUT", "/api/spaces/bad key/settings", BEN, json={"enabled": True}).status_code in (400, 404)
    assert stack.catcher.messages() == []


def test_tenants_stay_apart(admin_stack: LiveStack) -> None:
    """Another tenant's rows are never read or changed through this tenant's tokens."""
    stack = admin_stack
    other_id = add_tenant(stack.app, client_key="other-tenant", base_url="https://other.atlassian.net/wiki")
    try:
        with stack.app.app_context():
            db.session.add(SpaceSettings(tenant_id=other_id, space_key="ENG", enabled=False, group_ids=[]))
            db.session.commit()
        assert stack.api("GET", "/api/spaces/ENG/settings", BEN).json()["enabled"] is True
        assert put(stack, ADA, {"mail": {"subjectPrefix": "[Mine]"}}).status_code == 200
        with stack.app.app_context():
            other = db.session.get(Tenant, other_id)
            assert other is not None and other.settings is not None
            assert other.settings.subject_prefix == "[Confluence]"
    finally:
        with stack.app.app_context():
            db.session.delete(db.session.get(Tenant, other_id))
            db.session.commit()
