"""REST authentication as Confluence does it: app JWTs (qsh included) and bearer tokens, with restrictions."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from sandbox.catalog import RESTRICTED_PAGE_ID
from sandbox.directory import APP_ACCOUNT_ID, HIDDEN_EMAIL_ID, OUTSIDER_ID, REGULAR_ID
from tests.sandbox.conftest import TIMEOUT, Site

PAGE_PATH = "/rest/api/content/2000000002"


def _get(site: Site, path: str, token: str, query: str = "") -> requests.Response:
    url = f"{site.url}/wiki{path}" + (f"?{query}" if query else "")
    return requests.get(url, headers={"Authorization": f"JWT {token}"}, timeout=TIMEOUT)


def test_valid_app_jwt_reads_content_as_the_app(site: Site) -> None:
    query = "expand=body.storage%2Cversion"
    response = _get(site, PAGE_PATH, site.app_jwt("GET", PAGE_PATH, query), query)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "2000000002"
    assert "storage" in response.json()["body"]
    log = site.sandbox.state.requests.entries()
    assert log[-1]["auth"] == "jwt"
    assert log[-1]["accountId"] == APP_ACCOUNT_ID
    assert "jwt" not in log[-1]["query"]


@pytest.mark.parametrize(
    ("description", "token_for"),
    [
        ("qsh of another path", lambda s: s.app_jwt("GET", "/rest/api/content/98487")),
        ("qsh without the query", lambda s: s.app_jwt("GET", PAGE_PATH)),
        ("qsh with /wiki in the path", lambda s: s.app_jwt("GET", "/wiki" + PAGE_PATH, "expand=version")),
        ("qsh of POST", lambda s: s.app_jwt("POST", PAGE_PATH, "expand=version")),
        ("wrong secret", lambda s: s.app_jwt("GET", PAGE_PATH, "expand=version", secret="x" * 48)),
        ("expired", lambda s: s.app_jwt("GET", PAGE_PATH, "expand=version", exp=int(time.time()) - 120)),
        ("iss not the app key", lambda s: s.app_jwt("GET", PAGE_PATH, "expand=version", iss="someone-else")),
        ("no qsh", lambda s: s.app_jwt("GET", PAGE_PATH, "expand=version", qsh=None)),
    ],
)
def test_bad_app_jwts_are_401(site: Site, description: str, token_for: object) -> None:
    token = token_for(site)  # type: ignore[operator]
    response = _get(site, PAGE_PATH, token, "expand=version")
    assert response.status_code == 401, description
    assert response.json()["statusCode"] == 401


def test_unsigned_and_wrong_algorithm_tokens_are_401(site: Site) -> None:
    now = int(time.time())
    claims = {"iss": "pagemail-test", "iat": now, "exp": now + 60, "qsh": "x"}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _get(site, PAGE_PATH, unsigned).status_code == 401
    assert requests.get(f"{site.url}/wiki{PAGE_PATH}", timeout=TIMEOUT).status_code == 401
    basic = requests.get(f"{site.url}/wiki{PAGE_PATH}", auth=("user", "password"), timeout=TIMEOUT)
    assert basic.status_code == 401


def test_bearer_reads_as_the_user_and_is_logged_as_bearer(site: Site) -> None:
    response = site.as_user(REGULAR_ID, "GET", PAGE_PATH, params={"expand": "space"})
    assert response.status_code == 200
    assert response.json()["space"]["key"] == "ENG"
    entry = site.sandbox.state.requests.entries()[-1]
    assert (entry["auth"], entry["accountId"], entry["status"]) == ("bearer", REGULAR_ID, 200)


def test_restricted_page_is_404_for_outsider_and_200_for_member(site: Site) -> None:
    path = f"/rest/api/content/{RESTRICTED_PAGE_ID}"
    denied = site.as_user(OUTSIDER_ID, "GET", path)
    assert denied.status_code == 404
    assert denied.json()["message"] == f"No content found with id: ContentId{{id={RESTRICTED_PAGE_ID}}}"
    allowed = site.as_user(HIDDEN_EMAIL_ID, "GET", path, params={"expand": "restrictions.read.restrictions.group"})
    assert allowed.status_code == 200
    groups = allowed.json()["restrictions"]["read"]["restrictions"]["group"]["results"]
    assert [group["name"] for group in groups] == ["engineering"]
    # Attachments and downloads of the page are hidden the same way.
    assert site.as_user(OUTSIDER_ID, "GET", f"{path}/child/attachment").status_code == 404


def test_restricted_page_is_404_for_the_app_account(site: Site) -> None:
    path = f"/rest/api/content/{RESTRICTED_PAGE_ID}"
    assert site.as_app("GET", path).status_code == 404
    assert site.as_app("GET", "/rest/api/content/98487").status_code == 200


def test_email_lookup_only_for_the_app_and_shows_hidden_addresses(site: Site) -> None:
    query = f"accountId={REGULAR_ID}&accountId={HIDDEN_EMAIL_ID}&accountId=unknown"
    response = site.as_app("GET", "/rest/api/user/email/bulk", query)
    assert response.status_code == 200
    emails = {record["accountId"]: record["email"] for record in response.json()}
    assert emails == {REGULAR_ID: "ben.okafor@example.com", HIDDEN_EMAIL_ID: "chiara.rossi@example.org"}
    single = site.as_app("GET", "/rest/api/user/email", f"accountId={HIDDEN_EMAIL_ID}")
    assert single.json() == {"accountId": HIDDEN_EMAIL_ID, "email": "chiara.rossi@example.org"}
    as_user = site.as_user(REGULAR_ID, "GET", "/rest/api/user/email/bulk", params={"accountId": REGULAR_ID})
    assert as_user.status_code == 403
    # Everywhere else a hidden address stays hidden, even for the app.
    profile = site.as_app("GET", "/rest/api/user", f"accountId={HIDDEN_EMAIL_ID}")
    assert profile.json()["email"] == ""


def test_disabled_app_cannot_call_and_its_tokens_stop_working(site: Site) -> None:
    token = site.bearer(REGULAR_ID)
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{site.url}/wiki{PAGE_PATH}", headers=headers, timeout=TIMEOUT).status_code == 200
    assert requests.post(f"{site.url}/_sandbox/disable", timeout=TIMEOUT).status_code == 200
    try:
        assert site.as_app("GET", PAGE_PATH).status_code == 401
        assert requests.get(f"{site.url}/wiki{PAGE_PATH}", headers=headers, timeout=TIMEOUT).status_code == 401
        assert site.grant(site.assertion(REGULAR_ID)).status_code == 400
    finally:
        assert requests.post(f"{site.url}/_sandbox/enable", timeout=TIMEOUT).status_code == 200
    assert site.as_app("GET", PAGE_PATH).status_code == 200
