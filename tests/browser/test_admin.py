"""The admin pages in headless Chromium, against the real stack: the sandbox's Apps page with the app's settings in
an iframe (AP bridge over postMessage), the app's settings API, a send through the mail catcher; and the space
settings tab."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.admin_support import (
    SPACE_MODULE,
    WAIT_S,
    admin_settings,
    chip_names,
    enter_app_frame,
    flags,
    open_admin_page,
    open_module_in_host,
    person,
    pick_group,
    restore_admin_settings,
    restore_space_settings,
    retype,
    save_section,
    section_status,
    space_settings,
    switch_user,
    wait,
)

SCREENSHOT = Path("/tmp/pagemail-admin.png")


def quiet_page(stack: Any) -> dict[str, Any]:
    """A page everyone may read and without attachments: the mail is about the settings, not the page."""
    return next(page for page in stack.pages() if not page["restricted"] and not page["attachments"])


def save_and_wait(browser: Chrome) -> None:
    button = browser.find_element(By.ID, "save-button")
    button.click()
    wait(browser).until(lambda _driver: button.get_attribute("aria-busy") == "false")


def html_part(message: Any) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the mail has no HTML part"
    return str(part.get_content())


def test_an_admin_changes_prefix_and_button_label_and_the_next_mail_has_them(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    before = admin_settings(stack, admin)
    marker = uuid.uuid4().hex[:6]
    prefix, label = f"[Team news {marker}]", f"Read it now {marker}"
    try:
        switch_user(browser, stack, admin)
        open_admin_page(browser, stack)

        assert browser.find_element(By.CSS_SELECTOR, "h1").text == "pagemail settings"
        for heading in ("Mail", "Layout", "Permissions", "Mail server", "Debug logging"):
            assert browser.find_element(By.XPATH, f"//h2[normalize-space()='{heading}']").is_displayed()
        assert browser.find_element(By.ID, "subject-prefix").get_attribute("value") == before["mail"]["subjectPrefix"]
        assert browser.find_element(By.ID, "preview-frame").get_attribute("sandbox") == ""

        retype(browser, "subject-prefix", prefix)
        retype(browser, "button-label", label)
        # The live preview renders the unsaved form through the real mail renderer.
        wait(browser).until(
            lambda driver: label in (driver.find_element(By.ID, "preview-frame").get_attribute("srcdoc") or "")
        )
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "preview-subject"), prefix))
        assert section_status(browser, "mail") == "Unsaved changes"
        assert section_status(browser, "layout") == "Unsaved changes"
        assert section_status(browser, "permissions") == ""

        # A bad address: the server refuses the section's change and says which field is wrong.
        retype(browser, "sender-address", "not an address")
        save_section(browser, "mail")
        error = wait(browser).until(ec.visibility_of_element_located((By.ID, "sender-address-error")))
        assert error.text.startswith("Sender address is not a valid email address")
        assert browser.find_element(By.ID, "sender-address").get_attribute("aria-invalid") == "true"
        assert "Nothing was saved" in browser.find_element(By.ID, "mail-message").text
        assert admin_settings(stack, admin)["mail"]["subjectPrefix"] == before["mail"]["subjectPrefix"]

        # Editing the field takes the error and the section's "nothing was saved" away at once.
        retype(browser, "sender-address", before["mail"]["senderAddress"] or "")
        assert not browser.find_element(By.ID, "sender-address-error").is_displayed()
        assert browser.find_element(By.ID, "sender-address").get_attribute("aria-invalid") is None
        assert not browser.find_element(By.ID, "mail-message").is_displayed()
        save_section(browser, "mail")
        assert section_status(browser, "mail") == "Saved"
        saved = admin_settings(stack, admin)
        # The mail section only: the layout's edit is neither saved nor undone.
        assert (saved["mail"]["subjectPrefix"], saved["layout"]["buttonLabel"]) == (
            prefix,
            before["layout"]["buttonLabel"],
        )
        assert browser.find_element(By.ID, "button-label").get_attribute("value") == label
        assert section_status(browser, "layout") == "Unsaved changes"
        save_section(browser, "layout")
        assert section_status(browser, "layout") == "Saved"
        assert admin_settings(stack, admin)["layout"]["buttonLabel"] == label

        browser.switch_to.default_content()
        wait(browser).until(lambda driver: any(flag["title"] == "Settings saved" for flag in flags(driver)))
        assert all("success" in flag["type"] for flag in flags(browser))
        # The whole page in one picture, to check it looks at home in Confluence.
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, max(900, int(height) + 40))
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(SCREENSHOT))
        browser.set_window_size(1280, 900)

        page = quiet_page(stack)
        sent = stack.api(
            "POST",
            "/api/send",
            admin["accountId"],
            json={"contentId": page["id"], "to": [{"accountId": admin["accountId"]}], "cc": [], "bcc": []},
        )
        assert sent.status_code == 200, sent.text
        mail = stack.catcher.wait_for(1, timeout=WAIT_S)[0].message()
        assert str(mail["Subject"]).startswith(prefix + " ")
        assert page["title"] in str(mail["Subject"])
        assert label in html_part(mail)
    finally:
        restore_admin_settings(stack, admin, before)


def test_an_admin_sets_permissions_mail_server_and_debug_logging(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    before = admin_settings(stack, admin)
    assert before["smtp"]["mode"] == "default" and not before["smtp"]["passwordSet"]
    group_ids = {group["name"]: group["id"] for group in stack.control("GET", "users")["groups"]}
    password = f"pw-{uuid.uuid4().hex}"
    try:
        switch_user(browser, stack, admin)
        open_admin_page(browser, stack)

        assert not browser.find_element(By.ID, "allowed-groups-input").is_displayed()
        browser.find_element(By.CSS_SELECTOR, "input[name=permission-mode][value=groups]").click()
        pick_group(browser, "allowed-groups-input", "engineering")
        assert chip_names(browser, "allowed-groups-chips") == ["engineering"]
        domains = browser.find_element(By.ID, "allowed-domains-input")
        domains.send_keys("example.com, @Example.org", Keys.ENTER)
        assert chip_names(browser, "allowed-domains-chips") == ["example.com", "example.org"]
        domains.send_keys("not a domain!", Keys.ENTER)
        assert browser.find_element(By.ID, "allowed-domains-input-error").is_displayed()
        retype(browser, "allowed-domains-input", "")
        retype(browser, "max-attachment-mb", "5.5")

        browser.find_element(By.CSS_SELECTOR, "input[name=smtp-mode][value=custom]").click()
        retype(browser, "smtp-host", "127.0.0.1")
        retype(browser, "smtp-port", str(stack.catcher.port))
        retype(browser, "smtp-username", "mailer")
        retype(browser, "smtp-password", password)
        # The test uses the unsaved form and saves nothing.
        browser.find_element(By.ID, "smtp-test").click()
        result = wait(browser).until(ec.visibility_of_element_located((By.ID, "smtp-result")))
        assert result.text.startswith(("The connection works", "Connected", "Failed while"))
        assert admin_settings(stack, admin)["smtp"]["mode"] == "default"

        browser.find_element(By.CSS_SELECTOR, "input[name=debug-mode][value=on]").click()
        retype(browser, "debug-hours", "2")
        assert browser.find_element(By.ID, "debug-status").text.startswith("After saving: on until about")

        for section in ("permissions", "smtp", "debug"):
            save_section(browser, section)
            assert section_status(browser, section) == "Saved", section
            assert not browser.find_element(By.ID, f"{section}-message").is_displayed()
        assert not browser.find_element(By.ID, "message").is_displayed()
        answer = stack.api("GET", "/api/admin/settings", admin["accountId"])
        assert password not in answer.text, "the password is write-only"
        saved = answer.json()
        assert saved["permissions"]["mode"] == "groups"
        assert [g["groupId"] for g in saved["permissions"]["groups"]] == [group_ids["engineering"]]
        assert saved["permissions"]["allowedDomains"] == ["example.com", "example.org"]
        assert saved["permissions"]["maxAttachmentBytes"] == int(5.5 * 1024 * 1024)
        assert {key: saved["smtp"][key] for key in ("mode", "host", "port", "username", "passwordSet")} == {
            "mode": "custom",
            "host": "127.0.0.1",
            "port": stack.catcher.port,
            "username": "mailer",
            "passwordSet": True,
        }
        assert saved["debugLoggingUntil"] is not None
        field = browser.find_element(By.ID, "smtp-password")
        assert field.get_attribute("value") == ""
        assert field.get_attribute("placeholder") == "•••••• (saved)"
        assert browser.find_element(By.ID, "debug-status").text.startswith("Debug logging is on until")
    finally:
        restore_admin_settings(stack, admin, before)
    after = admin_settings(stack, admin)
    assert after["smtp"] == before["smtp"] and after["debugLoggingUntil"] is None


def test_someone_who_is_not_a_site_admin_is_refused(stack: Any, browser: Chrome) -> None:
    colleague = person(stack, "regular")
    switch_user(browser, stack, colleague)

    # The sandbox, like Confluence, keeps them off its Apps pages.
    browser.get(f"{stack.sandbox.url}/wiki/admin")
    assert "Only site admins can open app settings." in browser.find_element(By.TAG_NAME, "body").text

    # And when the app's page is opened anyway, the app refuses on its own and shows no form.
    open_module_in_host(browser, stack, "admin-settings", "admin-settings")
    message = wait(browser).until(ec.visibility_of_element_located((By.ID, "message")))
    assert "You can't change these settings" in message.text
    assert "Only Confluence administrators" in message.text
    assert not browser.find_element(By.ID, "settings-form").is_displayed()
    assert not any(button.is_displayed() for button in browser.find_elements(By.CSS_SELECTOR, ".section-save"))


def test_a_space_admin_restricts_the_space_to_a_group_with_the_keyboard(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    space_key = next(key for key in admin["spaceAdminOf"])
    before = space_settings(stack, admin, space_key)
    group_ids = {group["name"]: group["id"] for group in stack.control("GET", "users")["groups"]}
    group = next(
        name for name in ("design", "engineering") if group_ids[name] not in {g["groupId"] for g in before["groups"]}
    )
    try:
        switch_user(browser, stack, admin)
        browser.get(f"{stack.sandbox.url}/wiki/spaces/{space_key}/settings/integrations/{SPACE_MODULE}")
        enter_app_frame(browser, "iframe[data-ap-frame]", "space-settings")

        toggle = browser.find_element(By.ID, "space-enabled")
        assert toggle.is_selected() == before["enabled"]
        pick_group(browser, "space-groups-input", group)
        assert group in chip_names(browser, "space-groups-chips")

        save_and_wait(browser)
        assert group_ids[group] in {g["groupId"] for g in space_settings(stack, admin, space_key)["groups"]}
        assert group in chip_names(browser, "space-groups-chips")
        browser.switch_to.default_content()
        wait(browser).until(lambda driver: any(flag["title"] == "Space settings saved" for flag in flags(driver)))
    finally:
        restore_space_settings(stack, admin, space_key, before)


def test_someone_who_is_not_a_space_admin_sees_the_space_settings_read_only(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    space_key = next(key for key in admin["spaceAdminOf"])
    reader = next(
        user
        for user in stack.users()
        if user["accountType"] == "atlassian"
        and space_key not in user["spaceAdminOf"]
        and not user["siteAdmin"]
        and "confluence-users" in user["groups"]
    )
    before = space_settings(stack, admin, space_key)
    switch_user(browser, stack, reader)
    open_module_in_host(browser, stack, SPACE_MODULE, "space-settings", space_key=space_key)

    # Read-only from the start (the server said canChange: false), saying why and who may send.
    message = wait(browser).until(ec.visibility_of_element_located((By.ID, "message")))
    assert "Only space admins can change pagemail settings for this space" in message.text
    assert "may send pages from this space" in message.text
    toggle = browser.find_element(By.ID, "space-enabled")
    assert toggle.is_selected() == before["enabled"]
    assert not toggle.is_enabled()
    browser.find_element(By.CSS_SELECTOR, "label[for=space-enabled]").click()
    assert toggle.is_selected() == before["enabled"]
    assert not browser.find_element(By.ID, "save-button").is_enabled()
    assert space_settings(stack, admin, space_key) == before
