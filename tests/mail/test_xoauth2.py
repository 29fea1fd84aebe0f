"""Tokens for mail submission without the app: the sandbox's real token endpoints (https, its own CA) and its
provider mail server (STARTTLS, AUTH XOAUTH2), MSAL and google-auth, the token cache (memory and Redis) and the
meaning of every provider refusal."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from connect.outgoing import MemoryTokenCache
from connect.token_store import RedisTokenCache
from mail.oauth import google, microsoft
from mail.oauth.cache import CachedTokens, cache_key
from mail.oauth.errors import TokenError, google_failure, microsoft_failure, smtp_refusal
from mail.oauth.source import TokenSource
from mail.transport import MailServerError, SmtpServer, ValidationError, check_connection, xoauth2_response
from models.secrets import LocalKeyBox
from sandbox import SandboxConfig
from sandbox.testing import RunningSandbox, run_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(SandboxConfig(smtp_port=0, start_smtp=True), host_name="localhost") as running:
        yield running


@pytest.fixture
def demo(sandbox: RunningSandbox) -> Iterator[dict[str, Any]]:
    sandbox.state.providers.reset()
    sandbox.state.faults.reset()
    sandbox.state.requests.clear()
    yield requests.get(f"{sandbox.url}/_sandbox/mail-providers", timeout=10).json()
    sandbox.state.providers.reset()
    sandbox.state.faults.reset()


LOCAL = ("localhost", "127.0.0.1")  # the sandbox's token endpoint, allowed in local work


def budget() -> float:
    """The action's time left: plenty, for the tests that are not about the budget."""
    return 60.0


def ms_app(sandbox: RunningSandbox, demo: dict[str, Any], **change: str) -> microsoft.MicrosoftApp:
    ms = demo["microsoft365"]
    values = {"tenant_id": ms["tenantId"], "client_id": ms["clientId"], "client_secret": ms["clientSecret"], **change}
    return microsoft.MicrosoftApp(sandbox.tls_url, **values)


def token_calls(sandbox: RunningSandbox) -> list[int]:
    return [
        e["status"]
        for e in sandbox.state.requests.entries()
        if e["path"].endswith("/oauth2/v2.0/token") or e["path"] == "/google/token"
    ]


def server(sandbox: RunningSandbox, demo: dict[str, Any], source: TokenSource, mailbox: str) -> SmtpServer:
    port = demo["smtp"]["port"]
    return SmtpServer("localhost", port, "starttls", mailbox, allow_private=True, ca_file=demo["smtp"]["caFile"],
                      oauth=source)  # fmt: skip


def test_the_xoauth2_response_is_the_documented_one() -> None:
    # https://developers.google.com/gmail/imap/xoauth2-protocol: base64("user=" + user + "^Aauth=Bearer " + token
    # + "^A^A"); smtplib adds the base64.
    raw = xoauth2_response("someone@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert base64.b64encode(raw.encode()).decode() == (
        "dXNlcj1zb21lb25lQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIHlhMjkudkY5ZGZ0NHFtVGMyTnZiM1JsY2tCaGRIUmhkbWx6ZEdFdVkyOXRD"
        "ZwEB"
    )


def test_microsoft_token_through_msal_asks_only_the_configured_authority(
    sandbox: RunningSandbox, demo: dict[str, Any]
) -> None:
    token, lifetime = microsoft.fetch_token(ms_app(sandbox, demo), demo["smtp"]["caFile"], remaining=budget)
    assert token and lifetime == 3599
    grant = sandbox.state.providers.grant(token)
    assert grant is not None and grant.scopes == frozenset({"SMTP.SendAsApp"})
    paths = [e["path"] for e in sandbox.state.requests.entries()]
    tenant = demo["microsoft365"]["tenantId"]
    assert paths == [f"/{tenant}/v2.0/.well-known/openid-configuration", f"/{tenant}/oauth2/v2.0/token"]


