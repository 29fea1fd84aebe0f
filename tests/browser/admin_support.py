"""Helpers for the admin-page browser tests: who browses the sandbox, opening the app's admin and space pages the
way Confluence does (in an iframe of the host page, AP bridge included), and putting settings back afterwards."""

from __future__ import annotations

from typing import Any

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

# Generous: the first request warms up the whole stack on a slow CI machine.
WAIT_S = 90
ADMIN_MODULE = "admin-settings"
SPACE_MODULE = "space-settings"


def wait(browser: Chrome, seconds: float = WAIT_S) -> WebDriverWait:
    return WebDriverWait(browser, seconds)


def person(stack: Any, role: str) -> dict[str, Any]:
    return next(user for user in stack.users() if role in user["roles"])


def switch_user(browser: Chrome, stack: Any, user: dict[str, Any]) -> None:
    """Become `user` with the sandbox's "You are" switcher in its top bar (it reloads the page)."""
    browser.get(f"{stack.sandbox.url}/wiki/")
    current = browser.find_element(By.CSS_SELECTOR, "meta[name=sandbox-user]").get_attribute("content")
    if current == user["accountId"]:
        return
    Select(browser.find_element(By.ID, "switch-user")).select_by_value(user["accountId"])
    wait(browser).until(
        lambda driver: driver.find_element(By.CSS_SELECTOR, "meta[name=sandbox-user]").get_attribute("content")
        == user["accountId"]
    )


def enter_app_frame(browser: Chrome, frame_selector: str, root_id: str) -> None:
    """From the host page: note its flags, switch into the app's iframe, wait until the app has loaded its data."""
    record_flags(browser)
    wait(browser).until(ec.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, frame_selector)))
    wait(browser).until(lambda driver: driver.find_element(By.ID, root_id).get_attribute("aria-busy") == "false")


def open_admin_page(browser: Chrome, stack: Any) -> None:
    """Apps → pagemail settings, as the current user; ends inside the app's iframe."""
    browser.get(f"{stack.sandbox.url}/wiki/admin/plugins/{ADMIN_MODULE}")
    enter_app_frame(browser, "iframe[data-ap-frame]", "admin-settings")


def open_module_in_host(browser: Chrome, stack: Any, module_key: str, root_id: str, space_key: str = "") -> None:
    """Open one of the app's modules for the current user in the host's modal, as host.js opens any module.

    The sandbox, like Confluence, keeps people without the right role off its admin and space-settings pages. The
    app checks again on its own (a URL can be shared, a role can be lost while the page is open); to see what the
    app then shows, the module is opened from a host page the user may see, through the same bridge.
    """
    browser.get(f"{stack.sandbox.url}/wiki/spaces/{space_key or 'ENG'}")
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-ap-modal]")))
    browser.execute_script(
        """
        const opener = document.createElement("button");
        opener.type = "button";
        opener.id = "test-module-opener";
        opener.dataset.apWebitem = arguments[0];
        opener.dataset.spaceKey = arguments[1];
        opener.textContent = "open";
        document.body.appendChild(opener);
        """,
        module_key,
        space_key,
    )
    browser.find_element(By.ID, "test-module-opener").click()
    enter_app_frame(browser, "[data-ap-modal-body] iframe", root_id)


def save_section(browser: Chrome, section: str) -> None:
    """Click a settings section's own Save button and wait until its save has come back."""
    button = browser.find_element(By.ID, f"{section}-save")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait(browser).until(lambda _driver: button.get_attribute("aria-busy") != "true")


def section_status(browser: Chrome, section: str) -> str:
    return str(browser.find_element(By.ID, f"{section}-save-status").text)


def retype(browser: Chrome, element_id: str, text: str) -> None:
    field = browser.find_element(By.ID, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    if text:
        field.send_keys(text)
    assert field.get_attribute("value") == text


def pick_group(browser: Chrome, input_id: str, name: str) -> None:
    """In a group picker: type a few letters, arrow down to the group named `name`, take it with Enter."""
    field = browser.find_element(By.ID, input_id)
    field.send_keys(name[:3])
    listbox = browser.find_element(By.ID, field.get_attribute("aria-controls"))
    wait(browser).until(lambda _driver: name in listbox.text)
    for _ in listbox.find_elements(By.CSS_SELECTOR, "[role=option]"):
        field.send_keys(Keys.ARROW_DOWN)
        active = field.get_attribute("aria-activedescendant")
        if active and browser.find_element(By.ID, active).text == name:
            break
    field.send_keys(Keys.ENTER)
    assert field.get_attribute("value") == "", f"{name} was not among the suggestions"


def chip_names(browser: Chrome, chips_id: str) -> list[str]:
    return [chip.text for chip in browser.find_elements(By.CSS_SELECTOR, f"#{chips_id} .chip-name")]


def record_flags(browser: Chrome) -> None:
    """Keep every flag the host shows (they close themselves after a few seconds) in window.testFlags."""
    browser.execute_script(
        """
        window.testFlags = [];
        new MutationObserver(function (changes) {
          changes.forEach(function (change) {
            change.addedNodes.forEach(function (node) {
              if (node.classList && node.classList.contains("flag")) {
                window.testFlags.push({type: node.className, title: node.querySelector(".flag-title").textContent});
              }
            });
          });
        }).observe(document.getElementById("ap-flags"), {childList: true});
        """
    )


def flags(browser: Chrome) -> list[dict[str, str]]:
    return list(browser.execute_script("return window.testFlags || []"))


def admin_settings(stack: Any, admin: dict[str, Any]) -> dict[str, Any]:
    response = stack.api("GET", "/api/admin/settings", admin["accountId"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def restore_admin_settings(stack: Any, admin: dict[str, Any], saved: dict[str, Any]) -> None:
    """The stack is shared by the session: put back everything a test may have changed."""
    permissions = dict(saved["permissions"], groups=[{"groupId": g["groupId"]} for g in saved["permissions"]["groups"]])
    smtp = {key: value for key, value in saved["smtp"].items() if key != "passwordSet"}
    if not saved["smtp"]["passwordSet"]:
        smtp["clearPassword"] = True
    body = {"mail": saved["mail"], "layout": saved["layout"], "permissions": permissions, "smtp": smtp}
    if saved["debugLoggingUntil"] is None:
        body["debugLoggingHours"] = 0
    response = stack.api("PUT", "/api/admin/settings", admin["accountId"], json=body)
    assert response.status_code == 200, response.text


def space_settings(stack: Any, user: dict[str, Any], space_key: str) -> dict[str, Any]:
    response = stack.api("GET", f"/api/spaces/{space_key}/settings", user["accountId"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def restore_space_settings(stack: Any, admin: dict[str, Any], space_key: str, saved: dict[str, Any]) -> None:
    body = {"enabled": saved["enabled"], "groups": [{"groupId": g["groupId"]} for g in saved["groups"]]}
    response = stack.api("PUT", f"/api/spaces/{space_key}/settings", admin["accountId"], json=body)
    assert response.status_code == 200, response.text
