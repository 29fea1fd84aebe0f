"""Iframe URLs signed like Confluence signs them, context tokens, and where the app's modules show up."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qsl, quote, urlsplit

import jwt
import requests

from sandbox.directory import ADMIN_ID, GERMAN_ID, OUTSIDER_ID, REGULAR_ID
from tests.sandbox.conftest import APP_KEY, TIMEOUT, Site


def _qsh(method: str, path: str, params: list[tuple[str, str]]) -> str:
    """The canonical request, rebuilt here from the URL (independently of the sandbox's code)."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != "jwt":
            grouped.setdefault(key, []).append(value)
    query = "&".join(
        f"{quote(key, safe='-._~')}=" + ",".join(quote(value, safe="-._~") for value in sorted(values))
        for key, values in sorted(grouped.items())
    )
    return hashlib.sha256(f"{method}&{path}&{query}".encode()).hexdigest()


def _module_url(site: Site, **params: str) -> requests.Response:
    return requests.get(f"{site.url}/_sandbox/module-url", params=params, timeout=TIMEOUT)


def test_dialog_url_is_signed_like_confluence(site: Site) -> None:
    response = _module_url(site, module="send-as-mail", user=REGULAR_ID, contentId="2000000002")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["kind"], body["module"], body["width"], body["height"], body["chrome"]) == (
        "dialogs",
        "send-dialog",
        "720px",
        "560px",
        False,
    )
    url = urlsplit(body["url"])
    assert f"{url.scheme}://{url.netloc}" == site.app.url and url.path == "/dialog"
    params = parse_qsl(url.query, keep_blank_values=True)
    values = dict(params)
    assert values["contentId"] == "2000000002" and values["spaceKey"] == "ENG"
    assert values["xdm_e"] == site.url
    assert values["xdm_c"] == f"channel-{APP_KEY}__send-dialog"
    assert values["cp"] == "/wiki"
    assert values["xdm_deprecated_addon_key_do_not_use"] == APP_KEY
    assert values["lic"] == "none" and values["cv"]
    claims = jwt.decode(values["jwt"], site.secret, algorithms=["HS256"])
    assert claims["iss"] == site.sandbox.state.installation.client_key
    assert claims["sub"] == REGULAR_ID
    assert claims["qsh"] == _qsh("GET", url.path, params)
    assert claims["exp"] - claims["iat"] == 180
    assert claims["context"] == {}


def test_space_tools_and_admin_urls(site: Site) -> None:
    tab = _module_url(site, module="space-settings", user=GERMAN_ID, spaceKey="DLX").json()
    url = urlsplit(tab["url"])
    assert url.path == "/space" and dict(parse_qsl(url.query))["spaceKey"] == "DLX"
    claims = jwt.decode(dict(parse_qsl(url.query))["jwt"], site.secret, algorithms=["HS256"])
    assert claims["qsh"] == _qsh("GET", "/space", parse_qsl(url.query, keep_blank_values=True))
    configure = urlsplit(_module_url(site, module="configure", user=ADMIN_ID).json()["url"])
    assert dict(parse_qsl(configure.query))["view"] == "configure"
    assert _module_url(site, module="nope", user=ADMIN_ID).status_code == 404
    assert _module_url(site, module="admin", user="nobody").status_code == 404
    assert _module_url(site, module="admin", user=ADMIN_ID, contentId="1").status_code == 404


def test_context_token(site: Site) -> None:
    response = requests.get(
        f"{site.url}/_sandbox/context-token", params={"user": GERMAN_ID, "contentId": "98487"}, timeout=TIMEOUT
    )
    token = response.json()["token"]
    claims = jwt.decode(token, site.secret, algorithms=["HS256"], audience=APP_KEY)
    assert claims["qsh"] == "context-qsh"
    assert claims["sub"] == GERMAN_ID
    assert claims["iss"] == site.sandbox.state.installation.client_key
    assert 890 <= claims["exp"] - int(time.time()) <= 900
    confluence = claims["context"]["confluence"]
    assert confluence["content"]["id"] == "98487" and confluence["content"]["type"] == "page"
    assert confluence["space"]["key"] == "MKT"
    assert claims["context"]["url"]["displayUrl"] == f"{site.url}/wiki"


def test_page_menu_lists_the_web_item_only_when_installed(site: Site) -> None:
    page = requests.get(
        f"{site.url}/wiki/spaces/ENG/pages/2000000002", cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT
    )
    assert page.status_code == 200
    assert 'data-ap-webitem="send-as-mail"' in page.text
    assert f'<meta name="sandbox-app-origin" content="{site.app.url}">' in page.text
    requests.post(f"{site.url}/_sandbox/disable", timeout=TIMEOUT)
    try:
        page = requests.get(f"{site.url}/wiki/spaces/ENG/pages/2000000002", timeout=TIMEOUT)
        assert 'data-ap-webitem="send-as-mail"' not in page.text
    finally:
        requests.post(f"{site.url}/_sandbox/enable", timeout=TIMEOUT)


def test_admin_and_space_pages_embed_signed_iframes_for_the_right_people(site: Site) -> None:
    admin = requests.get(f"{site.url}/wiki/admin", cookies={"sandbox_user": ADMIN_ID}, timeout=TIMEOUT)
    assert admin.status_code == 200 and f'src="{site.app.url}/admin?' in admin.text
    assert (
        requests.get(f"{site.url}/wiki/admin", cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT).status_code == 403
    )
    tools = requests.get(
        f"{site.url}/wiki/spaces/MKT/settings/integrations", cookies={"sandbox_user": OUTSIDER_ID}, timeout=TIMEOUT
    )
    assert tools.status_code == 200 and f'src="{site.app.url}/space?spaceKey=MKT' in tools.text
    assert (
        requests.get(
            f"{site.url}/wiki/spaces/MKT/settings/integrations", cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT
        ).status_code
        == 403
    )


def test_module_names_come_in_the_users_language(site: Site) -> None:
    german = requests.get(
        f"{site.url}/wiki/spaces/ENG/pages/2000000002", cookies={"sandbox_user": GERMAN_ID}, timeout=TIMEOUT
    )
    assert ">Als E-Mail senden</button>" in german.text
    english = requests.get(
        f"{site.url}/wiki/spaces/ENG/pages/2000000002", cookies={"sandbox_user": REGULAR_ID}, timeout=TIMEOUT
    )
    assert ">Send as mail</button>" in english.text
