"""Microsoft 365 and Google Workspace connections end to end: settings saved through the admin API, a token from the
sandbox's Entra ID or Google token endpoint (over https, its own CA), the mail submitted with AUTH XOAUTH2 over
STARTTLS to the sandbox's provider mail server, and every failure *Test connection* can meet."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mail.oauth.source import MAX_ATTEMPTS
from sandbox.mailcatcher import MailCatcher, make_self_signed_cert
from tests.conftest import LiveStack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"
SIMPLE_PAGE = "2000000001"
GERMAN_PAGE = {"X-Pagemail-Locale": "de-DE"}


@pytest.fixture
def demo(admin_stack: LiveStack) -> Iterator[dict[str, Any]]:
    """The app pointed at the sandbox's providers (as `make run` does), the demo credentials, no trouble."""
    with admin_stack.mail_providers() as answer:
        yield answer


def microsoft_settings(demo: dict[str, Any], **override: str) -> dict[str, Any]:
    ms = demo["microsoft365"]
    values = {"tenantId": ms["tenantId"], "clientId": ms["clientId"], "mailbox": ms["mailbox"]}
    values.update({"clientSecret": ms["clientSecret"], **override})
    return {"smtp": {"mode": "microsoft365", "microsoft365": values}}


def google_settings(demo: dict[str, Any], **override: str) -> dict[str, Any]:
    google = demo["google"]
    values = {"mailbox": google["mailbox"], "serviceAccountKey": google["serviceAccountKey"], **override}
    return {"smtp": {"mode": "google", "google": values}}