def test_the_private_ca_must_be_trusted(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    with pytest.raises(TokenError) as caught:
        microsoft.fetch_token(
            ms_app(sandbox, demo), None, remaining=budget
        )  # the system store does not know the sandbox's CA
    assert caught.value.code == "oauth_unavailable" and caught.value.provider_error == "SSLError"
    with pytest.raises(TokenError) as caught:
        google.fetch_token(
            demo["google"]["serviceAccountKey"], demo["google"]["mailbox"], None, remaining=budget, extra_hosts=LOCAL
        )
    assert caught.value.code == "oauth_unavailable"


def test_google_token_is_for_the_mailbox(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    token, _ = google.fetch_token(
        demo["google"]["serviceAccountKey"],
        demo["google"]["mailbox"],
        demo["smtp"]["caFile"],
        remaining=budget,
        extra_hosts=LOCAL,
    )
    grant = sandbox.state.providers.grant(token)
    assert grant is not None and grant.account_id == demo["google"]["mailbox"]


@pytest.mark.parametrize(
    ("body", "status", "code", "provider_error"),
    [
        ({"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant 'x' not found."}, 400,
         "oauth_tenant_not_found", "AADSTS90002"),
        ({"error": "unauthorized_client", "error_codes": [700016]}, 400, "oauth_client_not_found", "AADSTS700016"),
        ({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}, 401,
         "oauth_secret_invalid", "AADSTS7000215"),
        ({"error": "invalid_client", "error_description": "AADSTS7000222: The provided client secret keys for app "
          "'x' are expired."}, 401, "oauth_secret_expired", "AADSTS7000222"),
        ({"error": "invalid_grant", "error_description": "AADSTS65001: not consented"}, 400, "oauth_consent_missing",
         "AADSTS65001"),
        ({"error": "invalid_resource", "error_description": "AADSTS500011: The resource principal named "
          "https://outlook.office365.com was not found in the tenant named x."}, 400, "oauth_exchange_missing",
         "AADSTS500011"),
        ({"error": "unauthorized_client", "error_description": "AADSTS7000112: Application "
          "'4f1c2a9e-0000-4000-8000-000000000000'(pagemail) is disabled."}, 400, "oauth_app_disabled", "AADSTS7000112"),
        ({"error": "server_error"}, 503, "oauth_unavailable", "503"),
        ({"error": "invalid_request", "error_description": "AADSTS900144: missing"}, 400, "oauth_failed",
         "AADSTS900144"),
        (None, None, "oauth_failed", ""),
    ],
)  # fmt: skip
def test_microsoft_refusals(body: dict[str, Any] | None, status: int | None, code: str, provider_error: str) -> None:
    error = microsoft_failure(body, status)
    assert (error.code, error.provider_error, error.stage) == (code, provider_error, "token")
    assert error.details["hint"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": "unauthorized_client", "error_description": "Client is unauthorized"}, "oauth_delegation_missing"),
        ({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, "oauth_key_invalid"),
        ({"error": "invalid_grant", "error_description": "Invalid grant: account not found"}, "oauth_key_invalid"),
        ({"error": "invalid_grant", "error_description": "Invalid email or User ID"}, "oauth_mailbox_unknown"),
        ({"error": "invalid_scope"}, "oauth_failed"),
    ],
)
def test_google_refusals(body: dict[str, Any], code: str) -> None:
    assert google_failure(body, 400).code == code


@pytest.mark.parametrize(
    ("reply", "code", "provider_error"),
    [
        ("5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit "
         "https://aka.ms/smtp_auth_disabled for more information.", "smtp_auth_disabled", "535 5.7.139"),
        ("5.7.3 Authentication unsuccessful [AM0PR06CA0126.eurprd06.prod.outlook.com]", "smtp_mailbox_not_authorized",
         "535 5.7.3"),
        ("5.7.8 Username and Password not accepted.", "smtp_token_refused", "535 5.7.8"),
    ],
)  # fmt: skip
def test_smtp_refusals(reply: str, code: str, provider_error: str) -> None:
    error = smtp_refusal(535, reply)
    assert (error.code, error.provider_error, error.stage) == (code, provider_error, "auth")


def test_a_refused_token_is_dropped_and_renewed_once(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    cache = MemoryTokenCache()
    app = ms_app(sandbox, demo)
    source = TokenSource("microsoft365", lambda: microsoft.fetch_token(app, demo["smtp"]["caFile"], remaining=budget),
                         CachedTokens(cache, cache_key("tenant-a", "microsoft365")), budget)  # fmt: skip
    connection = server(sandbox, demo, source, demo["microsoft365"]["mailbox"])
    assert check_connection(connection).authenticated
    assert check_connection(connection).authenticated
    assert token_calls(sandbox) == [200]  # cached
    sandbox.state.providers.tokens.revoke_all()
    assert check_connection(connection).authenticated
    assert token_calls(sandbox) == [200, 200]  # one renewal after the 535
    sandbox.state.providers.configure({"trouble": "smtp_auth_disabled"})
    with pytest.raises(MailServerError) as caught:
        check_connection(connection)
    assert (caught.value.code, caught.value.stage) == ("smtp_auth_disabled", "auth")
    assert token_calls(sandbox) == [200, 200]  # SMTP AUTH is off: a new token would not help, none is fetched


def test_gmail_style_refusal_with_a_challenge_is_read(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    key, mailbox = demo["google"]["serviceAccountKey"], demo["google"]["mailbox"]
    ca_file = demo["smtp"]["caFile"]

    def fetch() -> tuple[str, float]:
        return google.fetch_token(key, mailbox, ca_file, remaining=budget, extra_hosts=LOCAL)

    source = TokenSource("google", fetch, CachedTokens(MemoryTokenCache(), cache_key("tenant-a", "google")), budget)
    # Signing in as another mailbox than the token's: Gmail answers a 334 challenge, then 535 5.7.8.
    with pytest.raises(MailServerError) as caught:
        check_connection(server(sandbox, demo, source, demo["google"]["otherMailbox"]))
    assert (caught.value.code, caught.value.details["providerError"]) == ("smtp_token_refused", "535 5.7.8")


def test_throttling_waits_for_retry_after_within_the_budget(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    tenant = demo["microsoft365"]["tenantId"]
    rule = {"pathPrefix": f"/{tenant}/oauth2/v2.0/token", "status": 429, "retryAfter": 7, "count": 1}
    sandbox.state.faults.replace({"rules": [rule]})
    waits: list[float] = []
    app = ms_app(sandbox, demo)
    source = TokenSource("microsoft365", lambda: microsoft.fetch_token(app, demo["smtp"]["caFile"], remaining=budget),
                         CachedTokens(MemoryTokenCache(), "k"), remaining=lambda: 60.0, sleep=waits.append)  # fmt: skip
    assert source.token()
    assert waits == [7.0] and token_calls(sandbox) == [429, 200]

    sandbox.state.faults.replace({"rules": [rule]})
    short = TokenSource("microsoft365", source.fetch, CachedTokens(MemoryTokenCache(), "k"), remaining=lambda: 12.0,
                        sleep=waits.append)  # fmt: skip
    with pytest.raises(TokenError) as caught:
        short.token()
    assert caught.value.code == "oauth_rate_limited" and caught.value.details["retryAfter"] == 7
    assert waits == [7.0]  # no wait the budget can't afford


def test_tokens_never_go_over_plain_text() -> None:
    class Never:
        def token(self) -> str:
            raise AssertionError("no token for a plain-text connection")

        def refused(self) -> None: ...

        def refusal(self, code: int, text: str) -> MailServerError:
            raise AssertionError

    with pytest.raises(ValidationError):
        check_connection(SmtpServer("localhost", 25, "none", "a@b.example", allow_private=True, oauth=Never()))


def key_with(demo: dict[str, Any], **change: Any) -> str:
    key = json.loads(demo["google"]["serviceAccountKey"])
    key.update(change)
    return json.dumps(key)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"token_uri": "https://oauth2.googleapis.com/token"}, None),
        ({"token_uri": "https://attacker.example/token"}, "token_uri must be on oauth2.googleapis.com"),
        ({"token_uri": "http://oauth2.googleapis.com/token"}, "token_uri must be an https URL"),
        ({"type": "authorized_user"}, 'is not a service account key (its "type" must be "service_account")'),
        ({"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
         "has a private_key that can't be read"),
        ({"client_email": ""}, "lacks client_email"),
        ({"padding": "x" * 17_000}, "must be the JSON key file's content (at most 16 KB)"),
    ],
)  # fmt: skip
def test_key_checks(demo: dict[str, Any], change: dict[str, Any], problem: str | None) -> None:
    assert google.key_problem(key_with(demo, **change)) == problem


def test_the_sandbox_token_uri_only_where_allowed(demo: dict[str, Any]) -> None:
    key = demo["google"]["serviceAccountKey"]
    assert google.key_problem(key) == "token_uri must be on oauth2.googleapis.com"
    assert google.key_problem(key, ("localhost", "127.0.0.1")) is None
    assert google.key_problem("[]") == 'is not a service account key (its "type" must be "service_account")'


def test_tokens_are_shared_through_redis_sealed(
    sandbox: RunningSandbox, demo: dict[str, Any], redis_client: redis.Redis, tmp_path: Path
) -> None:
    prefix = f"pagemail-test:{uuid.uuid4().hex}:"
    box = LocalKeyBox(tmp_path / "secrets.key")
    key = cache_key("tenant-a", "microsoft365", demo["microsoft365"]["clientSecret"])
    assert demo["microsoft365"]["clientSecret"] not in key
    app = ms_app(sandbox, demo)

    def fetch() -> tuple[str, float]:
        return microsoft.fetch_token(app, demo["smtp"]["caFile"], remaining=budget)

    try:
        # Two instances of the app, one Redis: the second one uses the first one's token.
        first = TokenSource(
            "microsoft365", fetch, CachedTokens(RedisTokenCache(redis_client, box, prefix), key), budget
        )
        second = TokenSource(
            "microsoft365", fetch, CachedTokens(RedisTokenCache(redis_client, box, prefix), key), budget
        )
        token = first.token()
        assert second.token() == token
        assert token_calls(sandbox) == [200]
        stored = [redis_client.get(name) for name in redis_client.scan_iter(match=f"{prefix}*")]
        assert len(stored) == 1 and token.encode() not in stored[0] and b"tenant-a" not in stored[0]
        ttl = redis_client.pttl(next(iter(redis_client.scan_iter(match=f"{prefix}*"))))
        assert 0 < ttl <= (3599 - 300) * 1000  # expires in Redis shortly before the token does
        second.refused()
        assert list(redis_client.scan_iter(match=f"{prefix}*")) == []
    finally:
        for name in redis_client.scan_iter(match=f"{prefix}*"):
            redis_client.delete(name)


def test_smtp_auth_error_details_never_carry_the_token(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    sandbox.state.providers.configure({"trouble": "mailbox_not_authorized"})
    app = ms_app(sandbox, demo)
    source = TokenSource("microsoft365", lambda: microsoft.fetch_token(app, demo["smtp"]["caFile"], remaining=budget),
                         CachedTokens(MemoryTokenCache(), "k"), budget)  # fmt: skip
    with pytest.raises(MailServerError) as caught:
        check_connection(server(sandbox, demo, source, demo["microsoft365"]["mailbox"]))
    issued = list(sandbox.state.providers.tokens._grants)
    assert issued and not any(token in repr(caught.value.details) for token in issued)
    assert caught.value.code == "smtp_mailbox_not_authorized"


def ec_key_text(demo: dict[str, Any]) -> str:
    """The demo key file with an EC private key in it (readable PEM, but no RSA key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_with(demo, private_key=pem.decode())


def test_a_key_that_is_not_rsa_is_refused_and_never_a_crash(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    key = ec_key_text(demo)
    assert google.key_problem(key, LOCAL) == "must hold an RSA private key"
    # A key saved before the check (or damaged since): a clear error, nothing sent.
    with pytest.raises(TokenError) as caught:
        google.fetch_token(key, demo["google"]["mailbox"], demo["smtp"]["caFile"], remaining=budget, extra_hosts=LOCAL)
    assert caught.value.code == "oauth_key_invalid"
    assert token_calls(sandbox) == []


def test_the_token_uri_is_checked_again_before_the_assertion_goes_out(
    sandbox: RunningSandbox, demo: dict[str, Any]
) -> None:
    key = demo["google"]["serviceAccountKey"]  # its token URI is the sandbox's, on localhost
    with pytest.raises(TokenError) as caught:
        google.fetch_token(key, demo["google"]["mailbox"], demo["smtp"]["caFile"], remaining=budget)
    assert (caught.value.code, caught.value.provider_error) == ("oauth_key_invalid", "token_uri")
    assert token_calls(sandbox) == []


def test_no_token_request_outlasts_the_budget(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    with pytest.raises(TokenError) as caught:
        microsoft.fetch_token(ms_app(sandbox, demo), demo["smtp"]["caFile"], remaining=lambda: 0.0)
    assert caught.value.code == "oauth_unavailable"
    assert token_calls(sandbox) == []


def test_the_token_comes_before_the_connection(demo: dict[str, Any]) -> None:
    """A token problem is told as one, even when the mail server is unreachable: nothing connects before it."""

    def refuse() -> tuple[str, float]:
        raise TokenError("oauth_secret_invalid", provider_error="AADSTS7000215")

    source = TokenSource("microsoft365", refuse, CachedTokens(MemoryTokenCache(), "k"), budget)
    with socket_nobody_listens_on() as port:
        unreachable = SmtpServer("localhost", port, "starttls", "a@b.example", allow_private=True, oauth=source)
        with pytest.raises(MailServerError) as caught:
            check_connection(unreachable)
    assert (caught.value.code, caught.value.stage) == ("oauth_secret_invalid", "token")


def socket_nobody_listens_on() -> Any:
    """A port bound but never listened on: connecting to it is refused."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def bound() -> Iterator[int]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            yield sock.getsockname()[1]

    return bound()


def ms_source(sandbox: RunningSandbox, demo: dict[str, Any]) -> TokenSource:
    app = ms_app(sandbox, demo)
    return TokenSource("microsoft365", lambda: microsoft.fetch_token(app, demo["smtp"]["caFile"], remaining=budget),
                       CachedTokens(MemoryTokenCache(), "k"), budget)  # fmt: skip


def test_a_temporary_sign_in_failure_keeps_the_token(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    source = ms_source(sandbox, demo)
    connection = server(sandbox, demo, source, demo["microsoft365"]["mailbox"])
    sandbox.state.providers.configure({"trouble": "smtp_auth_busy"})
    with pytest.raises(MailServerError) as caught:
        check_connection(connection)
    assert (caught.value.code, caught.value.stage, caught.value.details["smtpCode"]) == ("smtp_temporary", "auth", 454)
    sandbox.state.providers.reset()
    assert check_connection(connection).authenticated
    assert token_calls(sandbox) == [200]  # the token was good all along: kept, not renewed


def test_a_renewed_token_gets_a_new_connection_when_the_server_hung_up(
    sandbox: RunningSandbox, demo: dict[str, Any]
) -> None:
    source = ms_source(sandbox, demo)
    connection = server(sandbox, demo, source, demo["microsoft365"]["mailbox"])
    assert check_connection(connection).authenticated
    sandbox.state.providers.tokens.revoke_all()
    sandbox.state.providers.configure({"trouble": "hang_up_after_refusal"})
    assert check_connection(connection).authenticated
    assert token_calls(sandbox) == [200, 200]


@pytest.mark.parametrize(
    ("user", "token"),
    [("dörte@example.com", "ya29.token"), ("a@example.com", "tok\x01en"), ("a@example.com\x01auth=x", "ya29")],
)
def test_xoauth2_carries_only_printable_ascii(user: str, token: str) -> None:
    with pytest.raises(MailServerError) as caught:
        xoauth2_response(user, token)
    assert (caught.value.code, caught.value.stage) == ("smtp_auth", "auth")


def test_a_mailbox_that_is_not_ascii_fails_cleanly_and_closes(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    source = ms_source(sandbox, demo)
    with pytest.raises(MailServerError) as caught:
        check_connection(server(sandbox, demo, source, "dörte@pagemail-demo.example"))
    assert (caught.value.code, caught.value.stage) == ("smtp_auth", "auth")


def test_throttling_reports_the_providers_own_retry_after() -> None:
    from mail.oauth.errors import Throttled

    def throttled() -> tuple[str, float]:
        raise Throttled(3600.0)

    waits: list[float] = []
    source = TokenSource("google", throttled, CachedTokens(MemoryTokenCache(), "k"), budget, sleep=waits.append)
    with pytest.raises(TokenError) as caught:
        source.token()
    assert caught.value.details["retryAfter"] == 3600 and waits == []


@pytest.mark.parametrize(
    ("failure", "provider_error"),
    [
        (lambda: microsoft_failure({"error": "invalid_client", "error_codes": [700024]}, 401), "AADSTS700024"),
        (
            lambda: google_failure(
                {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived token "
                 "(60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}, 400
            ),
            "invalid_grant",
        ),
    ],
)  # fmt: skip
def test_a_clock_that_is_off_is_named(failure: Any, provider_error: str) -> None:
    error = failure()
    assert (error.code, error.provider_error) == ("oauth_clock_skew", provider_error)


def test_a_certificate_msal_cant_use_is_named_as_such(sandbox: RunningSandbox, demo: dict[str, Any]) -> None:
    """MSAL's ValueError about the credential (not the tenant's discovery) is told as a certificate problem."""
    damaged = (
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    with pytest.raises(TokenError) as caught:
        microsoft.fetch_token(ms_app(sandbox, demo, certificate=damaged), demo["smtp"]["caFile"], remaining=budget)
    assert caught.value.code == "oauth_certificate_invalid"
    assert token_calls(sandbox) == []  # nothing was sent with it
