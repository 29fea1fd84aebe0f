"""The Confluence REST client against the sandbox over real HTTP: as app and as user, retries, redirects, budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from confluence.client import Deadline, RetryPolicy, retry_after_seconds, route_shape
from confluence.fanout import map_bounded
from connect.auth import tenant_secret
from connect.confluence import ConfluenceClient
from connect.outgoing import MemoryTokenCache, TenantAccess, UserTokens
from errors import ForbiddenError, NotFoundError, UpstreamError, ValidationError
from models import Tenant, db
from tests.conftest import LiveStack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"
SIMPLE_PAGE = "2000000001"
RESTRICTED_PAGE = "1514897411"
QUICK = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.2)


@pytest.fixture
def access(stack: LiveStack) -> TenantAccess:
    with stack.app.app_context():
        tenant = db.session.execute(sa.select(Tenant)).scalar_one()
        secret = tenant_secret(tenant, stack.app.extensions["pagemail.secrets"])
        return TenantAccess(tenant.client_key, tenant.base_url, tenant.oauth_client_id, secret)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


@pytest.fixture
def tokens(stack: LiveStack, session: requests.Session) -> UserTokens:
    return UserTokens(stack.app.config["OAUTH_AUTH_SERVER_URL"], session, MemoryTokenCache())


def as_app(access: TenantAccess, session: requests.Session, **kwargs: Any) -> ConfluenceClient:
    return ConfluenceClient(access, app_key="pagemail", session=session, policy=QUICK, **kwargs)


def as_user(
    access: TenantAccess, session: requests.Session, tokens: UserTokens, account_id: str, **kwargs: Any
) -> ConfluenceClient:
    return ConfluenceClient(
        access, app_key="pagemail", session=session, user_tokens=tokens, account_id=account_id, policy=QUICK, **kwargs
    )


def requests_to(stack: LiveStack, fragment: str) -> list[dict[str, Any]]:
    return [r for r in stack.control("GET", "requests")["requests"] if fragment in r["path"]]


def test_as_app_with_qsh(stack: LiveStack, access: TenantAccess, session: requests.Session) -> None:
    stack.control("DELETE", "requests")
    page = as_app(access, session).get_json(
        f"rest/api/content/{SIMPLE_PAGE}", params={"expand": "body.export_view,space"}
    )
    assert page["id"] == SIMPLE_PAGE
    assert requests_to(stack, f"/content/{SIMPLE_PAGE}")[-1]["auth"] == "jwt"


def test_as_the_user_restrictions_apply_and_tokens_are_cached(
    stack: LiveStack, access: TenantAccess, session: requests.Session, tokens: UserTokens
) -> None:
    stack.control("DELETE", "requests")
    ada = as_user(access, session, tokens, ADA)
    assert ada.get_json(f"rest/api/content/{RESTRICTED_PAGE}")["id"] == RESTRICTED_PAGE
    assert ada.get_json("rest/api/user/current")["accountId"] == ADA
    emma = as_user(access, session, tokens, EMMA)
    with pytest.raises(NotFoundError):
        emma.get_json(f"rest/api/content/{RESTRICTED_PAGE}")
    assert len(requests_to(stack, "/oauth2/token")) == 2  # one grant per user, then the cache
    assert all(r["auth"] == "bearer" for r in requests_to(stack, "/rest/api/"))


def test_email_lookup_only_as_the_app(access: TenantAccess, session: requests.Session, tokens: UserTokens) -> None:
    answer = as_app(access, session).get_json("rest/api/user/email/bulk", params=[("accountId", ADA)])
    assert answer[0]["email"]
    with pytest.raises(ForbiddenError):
        as_user(access, session, tokens, ADA).get_json("rest/api/user/email/bulk", params=[("accountId", ADA)])


def test_429_with_retry_after_is_honoured(stack: LiveStack, access: TenantAccess, session: requests.Session) -> None:
    stack.control(
        "POST",
        "faults",
        json={"rules": [{"pathPrefix": "/wiki/rest/api/content", "status": 429, "count": 2, "retryAfter": 1}]},
    )
    stack.control("DELETE", "requests")
    assert as_app(access, session).get_json(f"rest/api/content/{SIMPLE_PAGE}")["id"] == SIMPLE_PAGE
    statuses = [r["status"] for r in requests_to(stack, f"/content/{SIMPLE_PAGE}")]
    assert statuses == [429, 429, 200]


def test_5xx_retried_for_reads_not_for_writes(
    stack: LiveStack, access: TenantAccess, session: requests.Session
) -> None:
    stack.control("POST", "faults", json={"rules": [{"pathPrefix": "/wiki/rest/api/", "status": 502, "count": 1}]})
    assert as_app(access, session).get_json(f"rest/api/content/{SIMPLE_PAGE}")["id"] == SIMPLE_PAGE
    stack.control("POST", "faults", json={"rules": [{"pathPrefix": "/wiki/rest/api/", "status": 500, "count": 1}]})
    stack.control("DELETE", "requests")
    with pytest.raises(UpstreamError):
        as_app(access, session).post_json(
            f"rest/api/content/{SIMPLE_PAGE}/permission/check",
            {"subject": {"type": "user", "identifier": ADA}, "operation": "read"},
        )
    assert len(requests_to(stack, "/permission/check")) == 1


def test_persistent_failure_gives_up_after_the_attempts(
    stack: LiveStack, access: TenantAccess, session: requests.Session
) -> None:
    stack.control("POST", "faults", json={"rules": [{"pathPrefix": "/wiki/rest/api/", "status": 503}]})
    stack.control("DELETE", "requests")
    with pytest.raises(UpstreamError) as caught:
        as_app(access, session).get_json(f"rest/api/content/{SIMPLE_PAGE}")
    assert caught.value.code == "confluence_unavailable"
    assert len(requests_to(stack, f"/content/{SIMPLE_PAGE}")) == QUICK.max_attempts


def test_dropped_connections_are_retried(stack: LiveStack, access: TenantAccess, session: requests.Session) -> None:
    stack.control(
        "POST", "faults", json={"rules": [{"pathPrefix": "/wiki/rest/api/content", "dropConnection": True, "count": 1}]}
    )
    assert as_app(access, session).get_json(f"rest/api/content/{SIMPLE_PAGE}")["id"] == SIMPLE_PAGE


def test_time_budget_is_never_exceeded(stack: LiveStack, access: TenantAccess, session: requests.Session) -> None:
    stack.control("POST", "faults", json={"rules": [{"pathPrefix": "/wiki/rest/api/", "status": 429, "retryAfter": 5}]})
    client = as_app(access, session, deadline=Deadline(1.0))
    with pytest.raises(Exception) as caught:
        client.get_json(f"rest/api/content/{SIMPLE_PAGE}")
    assert getattr(caught.value, "status", None) in (429, 502)


def test_download_redirect_drops_authorization(
    stack: LiveStack, access: TenantAccess, session: requests.Session, tokens: UserTokens
) -> None:
    page = next(p for p in stack.pages() if p["id"] == SIMPLE_PAGE)
    attachment = page["attachments"][0]["id"]
    stack.control("DELETE", "requests")
    user = as_user(access, session, tokens, ADA, media_hosts="localhost:*,127.0.0.1:*", allow_insecure=True)
    download = user.download(f"rest/api/content/{SIMPLE_PAGE}/child/attachment/{attachment}/download", 50_000_000)
    assert download.data and download.content_type.startswith("image/")
    media = requests_to(stack, "/media/")
    assert media and not any(r["hadAuthorization"] for r in media)
    with pytest.raises(UpstreamError) as caught:
        user.download(f"rest/api/content/{SIMPLE_PAGE}/child/attachment/{attachment}/download", 10)
    assert caught.value.code == "attachment_too_large"


def test_fan_out_keeps_order_and_raises_the_first_failure() -> None:
    assert map_bounded(lambda x: x * 2, range(20), limit=4) == [x * 2 for x in range(20)]

    def boom(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three"):
        map_bounded(boom, range(10), limit=3)


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_a_refused_cached_user_token_is_renewed_once(
    stack: LiveStack, access: TenantAccess, session: requests.Session, tokens: UserTokens
) -> None:
    import time

    tokens.cache.set(f"{access.client_key}|{ADA}|READ ACT_AS_USER", "revoked-token", time.time() + 900)
    stack.control("DELETE", "requests")
    assert as_user(access, session, tokens, ADA).get_json("rest/api/user/current")["accountId"] == ADA
    statuses = [r["status"] for r in requests_to(stack, "/rest/api/user/current")]
    assert statuses == [401, 200]
    assert len(requests_to(stack, "/oauth2/token")) == 1


def test_redirects_only_to_the_site_or_an_allowed_media_host(
    stack: LiveStack, access: TenantAccess, session: requests.Session, tokens: UserTokens
) -> None:
    page = next(p for p in stack.pages() if p["id"] == SIMPLE_PAGE)
    path = f"rest/api/content/{SIMPLE_PAGE}/child/attachment/{page['attachments'][0]['id']}/download"
    stack.control("DELETE", "requests")
    for client in (
        as_user(access, session, tokens, ADA),  # Atlassian's media hosts only: the sandbox's loopback one is refused
        as_user(access, session, tokens, ADA, media_hosts="localhost:*,127.0.0.1:*"),  # allowed, but not https
    ):
        with pytest.raises(UpstreamError, match="unsupported URL"):
            client.download(path, 50_000_000)
    assert requests_to(stack, "/media/") == []


@pytest.mark.parametrize(
    "path",
    [
        "rest/api/group/../../rest/api/space/membersByGroupId",
        "rest/api/group/a?x=1/membersByGroupId",
        "rest/api/group/a#b/membersByGroupId",
        "rest/api/group/%2e%2e/membersByGroupId",
        "rest/api/group/./membersByGroupId",
        "rest/api/group//membersByGroupId",
    ],
)
def test_a_path_built_from_a_bad_id_never_reaches_confluence(
    stack: LiveStack, access: TenantAccess, session: requests.Session, tokens: UserTokens, path: str
) -> None:
    stack.control("DELETE", "requests")
    with pytest.raises(ValidationError) as caught:
        as_user(access, session, tokens, ADA).get_json(path)
    assert caught.value.code == "invalid_id" and caught.value.status == 400
    assert stack.control("GET", "requests")["requests"] == []


def test_one_action_may_make_only_so_many_calls(
    stack: LiveStack, access: TenantAccess, session: requests.Session
) -> None:
    client = as_app(access, session, deadline=Deadline(60, max_calls=3))
    for _ in range(3):
        client.get_json(f"rest/api/content/{SIMPLE_PAGE}")
    with pytest.raises(ValidationError) as caught:
        client.get_json(f"rest/api/content/{SIMPLE_PAGE}")
    assert caught.value.code == "action_too_large"


@pytest.mark.parametrize(
    ("url", "shape"),
    [
        (
            "https://s.atlassian.net/wiki/rest/api/content/123/child/attachment/att456/download",
            "/wiki/rest/api/content/{id}/child/attachment/{id}/download",
        ),
        (
            "https://s.atlassian.net/wiki/rest/api/group/7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b/membersByGroupId",
            "/wiki/rest/api/group/{id}/membersByGroupId",
        ),
        ("https://s.atlassian.net/wiki/rest/api/space/ENG?expand=operations", "/wiki/rest/api/space/{id}"),
        ("https://api.media.atlassian.com/file/Zm9vYmFyYmF6cXV4cXV1eGNvcmdl/binary", "/file/{id}/binary"),
        ("https://s.atlassian.net/wiki/rest/api/user/email/bulk?accountId=5f8a", "/wiki/rest/api/user/email/bulk"),
    ],
)
def test_debug_lines_keep_only_the_routes_shape(url: str, shape: str) -> None:
    assert route_shape(url) == shape
