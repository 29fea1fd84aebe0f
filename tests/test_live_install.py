"""The sandbox install flow end to end over real HTTP: install, open a module, call the API, uninstall."""

from __future__ import annotations

from pathlib import Path

import requests
import sqlalchemy as sa

from models import Tenant, db
from tests.conftest import LiveStack, running_stack


def test_install_open_dialog_and_uninstall(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        with stack.app.app_context():
            tenant = db.session.execute(sa.select(Tenant)).scalar_one()
            assert tenant.base_url == f"{stack.sandbox.url}/wiki"
            assert tenant.oauth_client_id
        user = next(u for u in stack.users() if "regular" in u.get("roles", []))
        page = next(p for p in stack.pages() if not p.get("restricted"))
        signed = stack.control(
            "GET",
            "module-url",
            params={
                "module": "send-dialog",
                "user": user["accountId"],
                "contentId": page["id"],
                "spaceKey": page["spaceKey"],
            },
        )
        opened = requests.get(signed["url"], timeout=30)
        assert opened.status_code == 200 and 'id="send-dialog"' in opened.text
        tampered = signed["url"].replace(f"contentId={page['id']}", "contentId=1")
        assert requests.get(tampered, timeout=30).status_code == 401
        attachments = stack.api("GET", f"/api/pages/{page['id']}/attachments", user["accountId"])
        assert attachments.status_code == 200, attachments.text
        assert attachments.json()["title"] == page["title"]
        stack.control("POST", "uninstall")
        with stack.app.app_context():
            assert db.session.execute(sa.select(sa.func.count()).select_from(Tenant)).scalar_one() == 0
        assert requests.get(signed["url"], timeout=30).status_code == 401


def test_reinstall_rotates_the_shared_secret(live_stack: LiveStack) -> None:
    with live_stack.app.app_context():
        before = db.session.execute(sa.select(Tenant.shared_secret_encrypted)).scalar_one()
    assert 200 <= int(live_stack.control("POST", "install")["status"]) < 300
    with live_stack.app.app_context():
        after = db.session.execute(sa.select(Tenant.shared_secret_encrypted)).scalar_one()
        box = live_stack.app.extensions["pagemail.secrets"]
        tenant = db.session.execute(sa.select(Tenant)).scalar_one()
        secret = box.decrypt(after, tenant=tenant.client_key, field=Tenant.SHARED_SECRET_FIELD)
    assert after != before
    assert secret == live_stack.sandbox.state.installation.shared_secret
