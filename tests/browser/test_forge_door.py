"""The Forge app in headless Chromium, against the real stack: the sandbox plays the Forge host UI (the "•••" entry,
Apps and Space settings pages rendering the built Custom UI from Forge's CDN origin, the host side of
`window.__bridge`), the app is the Forge remote, mails land in the catcher. The same journeys as the Connect door's
browser tests, through the Forge door: every API call is an invokeRemote the platform signs, and the app reads
Confluence through the API gateway with the Forge tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.admin_support import (
    flags,
    person,
    record_flags,
    retype,
    save_section,
    section_status,
    switch_user,
    wait,
)
from tests.browser.test_send_dialog import browse_as, chip_names, open_page, pick_with_keyboard
from tests.forge.custom_ui import built_custom_ui
from tests.forge_stack import ForgeStack, running_forge_stack

SCREENSHOT = Path("/tmp/pagemail-forge-dialog.png")
SUCCESS = ".section-message-success"
FORGE_DIALOG_FRAME = "[data-forge-modal-body] iframe"
FORGE_PAGE_FRAME = "iframe[data-forge-frame]"

pytestmark = pytest.mark.usefixtures("screenshot_on_failure")


@pytest.fixture(scope="module")
def forge_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForgeStack]:
    """Both apps installed in one sandbox, and the Custom UI built from this working tree (or a skip: no npm)."""
    built_custom_ui()
    with running_forge_stack(tmp_path_factory.mktemp("forge-browser")) as stack:
        yield stack


@pytest.fixture
def stack(forge_stack: ForgeStack) -> ForgeStack:
    return forge_stack.for_a_test()


def forge_settings(stack: ForgeStack, user: dict[str, Any], path: str) -> dict[str, Any]:
    """Settings as the Forge tenant has them (the Connect tenant of the same site has its own)."""
    response = stack.forge_api("GET", path, user["accountId"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_in_cdn_frame(browser: Chrome, stack: ForgeStack, resource: str) -> None:
    """The iframe is the built Custom UI resource, from Forge's CDN: another origin than the site's."""
    here = urlsplit(browser.execute_script("return location.href"))
    site = urlsplit(stack.sandbox.url)
    assert here.path == f"/forge-cdn/resources/{resource}/index.html"
    assert (here.hostname, here.port) != (site.hostname, site.port)
    assert browser.execute_script("return window.pagemailHost && window.pagemailHost.kind") == "forge"
    assert browser.execute_script("return typeof window.AP") == "undefined", "no Connect bridge in a Forge page"


def through_the_gateway(stack: ForgeStack) -> list[dict[str, Any]]:
    """The app's Confluence calls since the last clear that went through Forge's API gateway."""
    return [entry for entry in stack.control("GET", "requests")["requests"] if entry["path"].startswith("/ex/")]


def enter_forge_page(browser: Chrome, root_id: str) -> None:
    """From the host page into the Forge settings page's iframe, once the page has loaded its data."""
    wait(browser).until(ec.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, FORGE_PAGE_FRAME)))
    wait(browser).until(lambda driver: driver.find_element(By.ID, root_id).get_attribute("aria-busy") == "false")


def open_forge_dialog(browser: Chrome) -> None:
    """ "•••" → "Send as mail" (the Forge app's entry), then work inside its iframe until it has set itself up."""
    browser.find_element(By.CSS_SELECTOR, "[data-ap-menu-toggle]").click()
    item = wait(browser).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-forge-action='send-as-mail']")))
    assert item.find_element(By.CSS_SELECTOR, ".dropdown-label").text == "Send as mail"
    record_flags(browser)
    item.click()
    wait(browser).until(ec.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, FORGE_DIALOG_FRAME)))
    body = wait(browser).until(ec.presence_of_element_located((By.ID, "send-dialog")))
    wait(browser).until(lambda _driver: body.get_attribute("aria-busy") == "false")


def test_a_page_sent_from_the_forge_entry_arrives(stack: ForgeStack, browser: Chrome) -> None:
    sender, recipient = person(stack, "regular"), person(stack, "german")
    page = open_page(stack)
    browse_as(browser, stack, sender, page)
    open_forge_dialog(browser)
    assert_in_cdn_frame(browser, stack, "dialog")

    assert browser.find_element(By.ID, "dialog-title").text == "Send as mail"
    assert browser.find_element(By.ID, "page-title").text == page["title"], "the page from the Forge context"
    to_field = browser.find_element(By.ID, "to-input")
    pick_with_keyboard(browser, to_field, recipient["displayName"][:4], recipient["displayName"])
    assert chip_names(browser, "to") == [recipient["displayName"]]
    subject = browser.find_element(By.ID, "subject").get_attribute("value")
    assert subject.endswith(page["title"])
    browser.save_screenshot(str(SCREENSHOT))

    browser.find_element(By.ID, "send-button").click()
    success = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, SUCCESS)))
    assert "Sent to 1 recipient: To 1." in success.text

    mails = stack.catcher.wait_for(1, timeout=90)
    assert len(mails) == 1
    assert mails[0].message()["Subject"] == subject
    assert mails[0].rcpt_tos == [recipient["email"]]
    # Every Confluence read went through Forge's gateway, as the sender (the user token) or the app (system token).
    gateway = through_the_gateway(stack)
    assert gateway and all(entry["auth"] != "jwt" for entry in gateway)
    assert any(entry["accountId"] == sender["accountId"] for entry in gateway)

    # The dialog closes itself (view.close) and the host's flag, shown through showFlag, says who got it.
    browser.switch_to.default_content()
    wait(browser).until(lambda driver: not driver.execute_script("return window.SandboxForgeHost.dialogOpen()"))
    wait(browser).until(lambda driver: any("success" in flag["type"] for flag in flags(driver)))