def save(stack: LiveStack, body: dict[str, Any]) -> dict[str, Any]:
    answer = stack.api("PUT", "/api/admin/settings", ADA, json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def token_calls(stack: LiveStack) -> list[dict[str, Any]]:
    return [
        entry
        for entry in stack.control("GET", "requests")["requests"]
        if entry["path"].endswith("/oauth2/v2.0/token") or entry["path"] == "/google/token"
    ]


def send(stack: LiveStack) -> Any:
    return stack.api("POST", "/api/send", ADA, json={"contentId": SIMPLE_PAGE, "to": [{"accountId": BEN}]})


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_the_settings_answer_has_both_providers_and_no_secret(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    answer = save(admin_stack, microsoft_settings(demo))
    ms = demo["microsoft365"]
    assert answer["smtp"]["mode"] == "microsoft365"
    assert answer["smtp"]["microsoft365"] == {
        "tenantId": ms["tenantId"],
        "clientId": ms["clientId"],
        "mailbox": ms["mailbox"],
        "clientSecretSet": True,
        "certificateSet": False,
    }
    assert answer["smtp"]["google"] == {"mailbox": "", "serviceAccountKeySet": False, "serviceAccountEmail": ""}
    answer = save(admin_stack, google_settings(demo))
    assert answer["smtp"]["google"] == {
        "mailbox": demo["google"]["mailbox"],
        "serviceAccountKeySet": True,
        "serviceAccountEmail": demo["google"]["serviceAccountEmail"],
    }
    fetched = admin_stack.api("GET", "/api/admin/settings", ADA).text
    for secret in (ms["clientSecret"], "PRIVATE KEY", json.loads(demo["google"]["serviceAccountKey"])["private_key"]):
        assert secret not in fetched


@pytest.mark.parametrize("provider", ["microsoft365", "google"])
def test_a_page_is_sent_as_the_mailbox_with_xoauth2_and_the_token_is_reused(
    admin_stack: LiveStack, demo: dict[str, Any], provider: str
) -> None:
    body = microsoft_settings(demo) if provider == "microsoft365" else google_settings(demo)
    mailbox = demo[provider]["mailbox"]
    save(admin_stack, body)
    admin_stack.control("DELETE", "requests")

    first = send(admin_stack)
    assert first.status_code == 200, first.text
    [mail] = admin_stack.catcher.wait_for(1)
    assert mail.mail_from == mailbox
    assert mail.auth_mechanism == "XOAUTH2" and mail.authenticated_as == mailbox and mail.used_tls
    assert mailbox in parsed(mail.raw)["From"]
    assert len(token_calls(admin_stack)) == 1

    second = send(admin_stack)
    assert second.status_code == 200, second.text
    admin_stack.catcher.wait_for(2)
    assert len(token_calls(admin_stack)) == 1  # the cached token, no second token call


@pytest.mark.parametrize("provider", ["microsoft365", "google"])
def test_the_token_is_asked_for_while_the_page_is_read(
    admin_stack: LiveStack, demo: dict[str, Any], provider: str
) -> None:
    save(admin_stack, microsoft_settings(demo) if provider == "microsoft365" else google_settings(demo))
    admin_stack.control("POST", "faults", json={"latencyMs": 200})  # every call to Confluence and the provider
    admin_stack.control("DELETE", "requests")
    answer = send(admin_stack)
    assert answer.status_code == 200, answer.text
    assert len(admin_stack.catcher.wait_for(1)) == 1
    assert len(token_calls(admin_stack)) == 1
    calls = admin_stack.control("GET", "requests")["requests"]
    provider_calls = [e for e in calls if "/v2.0/" in e["path"] or e["path"].startswith("/google/")]
    downloads = [e for e in calls if e["path"].endswith("/download")]
    # The page's image can only be asked for once the page has been read (200 ms in, at the earliest). The provider
    # is asked before that, not after the image has been fetched and scaled, as when the SMTP sign-in asked for it.
    assert provider_calls and downloads
    assert min(e["at"] for e in provider_calls) < min(e["at"] for e in downloads)


def test_a_revoked_token_is_renewed_once(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    save(admin_stack, microsoft_settings(demo))
    assert send(admin_stack).status_code == 200
    admin_stack.control("POST", "mail-providers/trouble", json={"revokeTokens": True})
    admin_stack.control("DELETE", "requests")

    answer = send(admin_stack)
    assert answer.status_code == 200, answer.text
    assert len(admin_stack.catcher.wait_for(2)) == 2
    assert [call["status"] for call in token_calls(admin_stack)] == [200]  # one renewal, after the 535


def test_an_expired_token_is_renewed(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    admin_stack.control("POST", "mail-providers/trouble", json={"tokenLifetime": 1})
    save(admin_stack, google_settings(demo))
    assert send(admin_stack).status_code == 200
    time.sleep(1.2)  # the token dies (the sandbox refuses it from now on)
    admin_stack.control("DELETE", "requests")
    assert send(admin_stack).status_code == 200
    assert [call["status"] for call in token_calls(admin_stack)] == [200]


def test_a_throttled_token_call_is_retried_after_retry_after(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    save(admin_stack, microsoft_settings(demo))
    tenant = demo["microsoft365"]["tenantId"]
    admin_stack.control(
        "POST",
        "faults",
        json={"rules": [{"pathPrefix": f"/{tenant}/oauth2/v2.0/token", "status": 429, "retryAfter": 1, "count": 1}]},
    )
    admin_stack.control("DELETE", "requests")
    answer = send(admin_stack)
    assert answer.status_code == 200, answer.text
    assert [call["status"] for call in token_calls(admin_stack)] == [429, 200]


def test_throttling_beyond_the_budget_is_a_clear_error(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    save(admin_stack, google_settings(demo))
    rule = {"pathPrefix": "/google/token", "status": 429, "retryAfter": 3600}
    admin_stack.control("POST", "faults", json={"rules": [rule]})
    admin_stack.control("DELETE", "requests")
    answer = send(admin_stack)
    assert answer.status_code == 502, answer.text
    error = answer.json()["error"]
    assert error["code"] == "oauth_rate_limited"
    assert error["details"]["retryAfter"] == 3600  # as the provider said; the budget can't wait that long
    assert admin_stack.catcher.messages() == []
    assert len(token_calls(admin_stack)) == 1


FAILURES = [
    # (provider, trouble or form change, stage, code, provider error)
    ("microsoft365", {"tenantId": "contoso-unknown.example"}, "token", "oauth_tenant_not_found", "AADSTS90002"),
    (
        "microsoft365",
        {"clientId": "11111111-2222-4333-8444-555555555555"},
        "token",
        "oauth_client_not_found",
        "AADSTS700016",
    ),
    ("microsoft365", {"clientSecret": "not-the-secret"}, "token", "oauth_secret_invalid", "AADSTS7000215"),
    ("microsoft365", "secret_expired", "token", "oauth_secret_expired", "AADSTS7000222"),
    ("microsoft365", "consent_missing", "token", "oauth_consent_missing", "AADSTS65001"),
    ("microsoft365", "smtp_auth_disabled", "auth", "smtp_auth_disabled", "535 5.7.139"),
    ("microsoft365", "mailbox_not_authorized", "auth", "smtp_mailbox_not_authorized", "535 5.7.3"),
    ("google", "delegation_missing", "token", "oauth_delegation_missing", "unauthorized_client"),
    ("google", "key_revoked", "token", "oauth_key_invalid", "invalid_grant"),
    ("microsoft365", "clock_skew", "token", "oauth_clock_skew", "AADSTS700024"),
    ("google", "clock_skew", "token", "oauth_clock_skew", "invalid_grant"),
    ("google", {"mailbox": "nobody@pagemail-demo.example"}, "token", "oauth_mailbox_unknown", "invalid_grant"),
]


@pytest.mark.parametrize(("provider", "cause", "stage", "code", "provider_error"), FAILURES)
def test_test_connection_says_precisely_what_failed(
    admin_stack: LiveStack,
    demo: dict[str, Any],
    provider: str,
    cause: str | dict[str, str],
    stage: str,
    code: str,
    provider_error: str,
) -> None:
    change = cause if isinstance(cause, dict) else {}
    body = microsoft_settings(demo, **change) if provider == "microsoft365" else google_settings(demo, **change)
    if isinstance(cause, str):
        admin_stack.control("POST", "mail-providers/trouble", json={"trouble": cause})
    answer = admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["ok"] is False
    assert (result["stage"], result["code"], result["providerError"]) == (stage, code, provider_error)
    assert result["hint"] and result["message"]
    german = admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=body, headers=GERMAN_PAGE).json()
    assert german["code"] == code and german["message"] != result["message"] and german["hint"] != result["hint"]


def test_test_connection_names_throttling(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    rule = {"pathPrefix": "/google/token", "status": 429, "retryAfter": 120}
    admin_stack.control("POST", "faults", json={"rules": [rule]})
    result = admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=google_settings(demo)).json()
    assert (result["ok"], result["stage"], result["code"]) == (False, "token", "oauth_rate_limited")
    assert result["providerError"] == "429" and result["hint"]


@pytest.mark.parametrize("provider", ["microsoft365", "google"])
def test_test_connection_succeeds_with_the_demo_credentials(
    admin_stack: LiveStack, demo: dict[str, Any], provider: str
) -> None:
    body = microsoft_settings(demo) if provider == "microsoft365" else google_settings(demo)
    result = admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=body).json()
    assert result == {
        "ok": True,
        "stage": "auth",
        "message": "Connected",
        "encrypted": True,
        "authenticated": True,
        "authOffered": False,
    }


def test_a_test_mail_goes_out_from_the_mailbox(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    save(admin_stack, google_settings(demo))
    answer = admin_stack.api("POST", "/api/admin/smtp/test-mail", ADA, json={})
    assert answer.json()["ok"] is True, answer.text
    [mail] = admin_stack.catcher.wait_for(1)
    assert mail.mail_from == demo["google"]["mailbox"] and mail.auth_mechanism == "XOAUTH2"


def test_the_saved_secret_is_not_used_for_another_app(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    save(admin_stack, microsoft_settings(demo))
    other = "11111111-2222-4333-8444-555555555555"
    admin_stack.control("DELETE", "requests")
    form = microsoft_settings(demo, clientId=other)
    del form["smtp"]["microsoft365"]["clientSecret"]

    tested = admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=form)
    assert tested.status_code == 400, tested.text
    assert tested.json()["error"]["code"] == "secret_required"
    assert tested.json()["error"]["details"]["field"] == "smtp.microsoft365.clientSecret"
    assert token_calls(admin_stack) == []  # nothing went to any token endpoint

    for change in ({"clientId": other}, {"tenantId": "pagemail-demo.onmicrosoft.com"}):
        saved = admin_stack.api(
            "PUT", "/api/admin/settings", ADA, json={"smtp": {"mode": "microsoft365", "microsoft365": change}}
        )
        assert saved.status_code == 400, saved.text
        assert saved.json()["error"]["details"]["fields"] == {
            "smtp.microsoft365.clientSecret": "must be entered again for another tenant id or client id"
        }
    current = admin_stack.api("GET", "/api/admin/settings", ADA).json()["smtp"]["microsoft365"]
    assert current["clientId"] == demo["microsoft365"]["clientId"]  # nothing saved

    # The same app with the saved secret (no secret in the form) works.
    same = microsoft_settings(demo, mailbox=demo["microsoft365"]["mailbox"])
    del same["smtp"]["microsoft365"]["clientSecret"]
    assert admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=same).json()["ok"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"microsoft365": {"tenantId": "not a tenant"}}, "smtp.microsoft365.tenantId"),
        ({"microsoft365": {"clientId": "1234"}}, "smtp.microsoft365.clientId"),
        ({"microsoft365": {"mailbox": "no-at-sign"}}, "smtp.microsoft365.mailbox"),
        ({"microsoft365": {"clientSecret": " padded "}}, "smtp.microsoft365.clientSecret"),
        ({"microsoft365": "text"}, "smtp.microsoft365"),
        ({"google": {"serviceAccountKey": "{not json"}}, "smtp.google.serviceAccountKey"),
        ({"google": {"serviceAccountKey": '{"type": "authorized_user"}'}}, "smtp.google.serviceAccountKey"),
        ({"mode": "microsoft365"}, "smtp.microsoft365.clientSecret"),
        ({"mode": "google"}, "smtp.google.serviceAccountKey"),
    ],
)
def test_invalid_provider_settings_are_refused_by_field(
    admin_stack: LiveStack, demo: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    answer = admin_stack.api("PUT", "/api/admin/settings", ADA, json={"smtp": body})
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("token_uri", "problem"),
    [
        ("https://evil.example/token", "token_uri must be on oauth2.googleapis.com"),
        ("http://localhost:1/google/token", "token_uri must be an https URL"),
        ("https://user:pw@oauth2.googleapis.com/token", "token_uri must be an https URL"),
    ],
)
def test_a_key_that_would_send_its_assertion_elsewhere_is_refused(
    admin_stack: LiveStack, demo: dict[str, Any], token_uri: str, problem: str
) -> None:
    key = json.loads(demo["google"]["serviceAccountKey"])
    key["token_uri"] = token_uri
    admin_stack.control("DELETE", "requests")
    for method, path in (("PUT", "/api/admin/settings"), ("POST", "/api/admin/smtp/test")):
        answer = admin_stack.api(method, path, ADA, json=google_settings(demo, serviceAccountKey=json.dumps(key)))
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["details"]["fields"]["smtp.google.serviceAccountKey"] == problem
    assert token_calls(admin_stack) == []


def test_secrets_stay_out_of_answers_logs_and_urls(
    admin_stack: LiveStack, demo: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = demo["microsoft365"]["clientSecret"]
    private_key = json.loads(demo["google"]["serviceAccountKey"])["private_key"]
    key_line = private_key.splitlines()[1]
    wrong = f"Wr0ng~{uuid.uuid4().hex}{uuid.uuid4().hex}"  # long and unique: found only where it leaked
    answers = [
        admin_stack.api("PUT", "/api/admin/settings", ADA, json=microsoft_settings(demo)).text,
        admin_stack.api("POST", "/api/admin/smtp/test", ADA, json={}).text,
        admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=microsoft_settings(demo, clientSecret=wrong)).text,
        send(admin_stack).text,
        admin_stack.api("PUT", "/api/admin/settings", ADA, json=google_settings(demo)).text,
        admin_stack.api("POST", "/api/admin/smtp/test", ADA, json={}).text,
        send(admin_stack).text,
        admin_stack.api("GET", "/api/admin/settings", ADA).text,
    ]
    tokens = [grant for grant in admin_stack.sandbox.state.providers.tokens._grants]
    assert tokens, "the sandbox issued tokens"
    for text in (*answers, caplog.text, json.dumps(admin_stack.control("GET", "requests"))):
        for value in (secret, key_line, wrong, *tokens):
            assert value not in text


def other_certificate() -> str:
    """A certificate the demo app never registered."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from sandbox.mail_providers import self_signed_certificate

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = self_signed_certificate(key, "not registered", days=30)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode() + certificate.public_bytes(serialization.Encoding.PEM).decode()


def certificate_settings(demo: dict[str, Any], certificate: str) -> dict[str, Any]:
    body = microsoft_settings(demo)
    del body["smtp"]["microsoft365"]["clientSecret"]
    body["smtp"]["microsoft365"]["certificate"] = certificate
    return body


def test_a_certificate_instead_of_a_secret(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    save(admin_stack, microsoft_settings(demo))
    answer = save(admin_stack, certificate_settings(demo, demo["microsoft365"]["certificate"]))
    ms = answer["smtp"]["microsoft365"]
    assert (ms["certificateSet"], ms["clientSecretSet"]) == (True, False)  # the credential saved last is kept
    assert "PRIVATE KEY" not in json.dumps(answer)
    admin_stack.control("DELETE", "requests")
    sent = send(admin_stack)
    assert sent.status_code == 200, sent.text
    [mail] = admin_stack.catcher.wait_for(1)
    assert mail.auth_mechanism == "XOAUTH2" and mail.mail_from == demo["microsoft365"]["mailbox"]
    assert [call["status"] for call in token_calls(admin_stack)] == [200]

    unknown = certificate_settings(demo, other_certificate())
    result = admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=unknown).json()
    assert (result["ok"], result["code"]) == (False, "oauth_certificate_invalid")
    assert result["providerError"] == "AADSTS700027"


@pytest.mark.parametrize(
    ("certificate", "problem"),
    [
        ("not pem", "must hold the private key and the certificate, both in PEM"),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "holds a private key or certificate that can't be read (an encrypted key must be decrypted first)",
        ),
    ],
)
def test_an_unusable_certificate_is_refused(
    admin_stack: LiveStack, demo: dict[str, Any], certificate: str, problem: str
) -> None:
    answer = admin_stack.api("PUT", "/api/admin/settings", ADA, json=certificate_settings(demo, certificate))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"]["fields"]["smtp.microsoft365.certificate"] == problem


def test_a_certificate_of_another_key_is_refused(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    mine, other = demo["microsoft365"]["certificate"], other_certificate()
    mixed = (
        mine.split("-----BEGIN CERTIFICATE-----")[0]
        + "-----BEGIN CERTIFICATE-----"
        + other.split("-----BEGIN CERTIFICATE-----")[1]
    )
    answer = admin_stack.api("PUT", "/api/admin/settings", ADA, json=certificate_settings(demo, mixed))
    fields = answer.json()["error"]["details"]["fields"]
    assert fields["smtp.microsoft365.certificate"] == "holds a certificate of another key"


def test_the_saved_key_is_not_used_for_another_mailbox(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    """Domain-wide delegation lets a key act as any user of the domain: the saved key stays with its mailbox."""
    save(admin_stack, google_settings(demo))
    other = "someone.else@pagemail-demo.example"
    admin_stack.control("DELETE", "requests")
    form = google_settings(demo, mailbox=other)
    del form["smtp"]["google"]["serviceAccountKey"]

    for path in ("/api/admin/smtp/test", "/api/admin/smtp/test-mail"):
        tested = admin_stack.api("POST", path, ADA, json=form)
        assert tested.status_code == 400, tested.text
        assert tested.json()["error"]["code"] == "secret_required"
        assert tested.json()["error"]["details"]["field"] == "smtp.google.serviceAccountKey"
    assert token_calls(admin_stack) == []  # nothing went to any token endpoint
    assert admin_stack.catcher.messages() == []

    saved = admin_stack.api("PUT", "/api/admin/settings", ADA, json={"smtp": {"google": {"mailbox": other}}})
    assert saved.status_code == 400, saved.text
    assert saved.json()["error"]["details"]["fields"] == {
        "smtp.google.serviceAccountKey": "must be entered again for another mailbox"
    }
    current = admin_stack.api("GET", "/api/admin/settings", ADA).json()["smtp"]["google"]
    assert current["mailbox"] == demo["google"]["mailbox"]  # nothing saved

    # The same mailbox (spelled in other case) with the saved key works; a new key may go with a new mailbox.
    same = google_settings(demo, mailbox=demo["google"]["mailbox"].upper())
    del same["smtp"]["google"]["serviceAccountKey"]
    assert admin_stack.api("POST", "/api/admin/smtp/test", ADA, json=same).json()["ok"] is True
    save(admin_stack, google_settings(demo, mailbox=other))


@pytest.mark.parametrize("provider", ["microsoft365", "google"])
def test_a_provider_without_its_credential_never_falls_back_to_the_operators_server(
    admin_stack: LiveStack, demo: dict[str, Any], provider: str
) -> None:
    """From and envelope would be the tenant's mailbox on the operator's server: refused instead."""
    save(admin_stack, microsoft_settings(demo) if provider == "microsoft365" else google_settings(demo))
    gone = (
        {"ms_client_secret_encrypted": None, "ms_certificate_encrypted": None}
        if provider == "microsoft365"
        else {"google_key_encrypted": None}
    )
    with admin_stack.settings(**gone):
        answer = send(admin_stack)
        german = admin_stack.api(
            "POST", "/api/send", ADA, json={"contentId": SIMPLE_PAGE, "to": [{"accountId": BEN}]}, headers=GERMAN_PAGE
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "smtp_not_configured"
    assert german.json()["error"]["message"] != answer.json()["error"]["message"]
    assert admin_stack.catcher.messages() == []


@pytest.mark.parametrize("provider", ["microsoft365", "google"])
def test_a_mailbox_that_is_not_ascii_is_refused(admin_stack: LiveStack, demo: dict[str, Any], provider: str) -> None:
    """XOAUTH2 carries the mailbox in ASCII: an internationalised address is refused when saved."""
    mailbox = "dörte@pagemail-demo.example"
    body = (
        microsoft_settings(demo, mailbox=mailbox)
        if provider == "microsoft365"
        else google_settings(demo, mailbox=mailbox)
    )
    for method, path in (("PUT", "/api/admin/settings"), ("POST", "/api/admin/smtp/test")):
        answer = admin_stack.api(method, path, ADA, json=body)
        assert answer.status_code == 400, answer.text
        assert f"smtp.{provider}.mailbox" in answer.json()["error"]["details"]["fields"]


def test_a_saved_provider_credential_can_be_removed_once_another_mode_is_chosen(
    admin_stack: LiveStack, demo: dict[str, Any]
) -> None:
    save(admin_stack, google_settings(demo))
    save(admin_stack, microsoft_settings(demo))
    clear_ms = {"smtp": {"microsoft365": {"clearCredential": True}}}
    refused = admin_stack.api("PUT", "/api/admin/settings", ADA, json=clear_ms)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"]["fields"] == {
        "smtp.microsoft365.clearCredential": "can't remove the saved credential while it is the mail connection in use"
    }
    bad = admin_stack.api("PUT", "/api/admin/settings", ADA, json={"smtp": {"google": {"clearServiceAccountKey": 1}}})
    assert bad.json()["error"]["details"]["fields"] == {"smtp.google.clearServiceAccountKey": "must be true or false"}

    answer = save(
        admin_stack, {"smtp": {"mode": "default", **clear_ms["smtp"], "google": {"clearServiceAccountKey": True}}}
    )
    assert answer["smtp"]["microsoft365"]["clientSecretSet"] is False
    assert answer["smtp"]["microsoft365"]["certificateSet"] is False
    assert answer["smtp"]["google"]["serviceAccountKeySet"] is False
    assert answer["smtp"]["google"]["serviceAccountEmail"] == ""
    assert answer["smtp"]["microsoft365"]["tenantId"] == demo["microsoft365"]["tenantId"]  # only the secret goes
    # Without a credential the mode can't be chosen again until one is entered.
    again = admin_stack.api("PUT", "/api/admin/settings", ADA, json={"smtp": {"mode": "microsoft365"}})
    assert again.json()["error"]["details"]["fields"] == {
        "smtp.microsoft365.clientSecret": "is required for Microsoft 365"
    }


def test_leaving_a_provider_gives_back_the_senders_address(
    admin_stack: LiveStack, demo: dict[str, Any], tmp_path: Path
) -> None:
    """microsoft365 → custom → default: From and envelope are the mailbox only while the provider sends."""
    mailbox = demo["microsoft365"]["mailbox"]
    save(admin_stack, {"mail": {"senderAddress": "pages@custom.example"}, **microsoft_settings(demo)})
    assert send(admin_stack).status_code == 200
    [mail] = admin_stack.catcher.wait_for(1)
    assert mail.mail_from == mailbox and mailbox in parsed(mail.raw)["From"]

    cert, key = make_self_signed_cert(tmp_path)
    admin_stack.app.config["SMTP_CA_FILE"] = str(cert)
    try:
        with MailCatcher(tls_cert=(str(cert), str(key))) as own:
            save(
                admin_stack, {"smtp": {"mode": "custom", "host": "localhost", "port": own.port, "security": "starttls"}}
            )
            assert send(admin_stack).status_code == 200
            [custom] = own.wait_for(1)
            assert custom.mail_from == "pages@custom.example"
            assert "pages@custom.example" in parsed(custom.raw)["From"] and mailbox not in parsed(custom.raw)["From"]
    finally:
        admin_stack.app.config["SMTP_CA_FILE"] = demo["smtp"]["caFile"]

    save(admin_stack, {"smtp": {"mode": "default"}})
    assert send(admin_stack).status_code == 200
    default = admin_stack.catcher.wait_for(2)[-1]
    assert default.auth_mechanism is None and mailbox not in parsed(default.raw)["From"]
    assert default.mail_from != mailbox


def test_a_throttled_provider_is_asked_at_most_max_attempts_times(admin_stack: LiveStack, demo: dict[str, Any]) -> None:
    save(admin_stack, google_settings(demo))
    admin_stack.control(
        "POST", "faults", json={"rules": [{"pathPrefix": "/google/token", "status": 429, "retryAfter": 0}]}
    )
    admin_stack.control("DELETE", "requests")
    answer = send(admin_stack)
    assert answer.status_code == 502, answer.text
    assert answer.json()["error"]["code"] == "oauth_rate_limited"
    assert [call["status"] for call in token_calls(admin_stack)] == [429] * MAX_ATTEMPTS
    assert admin_stack.catcher.messages() == []
