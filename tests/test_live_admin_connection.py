"""*Test connection* and *Send me a test mail* tell how the connection really went: a server reached in plain text
or without signing in is reported as such, never as "the connection works" (real SMTP servers, real HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mail.transport import SmtpServer, check_connection
from sandbox.mailcatcher import MailCatcher, make_self_signed_cert
from tests.conftest import LiveStack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin
GERMAN_PAGE = {"X-Pagemail-Locale": "de-DE"}


def test_a_plaintext_anonymous_server_is_reported_as_such(stack: LiveStack) -> None:
    # The live stack's operator server is the sandbox's catcher: plain text, no AUTH.
    answer = stack.api("POST", "/api/admin/smtp/test", ADA, json={"smtp": {"mode": "default"}})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ok": True,
        "stage": "connect",
        "message": "Connected without encryption and without signing in",
        "encrypted": False,
        "authenticated": False,
        "authOffered": False,
    }
    german = stack.api("POST", "/api/admin/smtp/test", ADA, headers=GERMAN_PAGE, json={"smtp": {"mode": "default"}})
    assert german.json()["message"] == "Verbunden, ohne Verschlüsselung und ohne Anmeldung"

    mail = stack.api("POST", "/api/admin/smtp/test-mail", ADA, json={"smtp": {"mode": "default"}})
    assert mail.status_code == 200, mail.text
    assert mail.json()["ok"] is True
    assert (mail.json()["encrypted"], mail.json()["authenticated"]) == (False, False)
    assert mail.json()["message"] == "A test mail is on its way to you, sent without encryption and without signing in"
    caught = stack.catcher.wait_for(1)[0]
    assert not caught.used_tls and caught.authenticated_as is None


@pytest.mark.parametrize("offers_auth", [False, True])
def test_starttls_without_a_username_is_secure_but_not_signed_in(
    stack: LiveStack, tmp_path: Path, offers_auth: bool
) -> None:
    cert, key = make_self_signed_cert(tmp_path)
    stack.app.config["SMTP_CA_FILE"] = str(cert)
    try:
        with MailCatcher(
            tls_cert=(str(cert), str(key)), require_auth=("mailer", "secret") if offers_auth else None
        ) as server:
            smtp = {"mode": "custom", "host": "localhost", "port": server.port, "security": "starttls", "username": ""}
            answer = stack.api("POST", "/api/admin/smtp/test", ADA, json={"smtp": smtp}).json()
    finally:
        stack.app.config.pop("SMTP_CA_FILE", None)
    assert answer["ok"] is True and answer["stage"] == "tls"
    assert answer["message"] == "Connected without signing in"
    assert (answer["encrypted"], answer["authenticated"]) == (True, False)
    # A server that offers sign-in will likely refuse mail without it: the page says so.
    assert answer["authOffered"] is offers_auth


def test_check_connection_reads_encryption_and_sign_in_off_the_connection(tmp_path: Path) -> None:
    with MailCatcher(require_auth=("mailer", "secret")) as plain_with_auth:
        # Signed in, but over plain text: the password itself travelled readable.
        check = check_connection(
            SmtpServer("127.0.0.1", plain_with_auth.port, "none", "mailer", "secret", allow_private=True, timeout=10)
        )
        assert (check.encrypted, check.authenticated) == (False, True)
    cert, key = make_self_signed_cert(tmp_path)
    with MailCatcher(tls_cert=(str(cert), str(key)), implicit_tls=True) as implicit:
        check = check_connection(
            SmtpServer("localhost", implicit.port, "tls", allow_private=True, ca_file=str(cert), timeout=10)
        )
        assert (check.encrypted, check.authenticated, check.auth_offered) == (True, False, False)