def test_the_forge_dialog_speaks_the_users_language_from_the_forge_context(stack: ForgeStack, browser: Chrome) -> None:
    german = person(stack, "german")
    browse_as(browser, stack, german, open_page(stack))
    open_forge_dialog(browser)

    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "dialog-title"), "Als E-Mail senden"))
    assert browser.find_element(By.ID, "send-button").text == "Senden"
    assert browser.execute_script("return document.documentElement.lang") == "de"

    browser.find_element(By.ID, "cancel-button").click()
    browser.switch_to.default_content()
    wait(browser).until(lambda driver: not driver.execute_script("return window.SandboxForgeHost.dialogOpen()"))
    assert stack.catcher.messages() == []


def test_a_site_admin_changes_a_setting_on_the_forge_admin_page(stack: ForgeStack, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    before = forge_settings(stack, admin, "/api/admin/settings")
    connect_before = stack.api("GET", "/api/admin/settings", admin["accountId"]).json()
    prefix = "[Forge door]"
    switch_user(browser, stack, admin)
    # Apps → the Forge app's "pagemail settings" entry in the sidebar.
    browser.get(f"{stack.sandbox.url}/wiki/admin")
    browser.find_element(By.CSS_SELECTOR, "a[data-forge-module='pagemail-settings']").click()
    record_flags(browser)
    enter_forge_page(browser, "admin-settings")
    assert_in_cdn_frame(browser, stack, "admin")
    try:
        assert browser.find_element(By.ID, "subject-prefix").get_attribute("value") == before["mail"]["subjectPrefix"]
        retype(browser, "subject-prefix", prefix)
        assert section_status(browser, "mail") == "Unsaved changes"
        save_section(browser, "mail")
        assert section_status(browser, "mail") == "Saved"

        # Saved in the Forge tenant, and only there: the Connect app of the same site keeps its own settings.
        assert forge_settings(stack, admin, "/api/admin/settings")["mail"]["subjectPrefix"] == prefix
        connect_after = stack.api("GET", "/api/admin/settings", admin["accountId"]).json()
        assert connect_after["mail"]["subjectPrefix"] == connect_before["mail"]["subjectPrefix"]
        browser.switch_to.default_content()
        wait(browser).until(lambda driver: any(flag["title"] == "Settings saved" for flag in flags(driver)))

        # A reload shows what was saved.
        browser.refresh()
        enter_forge_page(browser, "admin-settings")
        assert browser.find_element(By.ID, "subject-prefix").get_attribute("value") == prefix
    finally:
        body = {"mail": {"subjectPrefix": before["mail"]["subjectPrefix"]}}
        answer = stack.forge_api("PUT", "/api/admin/settings", admin["accountId"], json=body)
        assert answer.status_code == 200, answer.text


def test_a_space_admin_turns_pagemail_off_on_the_forge_space_page(stack: ForgeStack, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    space_key = admin["spaceAdminOf"][0]
    path = f"/api/spaces/{space_key}/settings"
    before = forge_settings(stack, admin, path)
    assert before["enabled"] is True
    switch_user(browser, stack, admin)
    # Space settings → Integrations → the Forge app's tab.
    browser.get(f"{stack.sandbox.url}/wiki/spaces/{space_key}/settings/integrations")
    browser.find_element(By.CSS_SELECTOR, "a[data-forge-module='pagemail-space-settings']").click()
    enter_forge_page(browser, "space-settings")
    assert_in_cdn_frame(browser, stack, "space")
    try:
        toggle = browser.find_element(By.ID, "space-enabled")
        assert toggle.is_selected()
        browser.find_element(By.CSS_SELECTOR, "label[for=space-enabled]").click()
        assert not toggle.is_selected()
        save = browser.find_element(By.ID, "save-button")
        save.click()
        wait(browser).until(lambda _driver: save.get_attribute("aria-busy") != "true")
        wait(browser).until(lambda _driver: forge_settings(stack, admin, path)["enabled"] is False)
        assert stack.api("GET", path, admin["accountId"]).json()["enabled"] is True, "the Connect tenant's own"
        assert not browser.find_element(By.ID, "message").is_displayed(), "no error"
    finally:
        body = {"enabled": True, "groups": [{"groupId": g["groupId"]} for g in before["groups"]]}
        answer = stack.forge_api("PUT", path, admin["accountId"], json=body)
        assert answer.status_code == 200, answer.text
