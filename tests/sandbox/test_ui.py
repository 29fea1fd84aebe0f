"""The pages a person clicks through, over HTTP (the browser-side bridge is exercised by the app's browser tests)."""

from __future__ import annotations

import requests

from sandbox.catalog import RESTRICTED_PAGE_ID
from sandbox.directory import GERMAN_ID, OUTSIDER_ID, REGULAR_ID
from tests.sandbox.conftest import TIMEOUT, Site


def test_home_lists_spaces_and_only_readable_pages(site: Site) -> None:
    as_outsider = requests.get(f"{site.url}/wiki/", cookies={"sandbox_user": OUTSIDER_ID}, timeout=TIMEOUT).text
    as_member = requests.get(f"{site.url}/wiki/", cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT).text
    assert "Engineering" in as_outsider and "Marketing" in as_outsider
    assert "PHI-VR Research Project" in as_member
    assert "PHI-VR Research Project" not in as_outsider


def test_first_visit_sets_the_user_cookie_and_switching_changes_it(site: Site) -> None:
    session = requests.Session()
    session.get(f"{site.url}/wiki/", timeout=TIMEOUT)
    assert session.cookies.get("sandbox_user")
    switched = session.post(
        f"{site.url}/wiki/_switch-user", data={"accountId": GERMAN_ID, "next": "/wiki/"}, timeout=TIMEOUT
    )
    assert switched.status_code == 200
    assert session.cookies.get("sandbox_user") == GERMAN_ID
    assert '<meta name="sandbox-locale" content="de-DE">' in switched.text
    outside = session.post(
        f"{site.url}/wiki/_switch-user",
        data={"accountId": GERMAN_ID, "next": "//evil.example"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert outside.headers["Location"] == "/wiki/"


def test_page_view_shows_the_export_view_with_site_urls(site: Site) -> None:
    page = requests.get(
        f"{site.url}/wiki/spaces/ENG/pages/1514799110/Converting+UI+To+Flex+XR+Panels",
        cookies={"sandbox_user": REGULAR_ID},
        timeout=TIMEOUT,
    )
    assert page.status_code == 200
    assert "Converting UI To Flex XR Panels" in page.text
    assert f'src="{site.url}/wiki/download/attachments/1514799110/' in page.text
    assert "sandbox.invalid" not in page.text


def test_restricted_page_view(site: Site) -> None:
    url = f"{site.url}/wiki/spaces/ENG/pages/{RESTRICTED_PAGE_ID}"
    denied = requests.get(url, cookies={"sandbox_user": OUTSIDER_ID}, timeout=TIMEOUT)
    assert denied.status_code == 403 and "This page is restricted" in denied.text
    assert requests.get(url, cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{site.url}/wiki/spaces/MKT/pages/{RESTRICTED_PAGE_ID}", timeout=TIMEOUT).status_code == 404


def test_client_script_and_static_files(site: Site) -> None:
    script = requests.get(f"{site.url}/atlassian-connect/all.js", timeout=TIMEOUT)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    for name in ("getToken", "getContext", "sizeToParent", "getLocale", "getCurrentUser", "xdm_e"):
        assert name in script.text
    host = requests.get(f"{site.url}/wiki/s/host.js", timeout=TIMEOUT)
    assert host.status_code == 200 and "event.origin !== appOrigin" in host.text
    icon = requests.get(f"{site.url}/wiki/images/icons/emoticons/72/1f95a.png", timeout=TIMEOUT)
    assert icon.headers["Content-Type"] == "image/png" and icon.content.startswith(b"\x89PNG")


def test_redirects(site: Site) -> None:
    viewpage = requests.get(
        f"{site.url}/wiki/pages/viewpage.action", params={"pageId": "98487"}, allow_redirects=False, timeout=TIMEOUT
    )
    assert viewpage.headers["Location"].endswith("/wiki/spaces/MKT/pages/98487")
    space = requests.get(f"{site.url}/wiki/spaces/ENG", allow_redirects=False, timeout=TIMEOUT)
    assert space.headers["Location"].endswith("/wiki/spaces/ENG/pages/2000000001")
