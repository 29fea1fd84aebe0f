"""The saved mail-server password goes only to the server it was saved for (hardening finding, medium).

The attack: an admin (or whoever holds an admin's session) saves nothing, but asks *Test connection* or *Send me a
test mail* with an unsaved host, port or username, and the app signs in there with the saved password. Here the
"attacker's" servers are real SMTP servers (aiosmtpd, STARTTLS with a certificate the app trusts, so that nothing
but the password rule stops the AUTH) that record every AUTH attempt.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from models import db
from sandbox.mailcatcher import make_self_signed_cert
from tests.conftest import LiveStack
from tests.servers import free_port

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin
PASSWORD = "the saved secret 7f3a"
USERNAME = "mailer"


@dataclass
class RecordingServer:
    """An SMTP server that accepts any AUTH and remembers what it was sent (login, password)."""

    port: int
    attempts: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            with self.lock:
                self.attempts.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True, auth_data=data)

    def seen(self) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.attempts)


class _Accepting:
    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
        return "250 OK"


def rows(stack: LiveStack) -> list[tuple[Any, ...]]:
    with stack.app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text("SELECT * FROM tenant_settings")).all()]


@pytest.fixture
def servers(admin_stack: LiveStack, tmp_path: Path) -> Iterator[tuple[RecordingServer, RecordingServer]]:
    """Two recording servers on loopback: `saved` (the admin's real server) and `rogue` (the attacker's)."""
    cert, key = make_self_signed_cert(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(str(cert), str(key))
    admin_stack.app.config["SMTP_CA_FILE"] = str(cert)
    running: list[Controller] = []
    recorders = []
    try:
        for _ in range(2):
            recorder = RecordingServer(port=free_port())
            controller = Controller(
                _Accepting(),
                hostname="127.0.0.1",
                port=recorder.port,
                server_hostname="recorder",
                tls_context=tls,
                require_starttls=True,
                auth_require_tls=True,
                authenticator=recorder.authenticate,
            )
            controller.start()
            running.append(controller)
            recorders.append(recorder)
        yield recorders[0], recorders[1]
    finally:
        for controller in running:
            controller.stop()
        admin_stack.app.config.pop("SMTP_CA_FILE", None)


def saved_server(port: int) -> dict[str, Any]:
    return {"mode": "custom", "host": "localhost", "port": port, "security": "starttls", "username": USERNAME}


def save_with_password(stack: LiveStack, port: int) -> None:
    answer = stack.api("PUT", "/api/admin/settings", ADA, json={"smtp": {**saved_server(port), "password": PASSWORD}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["smtp"]["passwordSet"] is True


@pytest.mark.parametrize("endpoint", ["/api/admin/smtp/test", "/api/admin/smtp/test-mail"])
def test_the_saved_password_never_goes_to_another_host(
    admin_stack: LiveStack, servers: tuple[RecordingServer, RecordingServer], endpoint: str
) -> None:
    saved, rogue = servers
    save_with_password(admin_stack, saved.port)

    # The attack: the rogue server, the saved username, no password in the request.
    for other in (
        {"port": rogue.port},  # same host name, another port: another server
        {"host": "127.0.0.1", "port": rogue.port},  # another host
    ):
        answer = admin_stack.api("POST", endpoint, ADA, json={"smtp": {**saved_server(saved.port), **other}})
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "password_required"
        assert error["details"]["field"] == "smtp.password"
        assert "password" in error["message"]
    assert rogue.seen() == [], "the saved password reached a server it was not saved for"

    # Another host name for the very same server is another host too: the rule compares what was saved.
    answer = admin_stack.api("POST", endpoint, ADA, json={"smtp": {**saved_server(saved.port), "host": "127.0.0.1"}})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "password_required"
    # And another username on the saved server doesn't get the saved password either.
    answer = admin_stack.api("POST", endpoint, ADA, json={"smtp": {**saved_server(saved.port), "username": "boss"}})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "password_required"
    assert saved.seen() == []

    # The host, port and username it was saved for (unsaved form or saved settings) still get it.
    assert admin_stack.api("POST", endpoint, ADA, json={"smtp": saved_server(saved.port)}).json()["ok"] is True
    assert admin_stack.api("POST", endpoint, ADA, json={}).json()["ok"] is True
    assert saved.seen() == [(USERNAME, PASSWORD), (USERNAME, PASSWORD)]

    # A password typed into the form goes where the form says: it is the admin's own to give.
    typed = {**saved_server(saved.port), "port": rogue.port, "password": "typed just now"}
    assert admin_stack.api("POST", endpoint, ADA, json={"smtp": typed}).json()["ok"] is True
    assert rogue.seen() == [(USERNAME, "typed just now")]


def test_saving_another_host_without_the_password_is_refused(
    admin_stack: LiveStack, servers: tuple[RecordingServer, RecordingServer]
) -> None:
    saved, rogue = servers
    save_with_password(admin_stack, saved.port)
    before = rows(admin_stack)

    for change in ({"host": "127.0.0.1"}, {"port": rogue.port}, {"username": "boss"}):
        answer = admin_stack.api("PUT", "/api/admin/settings", ADA, json={"smtp": change, "mail": {"senderName": "X"}})
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_settings"
        assert set(error["details"]["fields"]) == {"smtp.password"}, error
        assert rows(admin_stack) == before, "nothing is saved, not even the valid change next to it"

    # Then the saved settings still send the password only to the saved server.
    assert admin_stack.api("POST", "/api/admin/smtp/test", ADA, json={}).json()["ok"] is True
    assert rogue.seen() == [] and saved.seen() == [(USERNAME, PASSWORD)]

    # Fields the password isn't bound to change freely, and it stays.
    kept = admin_stack.api("PUT", "/api/admin/settings", ADA, json={"smtp": {"host": "LocalHost"}})
    assert kept.status_code == 200 and kept.json()["smtp"]["passwordSet"] is True

    # With the password typed again, or with the saved one removed, the new server is saved.
    moved = admin_stack.api(
        "PUT", "/api/admin/settings", ADA, json={"smtp": {"port": rogue.port, "password": "for the new one"}}
    )
    assert moved.status_code == 200 and moved.json()["smtp"]["passwordSet"] is True
    cleared = admin_stack.api(
        "PUT", "/api/admin/settings", ADA, json={"smtp": {"username": "nobody", "clearPassword": True}}
    )
    assert cleared.status_code == 200 and cleared.json()["smtp"]["passwordSet"] is False
    assert cleared.json()["smtp"]["username"] == "nobody"
