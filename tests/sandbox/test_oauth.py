"""The key server and the OAuth 2.0 JWT-bearer grant, over HTTP."""

from __future__ import annotations

import time

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.directory import APP_ACCOUNT_ID, GERMAN_ID, REGULAR_ID
from tests.sandbox.conftest import TIMEOUT, Site


def test_key_server_publishes_the_signing_key_by_kid(site: Site) -> None:
    kid = site.sandbox.state.signing_key.kid
    response = requests.get(f"{site.url}/connect-keys/{kid}", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    key = serialization.load_pem_public_key(response.content)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert requests.get(f"{site.url}/connect-keys/not-{kid}", timeout=TIMEOUT).status_code == 404


def test_valid_assertion_gets_a_bearer_token_that_acts_as_the_user(site: Site) -> None:
    response = site.grant(site.assertion(GERMAN_ID))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert set(body["scope"].split()) == {"READ", "ACT_AS_USER"}
    me = requests.get(
        f"{site.url}/wiki/rest/api/user/current",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=TIMEOUT,
    )
    assert me.status_code == 200
    assert me.json()["accountId"] == GERMAN_ID
    assert me.json()["locale"] == "de_DE"


def _rejected(response: requests.Response, error: str = "invalid_grant") -> str:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    return response.json()["error_description"]


def test_wrong_secret_is_rejected(site: Site) -> None:
    assert "signature" in _rejected(site.grant(site.assertion(REGULAR_ID, secret="not-the-shared-secret-" * 2)))


def test_wrong_audience_is_rejected(site: Site) -> None:
    wrong = "https://oauth-2-authorization-server.services.atlassian.com"
    assert "aud" in _rejected(site.grant(site.assertion(REGULAR_ID, aud=wrong)))


def test_expired_assertion_is_rejected(site: Site) -> None:
    past = int(time.time()) - 600
    assert "expired" in _rejected(site.grant(site.assertion(REGULAR_ID, iat=past - 30, exp=past)))


def test_unknown_user_and_app_account_are_rejected(site: Site) -> None:
    _rejected(site.grant(site.assertion("557058:00000000-0000-0000-0000-000000000000")))
    _rejected(site.grant(site.assertion(APP_ACCOUNT_ID)))


def test_other_claim_mismatches_are_rejected(site: Site) -> None:
    _rejected(site.grant(site.assertion(REGULAR_ID, iss="urn:atlassian:connect:clientid:someone-else")))
    _rejected(site.grant(site.assertion(REGULAR_ID, tnt="https://other.atlassian.net/wiki")))
    now = int(time.time())
    assert "60" in _rejected(site.grant(site.assertion(REGULAR_ID, iat=now, exp=now + 3600)))
    _rejected(site.grant(site.assertion(REGULAR_ID, tnt=None)))


def test_scope_must_be_uppercase_and_declared(site: Site) -> None:
    _rejected(site.grant(site.assertion(REGULAR_ID), scope="read act_as_user"), "invalid_scope")
    _rejected(site.grant(site.assertion(REGULAR_ID), scope="READ WRITE ACT_AS_USER"), "invalid_scope")
    _rejected(site.grant(site.assertion(REGULAR_ID), scope=""), "invalid_scope")


def test_wrong_grant_type_and_missing_assertion(site: Site) -> None:
    response = requests.post(
        f"{site.url}/oauth/oauth2/token", data={"grant_type": "client_credentials"}, timeout=TIMEOUT
    )
    _rejected(response, "unsupported_grant_type")
    response = requests.post(
        f"{site.url}/oauth/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "scope": "READ"},
        timeout=TIMEOUT,
    )
    _rejected(response, "invalid_request")


def test_unknown_bearer_token_is_401(site: Site) -> None:
    response = requests.get(
        f"{site.url}/wiki/rest/api/user/current", headers={"Authorization": "Bearer made-up"}, timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401
