"""REST responses in Confluence Cloud's v1 shapes: content and expansions, attachments, people, groups."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from sandbox.catalog import BENCHMARK_PAGE_ID, RESTRICTED_PAGE_ID
from sandbox.directory import ADMIN_ID, GERMAN_ID, OUTSIDER_ID, REGULAR_ID, group_id_for
from tests.sandbox.conftest import TIMEOUT, Site


def test_content_without_expansions_lists_them_as_expandable(site: Site) -> None:
    body = site.as_user(REGULAR_ID, "GET", "/rest/api/content/98487").json()
    assert (body["id"], body["type"], body["status"], body["title"]) == ("98487", "page", "current", "Overview")
    assert {"space", "version", "body", "history", "children", "ancestors"} <= set(body["_expandable"])
    assert body["_expandable"]["space"] == "/rest/api/space/MKT"
    links = body["_links"]
    assert links["base"] == f"{site.url}/wiki"
    assert links["webui"] == "/spaces/MKT/pages/98487/Overview"
    assert links["self"] == f"{site.url}/wiki/rest/api/content/98487"
    assert links["tinyui"].startswith("/x/")


def test_content_expansions(site: Site) -> None:
    expand = "body.export_view,body.storage,space,version,history.lastUpdated,children.attachment"
    response = site.as_user(REGULAR_ID, "GET", "/rest/api/content/1514799110", params={"expand": expand})
    body = response.json()
    assert set(body["body"]) >= {"export_view", "storage", "_expandable"}
    assert body["body"]["export_view"]["representation"] == "export_view"
    assert "view" in body["body"]["_expandable"]
    assert 'ac:name="info"' in body["body"]["storage"]["value"]
    html = body["body"]["export_view"]["value"]
    assert f'src="{site.url}/wiki/download/attachments/1514799110/' in html
    assert "sandbox.invalid" not in html
    assert body["space"] == {**body["space"], "key": "ENG", "name": "Engineering", "type": "global"}
    assert body["version"]["number"] >= 1
    assert body["version"]["by"]["accountType"] == "atlassian"
    assert body["history"]["lastUpdated"]["number"] == body["version"]["number"]
    assert body["history"]["createdBy"]["accountId"]
    attachments = body["children"]["attachment"]
    assert attachments["size"] == len(attachments["results"]) == 6
    assert all(item["id"].startswith("att") for item in attachments["results"])
    for key in ("space", "version", "body", "history", "children"):
        assert key not in body["_expandable"]


def test_bad_content_id_missing_content_and_unknown_routes(site: Site) -> None:
    assert site.as_user(REGULAR_ID, "GET", "/rest/api/content/not-a-number").status_code == 400
    unknown = site.as_user(REGULAR_ID, "GET", "/rest/api/no-such-resource")
    assert unknown.status_code == 404 and unknown.json()["statusCode"] == 404
    wrong_method = site.as_user(REGULAR_ID, "DELETE", "/rest/api/content/98487")
    assert wrong_method.status_code == 405 and wrong_method.json()["statusCode"] == 405
    missing = site.as_user(REGULAR_ID, "GET", "/rest/api/content/123")
    assert missing.status_code == 404
    assert missing.json()["statusCode"] == 404


def test_attachment_list_paging_filters_and_shape(site: Site) -> None:
    path = f"/rest/api/content/{BENCHMARK_PAGE_ID}/child/attachment"
    first = site.as_user(REGULAR_ID, "GET", path).json()
    assert (first["start"], first["limit"], first["size"]) == (0, 25, 23)
    assert "next" not in first["_links"]
    item = first["results"][0]
    assert item["type"] == "attachment"
    assert item["metadata"]["mediaType"] == item["extensions"]["mediaType"] == "image/jpeg"
    assert item["extensions"]["fileSize"] > 0
    assert item["_links"]["download"].startswith(f"/download/attachments/{BENCHMARK_PAGE_ID}/")
    page = site.as_user(REGULAR_ID, "GET", path, params={"limit": 10, "start": 0}).json()
    assert page["size"] == 10
    following = urlsplit(page["_links"]["next"])
    assert following.path == path
    assert parse_qs(following.query)["start"] == ["10"]
    rest = requests.get(
        f"{site.url}/wiki{page['_links']['next']}",
        headers={"Authorization": f"Bearer {site.bearer(REGULAR_ID)}"},
        timeout=TIMEOUT,
    ).json()
    assert rest["start"] == 10 and rest["size"] == 10
    documents = site.as_user(REGULAR_ID, "GET", path, params={"mediaType": "application/pdf"}).json()
    assert [item["title"] for item in documents["results"]] == ["inspection-report.pdf"]
    by_name = site.as_user(REGULAR_ID, "GET", path, params={"filename": "measurements.csv"}).json()
    assert by_name["results"][0]["extensions"]["mediaType"] == "text/csv"
    big = site.as_user(REGULAR_ID, "GET", path, params={"filename": "site-plan.docx"}).json()["results"][0]
    assert big["extensions"]["fileSize"] > 5 * 1024 * 1024


def test_user_search_by_name(site: Site) -> None:
    response = site.as_user(
        REGULAR_ID, "GET", "/rest/api/search/user", params={"cql": 'user.fullname~"dieter" and type=user', "limit": 5}
    )
    body = response.json()
    assert body["totalSize"] == 1
    assert body["results"][0]["user"]["accountId"] == GERMAN_ID
    assert body["results"][0]["entityType"] == "user"
    assert body["cqlQuery"] == 'user.fullname~"dieter" and type=user'
    everyone = site.as_user(REGULAR_ID, "GET", "/rest/api/search/user", params={"cql": "type=user", "limit": 20}).json()
    assert everyone["size"] == 20 and everyone["totalSize"] > 60 and "next" in everyone["_links"]
    assert all(result["user"]["accountType"] == "atlassian" for result in everyone["results"])
    bad = site.as_user(REGULAR_ID, "GET", "/rest/api/search/user", params={"cql": "space = ENG"})
    assert bad.status_code == 400


def test_group_picker_members_and_memberof(site: Site) -> None:
    picked = site.as_user(REGULAR_ID, "GET", "/rest/api/group/picker", params={"query": "mark"}).json()
    assert [group["name"] for group in picked["results"]] == ["marketing"]
    marketing = picked["results"][0]
    assert marketing["id"] == group_id_for("marketing") and marketing["type"] == "group"
    path = f"/rest/api/group/{marketing['id']}/membersByGroupId"
    members, url = [], f"{site.url}/wiki{path}"
    headers = {"Authorization": f"Bearer {site.bearer(REGULAR_ID)}"}
    while url:
        page = requests.get(url, headers=headers, timeout=TIMEOUT).json()
        assert page["size"] <= 50
        members += page["results"]
        url = f"{site.url}/wiki{page['_links']['next']}" if "next" in page["_links"] else ""
    assert len(members) == 61 and len({member["accountId"] for member in members}) == 61
    assert OUTSIDER_ID in {member["accountId"] for member in members}
    assert site.as_user(REGULAR_ID, "GET", path, params={"limit": 500}).status_code == 400
    assert site.as_user(REGULAR_ID, "GET", "/rest/api/group/nope/membersByGroupId").status_code == 404
    by_id = site.as_user(REGULAR_ID, "GET", "/rest/api/group/by-id", params={"id": marketing["id"]}).json()
    assert by_id["name"] == "marketing"
    by_name = site.as_user(REGULAR_ID, "GET", "/rest/api/group/by-name", params={"name": "design"}).json()
    assert by_name["id"] == group_id_for("design")
    assert site.as_user(REGULAR_ID, "GET", "/rest/api/group/by-id", params={"id": "nope"}).status_code == 404
    listed = site.as_user(REGULAR_ID, "GET", "/rest/api/group").json()
    assert {group["name"] for group in listed["results"]} >= {"confluence-users", "site-admins", "marketing"}
    groups = site.as_user(REGULAR_ID, "GET", "/rest/api/user/memberof", params={"accountId": ADMIN_ID}).json()
    assert {group["name"] for group in groups["results"]} == {"confluence-users", "site-admins", "engineering"}


def test_current_user_operations_and_space_operations(site: Site) -> None:
    admin = site.as_user(ADMIN_ID, "GET", "/rest/api/user/current", params={"expand": "operations"}).json()
    assert {"operation": "administer", "targetType": "application"} in admin["operations"]
    regular = site.as_user(REGULAR_ID, "GET", "/rest/api/user/current", params={"expand": "operations"}).json()
    assert {"operation": "use", "targetType": "application"} in regular["operations"]
    assert {"operation": "administer", "targetType": "application"} not in regular["operations"]
    app = site.as_app("GET", "/rest/api/user/current")
    assert app.json()["accountType"] == "app" and app.json()["displayName"] == "pagemail (test)"
    space_admin = {"operation": "administer", "targetType": "space"}
    eng = site.as_user(REGULAR_ID, "GET", "/rest/api/space/ENG", params={"expand": "operations"}).json()
    assert space_admin in eng["operations"]
    mkt = site.as_user(REGULAR_ID, "GET", "/rest/api/space/MKT", params={"expand": "operations"}).json()
    assert space_admin not in mkt["operations"]
    assert site.as_user(REGULAR_ID, "GET", "/rest/api/space/NOPE").status_code == 404


def test_permission_check(site: Site) -> None:
    path = f"/rest/api/content/{RESTRICTED_PAGE_ID}/permission/check"

    def check(subject_type: str, identifier: str) -> dict[str, object]:
        payload = {"subject": {"type": subject_type, "identifier": identifier}, "operation": "read"}
        response = site.as_user(ADMIN_ID, "POST", path, json=payload)
        assert response.status_code == 200, response.text
        return response.json()

    assert check("user", REGULAR_ID)["hasPermission"] is True
    denied = check("user", OUTSIDER_ID)
    assert denied["hasPermission"] is False and denied["errors"]
    assert check("group", "engineering")["hasPermission"] is True
    assert check("group", group_id_for("marketing"))["hasPermission"] is False
    bad = site.as_user(ADMIN_ID, "POST", path, json={"subject": {"type": "robot"}, "operation": "read"})
    assert bad.status_code == 400
    hidden = site.as_user(
        OUTSIDER_ID, "POST", path, json={"subject": {"type": "user", "identifier": OUTSIDER_ID}, "operation": "read"}
    )
    assert hidden.status_code == 404
