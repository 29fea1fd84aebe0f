"""Downloads: a redirect to the media host (the other loopback name), which refuses Authorization headers."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import requests
from PIL import Image

from sandbox.catalog import BENCHMARK_PAGE_ID, RESTRICTED_PAGE_ID
from sandbox.directory import OUTSIDER_ID, REGULAR_ID
from tests.sandbox.conftest import TIMEOUT, Site

SIMPLE_IMAGE = "2000000101"  # team-offsite.jpg, 640 x 360, on the simple page


def _download(site: Site, page_id: str, attachment_id: str, account_id: str = REGULAR_ID) -> requests.Response:
    path = f"/rest/api/content/{page_id}/child/attachment/{attachment_id}/download"
    return site.as_user(account_id, "GET", path, allow_redirects=False)


def test_download_redirects_to_the_other_host(site: Site) -> None:
    response = _download(site, "2000000001", f"att{SIMPLE_IMAGE}")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.hostname == "localhost"  # the site is 127.0.0.1: the media host is the other name
    assert target.port == urlsplit(site.url).port
    assert target.path.startswith("/media/file/")
    media = requests.get(response.headers["Location"], timeout=TIMEOUT)
    assert media.status_code == 200
    assert media.headers["Content-Type"] == "image/jpeg"
    assert int(media.headers["Content-Length"]) == len(media.content)
    with Image.open(io.BytesIO(media.content)) as image:
        assert (image.format, image.size) == ("JPEG", (640, 360))


def test_media_refuses_a_forwarded_authorization_header_and_logs_it(site: Site) -> None:
    location = _download(site, "2000000001", SIMPLE_IMAGE).headers["Location"]
    refused = requests.get(location, headers={"Authorization": "Bearer leaked"}, timeout=TIMEOUT)
    assert refused.status_code == 400
    entry = [item for item in site.sandbox.state.requests.entries() if item["path"].startswith("/media/")][-1]
    assert entry["hadAuthorization"] is True and entry["status"] == 400


def test_a_client_following_redirects_naively_fails(site: Site) -> None:
    """`requests` drops Authorization on a host change; a client that doesn't would be caught here."""
    session = requests.Session()
    session.rebuild_auth = lambda prepared, response: None  # type: ignore[method-assign]
    headers = {"Authorization": f"Bearer {site.bearer(REGULAR_ID)}"}
    url = f"{site.url}/wiki/rest/api/content/2000000001/child/attachment/att{SIMPLE_IMAGE}/download"
    assert session.get(url, headers=headers, timeout=TIMEOUT).status_code == 400
    assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 200


def test_media_tokens_are_signed(site: Site) -> None:
    location = _download(site, "2000000001", SIMPLE_IMAGE).headers["Location"]
    tampered = location[:-3] + ("AAA" if not location.endswith("AAA") else "BBB")
    assert requests.get(tampered, timeout=TIMEOUT).status_code == 401
    assert requests.get(f"{site.url}/media/file/garbage", timeout=TIMEOUT).status_code == 401


def test_download_respects_restrictions_and_unknown_ids(site: Site) -> None:
    assert _download(site, RESTRICTED_PAGE_ID, "att1", OUTSIDER_ID).status_code == 404
    assert _download(site, "2000000001", "att999").status_code == 404
    assert _download(site, BENCHMARK_PAGE_ID, "att2000000301").status_code == 302


def test_non_image_files_are_real_files(site: Site) -> None:
    location = _download(site, BENCHMARK_PAGE_ID, "att2000000301").headers["Location"]
    pdf = requests.get(location, timeout=TIMEOUT)
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_site_download_url_with_the_browsing_cookie(site: Site) -> None:
    url = f"{site.url}/wiki/download/attachments/2000000001/team-offsite.jpg?version=1&api=v2"
    assert requests.get(url, allow_redirects=False, timeout=TIMEOUT).status_code == 401
    cookies = {"sandbox_user": REGULAR_ID}
    response = requests.get(url, cookies=cookies, timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert response.history[0].status_code == 302
    restricted = f"{site.url}/wiki/download/attachments/{RESTRICTED_PAGE_ID}/x.png"
    assert requests.get(restricted, cookies={"sandbox_user": OUTSIDER_ID}, timeout=TIMEOUT).status_code == 404
