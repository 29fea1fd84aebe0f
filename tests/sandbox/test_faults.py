"""Injected faults and latency, the request log, and resetting both."""

from __future__ import annotations

import pytest
import requests

from sandbox.directory import REGULAR_ID
from tests.sandbox.conftest import TIMEOUT, Site

PATH = "/rest/api/content/2000000001"


def _set(site: Site, plan: dict[str, object]) -> requests.Response:
    return requests.post(f"{site.url}/_sandbox/faults", json=plan, timeout=TIMEOUT)


def test_429_with_retry_after_for_the_counted_requests_then_normal(site: Site) -> None:
    rule = {"pathPrefix": "/wiki/rest/api/content", "status": 429, "count": 2, "retryAfter": 1, "method": "GET"}
    assert _set(site, {"rules": [rule]}).status_code == 200
    token = site.bearer(REGULAR_ID)
    headers = {"Authorization": f"Bearer {token}"}
    answers = [requests.get(f"{site.url}/wiki{PATH}", headers=headers, timeout=TIMEOUT) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "1"
    assert answers[0].json()["statusCode"] == 429
    # Other methods and paths were not affected.
    assert site.grant(site.assertion(REGULAR_ID)).status_code == 200
    statuses = [entry["status"] for entry in site.sandbox.state.requests.entries() if entry["path"] == f"/wiki{PATH}"]
    assert statuses == [429, 429, 200]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(site: Site, status: int) -> None:
    _set(site, {"rules": [{"pathPrefix": "/wiki/rest/api/user", "status": status}]})
    for _ in range(2):  # without a count the rule keeps firing
        assert site.as_user(REGULAR_ID, "GET", "/rest/api/user/current").status_code == status
    assert site.as_user(REGULAR_ID, "GET", PATH).status_code == 200


def test_latency_is_applied_and_reset(site: Site) -> None:
    assert _set(site, {"latencyMs": 50}).json()["latencyMs"] == 50
    assert site.as_user(REGULAR_ID, "GET", PATH).status_code == 200
    reset = requests.delete(f"{site.url}/_sandbox/faults", timeout=TIMEOUT).json()
    assert reset == {"latencyMs": 0, "rules": []}


def test_dropped_connection(site: Site) -> None:
    _set(site, {"rules": [{"pathPrefix": "/wiki/rest/api/content", "dropConnection": True, "count": 1}]})
    with pytest.raises(requests.ConnectionError):
        site.as_user(REGULAR_ID, "GET", PATH)
    assert site.as_user(REGULAR_ID, "GET", PATH).status_code == 200
    dropped = [entry for entry in site.sandbox.state.requests.entries() if entry.get("dropped")]
    assert len(dropped) == 1


def test_reset_removes_pending_rules(site: Site) -> None:
    _set(site, {"rules": [{"pathPrefix": "/wiki/", "status": 503, "retryAfter": 5}]})
    assert site.as_user(REGULAR_ID, "GET", PATH).status_code == 503
    requests.delete(f"{site.url}/_sandbox/faults", timeout=TIMEOUT)
    assert site.as_user(REGULAR_ID, "GET", PATH).status_code == 200


@pytest.mark.parametrize(
    "plan",
    [
        {"rules": [{"pathPrefix": "/wiki", "status": 418}]},
        {"rules": [{"pathPrefix": "wiki", "status": 429}]},
        {"latencyMs": -1},
        {"rules": "all"},
        [],
    ],
)
def test_invalid_plans_are_refused(site: Site, plan: object) -> None:
    response = requests.post(f"{site.url}/_sandbox/faults", json=plan, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["error"]


def test_request_log_can_be_read_and_cleared(site: Site) -> None:
    site.as_user(REGULAR_ID, "GET", PATH, params={"expand": "version"})
    entries = requests.get(f"{site.url}/_sandbox/requests", timeout=TIMEOUT).json()["requests"]
    rest = [entry for entry in entries if entry["path"] == f"/wiki{PATH}"][-1]
    assert rest["query"] == "expand=version" and rest["method"] == "GET" and rest["hadAuthorization"] is True
    oauth = [entry for entry in entries if entry["path"] == "/oauth/oauth2/token"][-1]
    assert oauth["auth"] == "none" and oauth["status"] == 200
    assert requests.delete(f"{site.url}/_sandbox/requests", timeout=TIMEOUT).json() == {"requests": []}
    assert requests.get(f"{site.url}/_sandbox/requests", timeout=TIMEOUT).json()["requests"] == []
