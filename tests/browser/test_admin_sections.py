"""The admin page in headless Chromium, section by section: each section saves on its own without touching the others'
edits, the guard-rail settings, messages that go once their cause is fixed, the sample preview, and the one sidebar
entry the app gets in the sandbox Confluence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.admin_support import (
    ADMIN_MODULE,
    admin_settings,
    enter_app_frame,
    open_admin_page,
    person,
    restore_admin_settings,
    retype,
    save_section,
    section_status,
    switch_user,
    wait,
)

STRINGS = Path(__file__).resolve().parents[2] / "static" / "i18n" / "admin.json"


def click(browser: Chrome, selector: str) -> None:
    element = browser.find_element(By.CSS_SELECTOR, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def visible(browser: Chrome, element_id: str) -> bool:
    return bool(browser.find_element(By.ID, element_id).is_displayed())


def test_guard_rails_are_set_in_the_permissions_section_which_saves_alone(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    before = admin_settings(stack, admin)
    assert (before["permissions"]["confirmAbove"], before["permissions"]["withoutAccess"]) == (25, "warn")
    try:
        switch_user(browser, stack, admin)
        open_admin_page(browser, stack)

        assert browser.find_element(By.ID, "confirm-above").get_attribute("value") == "25"
        assert browser.find_element(By.CSS_SELECTOR, "input[name=without-access][value=warn]").is_selected()
        assert "Members of a group count one by one" in browser.find_element(By.ID, "confirm-above-help").text
        assert "may view the page" in browser.find_element(By.ID, "without-access-help").text

        # Edits in two sections; only the permissions are saved.
        retype(browser, "subject-prefix", "[Unsaved prefix]")
        retype(browser, "confirm-above", "40")
        click(browser, "input[name=without-access][value=block]")
        assert section_status(browser, "permissions") == "Unsaved changes"
        save_section(browser, "permissions")
        assert section_status(browser, "permissions") == "Saved"

        saved = admin_settings(stack, admin)
        assert (saved["permissions"]["confirmAbove"], saved["permissions"]["withoutAccess"]) == (40, "block")
        # The other section's edit was neither sent nor reset.
        assert saved["mail"]["subjectPrefix"] == before["mail"]["subjectPrefix"]
        assert browser.find_element(By.ID, "subject-prefix").get_attribute("value") == "[Unsaved prefix]"
        assert section_status(browser, "mail") == "Unsaved changes"

        # A threshold out of range is refused here, and the error goes as soon as the field is edited.
        retype(browser, "confirm-above", "0")
        save_section(browser, "permissions")
        error = wait(browser).until(ec.visibility_of_element_located((By.ID, "confirm-above-error")))
        assert error.text == "Enter a whole number of recipients from 1 to 10,000."
        assert "Nothing was saved" in browser.find_element(By.ID, "permissions-message").text
        browser.find_element(By.ID, "confirm-above").send_keys(Keys.BACK_SPACE, "12")
        assert not visible(browser, "confirm-above-error")
        assert not visible(browser, "permissions-message")
        assert admin_settings(stack, admin)["permissions"]["confirmAbove"] == 40

        # The saved values come back on the next visit; the mail section's edit was never saved.
        open_admin_page(browser, stack)
        assert browser.find_element(By.ID, "confirm-above").get_attribute("value") == "40"
        assert browser.find_element(By.CSS_SELECTOR, "input[name=without-access][value=block]").is_selected()
        assert browser.find_element(By.ID, "subject-prefix").get_attribute("value") == before["mail"]["subjectPrefix"]
    finally:
        restore_admin_settings(stack, admin, before)


def test_messages_go_when_their_cause_is_fixed(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    before = admin_settings(stack, admin)
    try:
        switch_user(browser, stack, admin)
        open_admin_page(browser, stack)

        # "Saved" stays only until the section is edited again.
        retype(browser, "header-text", "Header one")
        save_section(browser, "layout")
        assert section_status(browser, "layout") == "Saved"
        browser.find_element(By.ID, "header-text").send_keys("!")
        assert section_status(browser, "layout") == "Unsaved changes"

        # The preview's complaint about custom CSS goes when the CSS is edited (and comes back if still wrong).
        retype(browser, "custom-css", "@import url(https://evil.example/x.css);")
        problem = wait(browser).until(ec.visibility_of_element_located((By.ID, "preview-problem")))
        assert "Custom CSS" in problem.text
        retype(browser, "custom-css", "p { color: #333; }")
        wait(browser).until(lambda _driver: not visible(browser, "preview-problem"))
        wait(browser).until(lambda driver: driver.find_element(By.ID, "preview-state").text == "")
        assert not visible(browser, "preview-problem")

        # Groups mode without a group: refused before asking the server; choosing "All users" fixes it.
        click(browser, "input[name=permission-mode][value=groups]")
        save_section(browser, "permissions")
        assert visible(browser, "allowed-groups-input-error")
        assert visible(browser, "permissions-message")
        click(browser, "input[name=permission-mode][value=all]")
        assert not visible(browser, "allowed-groups-input-error")
        assert not visible(browser, "permissions-message")

        # Something that isn't a domain: the error goes as the admin types again.
        click(browser, "#allowed-domains-input")
        browser.find_element(By.ID, "allowed-domains-input").send_keys("not a domain!", Keys.ENTER)
        assert visible(browser, "allowed-domains-input-error")
        browser.find_element(By.ID, "allowed-domains-input").send_keys(Keys.BACK_SPACE)
        assert not visible(browser, "allowed-domains-input-error")
        retype(browser, "allowed-domains-input", "")

        # Debug hours out of range, then fixed.
        click(browser, "input[name=debug-mode][value=on]")
        retype(browser, "debug-hours", "30")
        save_section(browser, "debug")
        assert visible(browser, "debug-hours-error")
        retype(browser, "debug-hours", "3")
        assert not visible(browser, "debug-hours-error")
        assert not visible(browser, "debug-message")
        assert admin_settings(stack, admin)["debugLoggingUntil"] == before["debugLoggingUntil"]
    finally:
        restore_admin_settings(stack, admin, before)


def test_the_sample_preview_shows_the_page_title_once(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    switch_user(browser, stack, admin)
    open_admin_page(browser, stack)
    frame = browser.find_element(By.ID, "preview-frame")
    wait(browser).until(lambda _driver: "Goals" in (frame.get_attribute("srcdoc") or ""))
    body = lxml.html.fromstring(frame.get_attribute("srcdoc")).find("body")
    titles = [h for h in body.iter("h1", "h2", "h3") if h.text_content().strip() == "Quarterly planning"]
    assert len(titles) == 1, "the page title shows once: the mail's linked title line, not again as the content's"
    assert titles[0].get("class") == "pm-title-heading"
    assert browser.find_element(By.ID, "preview-subject").text.endswith(" Quarterly planning")

    click(browser, "#preview-toggle")
    lines = [line.strip() for line in browser.find_element(By.ID, "preview-text").text.splitlines()]
    assert lines.count("Quarterly planning") == 1


def test_the_app_has_one_sidebar_entry_and_its_configure_button_opens_the_same_page(
    stack: Any, browser: Chrome
) -> None:
    admin = person(stack, "site-admin")
    switch_user(browser, stack, admin)
    browser.get(f"{stack.sandbox.url}/wiki/admin")
    entries = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".sidebar .tree a")]
    assert entries == ["pagemail settings", "Manage apps"]

    # configurePage is what Manage apps' Configure button opens (as in Confluence), not a second sidebar entry.
    browser.get(f"{stack.sandbox.url}/wiki/plugins/servlet/upm")
    browser.find_element(By.ID, "configure-app").click()
    wait(browser).until(lambda driver: driver.current_url.split("?")[0].endswith("/wiki/admin/plugins/configure"))
    assert [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".sidebar .tree a")] == entries
    enter_app_frame(browser, "iframe[data-ap-frame]", "admin-settings")
    assert browser.find_element(By.ID, "mail-save").is_displayed()
    browser.switch_to.default_content()

    browser.get(f"{stack.sandbox.url}/wiki/admin/plugins/{ADMIN_MODULE}")
    current = browser.find_elements(By.CSS_SELECTOR, ".sidebar .tree li.current a")
    assert [link.text for link in current] == ["pagemail settings"]


def test_the_new_strings_are_in_english_and_german() -> None:
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    assert set(strings["en"]) == set(strings["de"])
    for key in (
        "permissions.confirmAbove",
        "permissions.withoutAccess",
        "permissions.withoutAccessHelp",
        "smtp.testPlainAnonymous",
        "smtp.passwordAgainError",
        "space.sendersGroups",
        "admin.sectionUnsaved",
    ):
        assert strings["en"][key] and strings["de"][key] and strings["en"][key] != strings["de"][key], key
