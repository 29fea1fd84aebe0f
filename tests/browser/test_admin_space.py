"""The space settings page in headless Chromium: when a change is refused (the site admin enforces the site-wide
permissions, or the person isn't a space admin), the page names the groups that may send, in English and German."""

from __future__ import annotations

from typing import Any

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.admin_support import (
    SPACE_MODULE,
    admin_settings,
    chip_names,
    enter_app_frame,
    open_module_in_host,
    person,
    pick_group,
    restore_admin_settings,
    restore_space_settings,
    space_settings,
    switch_user,
    wait,
)

DIETER = "712020:9b2e7c41-5d3a-4f8e-b1c6-2a9d8e7f6c05"  # German locale, no space admin


def group_ids(stack: Any) -> dict[str, str]:
    return {group["name"]: group["id"] for group in stack.control("GET", "users")["groups"]}


def restrict_site(stack: Any, admin: dict[str, Any], names: list[str], enforce: bool) -> None:
    ids = group_ids(stack)
    body = {"permissions": {"mode": "groups", "groups": [{"groupId": ids[n]} for n in names]}}
    body["permissions"]["enforceInAllSpaces"] = enforce
    answer = stack.api("PUT", "/api/admin/settings", admin["accountId"], json=body)
    assert answer.status_code == 200, answer.text


def open_space_page(browser: Chrome, stack: Any, space_key: str) -> None:
    browser.get(f"{stack.sandbox.url}/wiki/spaces/{space_key}/settings/integrations/{SPACE_MODULE}")
    enter_app_frame(browser, "iframe[data-ap-frame]", "space-settings")


def test_the_enforced_note_and_a_refusal_name_the_groups_that_may_send(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    space_key = next(key for key in admin["spaceAdminOf"])
    before_site = admin_settings(stack, admin)
    before_space = space_settings(stack, admin, space_key)
    try:
        switch_user(browser, stack, admin)
        open_space_page(browser, stack, space_key)
        enabled_before = browser.find_element(By.ID, "space-enabled").is_selected()
        # The space admin picks a group and turns the space off; meanwhile the site admin starts enforcing.
        pick_group(browser, "space-groups-input", "engineering")
        browser.find_element(By.CSS_SELECTOR, "label[for=space-enabled]").click()
        restrict_site(stack, admin, ["design", "marketing"], enforce=True)

        browser.find_element(By.ID, "save-button").click()
        message = wait(browser).until(ec.visibility_of_element_located((By.ID, "message")))
        wait(browser).until(lambda _driver: "Nothing was saved" in message.text)
        assert "now applies the site-wide permissions to every space" in message.text
        assert "Only members of design or marketing may send pages from this space." in message.text
        note = browser.find_element(By.ID, "space-groups-enforced")
        assert note.is_displayed()
        assert "Only members of design or marketing may send" in note.text
        assert not browser.find_element(By.ID, "space-groups-input").is_enabled()
        assert chip_names(browser, "space-groups-chips") == [g["name"] for g in before_space["groups"]]
        # The other edit stays, and saves once the groups are out of the way.
        toggle = browser.find_element(By.ID, "space-enabled")
        assert toggle.is_selected() is (not enabled_before)
        assert space_settings(stack, admin, space_key)["enabled"] == before_space["enabled"]
        browser.find_element(By.CSS_SELECTOR, "label[for=space-enabled]").click()
        assert not message.is_displayed(), "the refusal goes once the page is edited again"
        browser.find_element(By.CSS_SELECTOR, "label[for=space-enabled]").click()
        browser.find_element(By.ID, "save-button").click()
        wait(browser).until(lambda _driver: not message.is_displayed())
        wait(browser).until(
            lambda _driver: space_settings(stack, admin, space_key)["enabled"] is (not before_space["enabled"])
        )
        # The picked group was never saved: the chips show the space's stored groups (ignored while enforced).
        assert chip_names(browser, "space-groups-chips") == [g["name"] for g in before_space["groups"]]
    finally:
        restore_admin_settings(stack, admin, before_site)
        restore_space_settings(stack, admin, space_key, before_space)


def test_a_german_reader_is_told_in_german_who_may_send(stack: Any, browser: Chrome) -> None:
    admin = person(stack, "site-admin")
    space_key = next(key for key in admin["spaceAdminOf"])
    reader = next(user for user in stack.users() if user["accountId"] == DIETER)
    assert space_key not in reader["spaceAdminOf"] and not reader["siteAdmin"]
    before_site = admin_settings(stack, admin)
    try:
        restrict_site(stack, admin, ["design"], enforce=False)
        switch_user(browser, stack, reader)
        open_module_in_host(browser, stack, SPACE_MODULE, "space-settings", space_key=space_key)
        message = wait(browser).until(ec.visibility_of_element_located((By.ID, "message")))
        assert "Sie können diese Einstellungen nicht ändern" in message.text
        assert "Nur Bereichsadministratoren" in message.text
        assert "Nur Mitglieder von design dürfen Seiten aus diesem Bereich senden." in message.text
        assert not browser.find_element(By.ID, "save-button").is_enabled()
    finally:
        restore_admin_settings(stack, admin, before_site)
