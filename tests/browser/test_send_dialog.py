"""The send dialog in headless Chromium, against the real stack: the sandbox Confluence page, its "•••" menu,
the app's dialog in the host's modal (AP bridge over postMessage), the app's API, and the mail catcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

SCREENSHOT = Path("/tmp/pagemail-dialog.png")
# Generous: the first send warms up the whole stack on a slow CI machine.
WAIT_S = 90
SANDBOX_USER_COOKIE = "sandbox_user"
SUCCESS, WARNING, ERROR = ".section-message-success", ".section-message-warning", ".section-message-error"

pytestmark = pytest.mark.usefixtures("screenshot_on_failure")


def person(stack: Any, role: str) -> dict[str, Any]:
    return next(user for user in stack.users() if role in user["roles"])


def open_page(stack: Any) -> dict[str, Any]:
    """A page everyone may read, in a space where the app is enabled by default."""
    return next(page for page in stack.pages() if not page["restricted"] and "fixture" in page["tags"])


def restricted_page(stack: Any, outsider: dict[str, Any]) -> dict[str, Any]:
    hidden = [page for page in stack.pages() if page["restricted"]]
    return next(page for page in hidden if outsider["accountId"] not in page["readableBy"])


def wait(browser: Chrome, seconds: float = WAIT_S) -> WebDriverWait:
    return WebDriverWait(browser, seconds)


def browse_as(browser: Chrome, stack: Any, user: dict[str, Any], page: dict[str, Any]) -> None:
    """Open a sandbox page as `user` (the sandbox knows who browses by a cookie, like a signed-in session)."""
    browser.get(f"{stack.sandbox.url}/wiki/")
    browser.add_cookie({"name": SANDBOX_USER_COOKIE, "value": user["accountId"], "path": "/"})
    browser.get(page["webui"])
    wait(browser).until(ec.visibility_of_element_located((By.ID, "title-text")))


def open_send_dialog(browser: Chrome) -> None:
    """ "•••" → "Send as mail", then work inside the dialog's iframe until it has set itself up."""
    browser.find_element(By.CSS_SELECTOR, "[data-ap-menu-toggle]").click()
    menu_item = (By.CSS_SELECTOR, "[data-ap-webitem='send-as-mail']")
    item = wait(browser).until(ec.element_to_be_clickable(menu_item))
    assert item.text.strip() in {"Send as mail", "Als E-Mail senden"}
    item.click()
    dialog_frame = (By.CSS_SELECTOR, "[data-ap-modal-body] iframe")
    wait(browser).until(ec.frame_to_be_available_and_switch_to_it(dialog_frame))
    body = wait(browser).until(ec.presence_of_element_located((By.ID, "send-dialog")))
    wait(browser).until(lambda _driver: body.get_attribute("aria-busy") == "false")


def active_option(browser: Chrome, field: WebElement) -> str:
    option_id = field.get_attribute("aria-activedescendant")
    return browser.find_element(By.ID, option_id).text if option_id else ""


def pick_with_keyboard(browser: Chrome, field: WebElement, typed: str, name: str) -> None:
    """Type a few letters, arrow down to the suggestion named `name`, take it with Enter."""
    field.send_keys(typed)
    listbox = browser.find_element(By.ID, field.get_attribute("aria-controls"))
    wait(browser).until(lambda _driver: name in listbox.text)
    assert field.get_attribute("aria-expanded") == "true"
    for _ in range(len(listbox.find_elements(By.CSS_SELECTOR, "[role=option]"))):
        field.send_keys(Keys.ARROW_DOWN)
        if name in active_option(browser, field):
            break
    assert name in active_option(browser, field)
    field.send_keys(Keys.ENTER)
    assert field.get_attribute("aria-expanded") == "false"
    assert field.get_attribute("value") == ""


def chip_names(browser: Chrome, field_name: str) -> list[str]:
    return [chip.text for chip in browser.find_elements(By.CSS_SELECTOR, f"#{field_name}-chips .chip-name")]


def test_a_colleague_picked_with_the_keyboard_receives_the_page(stack: Any, browser: Chrome) -> None:
    sender, recipient, extra = person(stack, "regular"), person(stack, "german"), person(stack, "site-admin")
    page = open_page(stack)
    browse_as(browser, stack, sender, page)
    open_send_dialog(browser)

    assert browser.find_element(By.ID, "dialog-title").text == "Send as mail"
    assert browser.find_element(By.ID, "page-title").text == page["title"]
    send = browser.find_element(By.ID, "send-button")
    assert not send.is_enabled(), "Send must wait for a recipient"

    to_field = browser.find_element(By.ID, "to-input")
    pick_with_keyboard(browser, to_field, recipient["displayName"][:4], recipient["displayName"])
    assert chip_names(browser, "to") == [recipient["displayName"]]
    # A second pick, then Backspace in the empty field takes it off again.
    pick_with_keyboard(browser, to_field, extra["displayName"][:3], extra["displayName"])
    assert chip_names(browser, "to") == [recipient["displayName"], extra["displayName"]]
    to_field.send_keys(Keys.BACKSPACE)
    assert chip_names(browser, "to") == [recipient["displayName"]]
    assert send.is_enabled()

    subject = browser.find_element(By.ID, "subject").get_attribute("value")
    assert subject.endswith(page["title"]) and subject != page["title"], "prefilled as '<prefix> <title>'"
    browser.save_screenshot(str(SCREENSHOT))

    send.click()
    success = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, SUCCESS)))
    assert "Sent to 1 recipient: To 1." in success.text
    assert browser.find_element(By.ID, "close-button").is_displayed()
    assert not browser.find_element(By.ID, "send-button").is_displayed()

    mails = stack.catcher.wait_for(1, timeout=WAIT_S)
    assert len(mails) == 1
    message = mails[0].message()
    assert message["Subject"] == subject
    assert recipient["email"] in str(message["To"])
    assert mails[0].rcpt_tos == [recipient["email"]]

    # All went as asked: the dialog closes by itself (test_dialog_guardrails.py checks the host's flag).
    browser.switch_to.default_content()
    wait(browser).until(lambda driver: not driver.execute_script("return window.SandboxHost.dialogOpen()"))


def test_a_german_user_sees_the_dialog_in_german(stack: Any, browser: Chrome) -> None:
    german = person(stack, "german")
    browse_as(browser, stack, german, open_page(stack))
    open_send_dialog(browser)

    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "dialog-title"), "Als E-Mail senden"))
    assert browser.find_element(By.ID, "to-label").text == "An"
    assert browser.find_element(By.CSS_SELECTOR, "label[for=subject]").text == "Betreff"
    assert browser.find_element(By.ID, "send-button").text == "Senden"
    assert browser.find_element(By.ID, "cancel-button").text == "Abbrechen"
    assert browser.find_element(By.ID, "add-cc").text == "Cc hinzufügen"
    assert browser.execute_script("return document.documentElement.lang") == "de"

    browser.find_element(By.ID, "cancel-button").click()
    browser.switch_to.default_content()
    wait(browser).until(lambda driver: not driver.execute_script("return window.SandboxHost.dialogOpen()"))


def test_a_page_the_user_cannot_read_shows_the_error_and_no_form(stack: Any, browser: Chrome) -> None:
    outsider = person(stack, "no-restricted-access")
    hidden = restricted_page(stack, outsider)
    browse_as(browser, stack, outsider, open_page(stack))
    # As if the page had been restricted after it was opened: the menu still carries its id.
    browser.execute_script(
        "document.querySelector(\"[data-ap-webitem='send-as-mail']\").dataset.contentId = arguments[0];",
        hidden["id"],
    )
    open_send_dialog(browser)

    error = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, ERROR)))
    assert "The send dialog couldn't be opened" in error.text
    assert error.find_element(By.CSS_SELECTOR, ".section-message-body").text.strip()
    assert hidden["title"] not in browser.find_element(By.TAG_NAME, "body").text
    assert not browser.find_element(By.ID, "view-form").is_displayed()
    assert not browser.find_element(By.ID, "send-button").is_displayed()
    assert browser.find_element(By.ID, "close-button").is_displayed()
    assert stack.catcher.messages() == []


def test_an_address_written_wrong_is_not_taken_and_says_why(stack: Any, browser: Chrome) -> None:
    sender, page = person(stack, "regular"), open_page(stack)
    browse_as(browser, stack, sender, page)
    open_send_dialog(browser)
    # The dialog checks addresses as the server does (email-validator): this one never becomes a chip.
    bad = "two..dots@example.com"
    to_field = browser.find_element(By.ID, "to-input")
    to_field.send_keys(bad)
    why = f"{bad} isn't a valid email address: a period can't come first, last or twice in a row."
    assert browser.find_element(By.CSS_SELECTOR, "#to-popup .picker-status").text == why
    to_field.send_keys(Keys.ENTER)
    assert chip_names(browser, "to") == []
    assert to_field.get_attribute("value") == bad, "kept for a correction"
    assert browser.find_element(By.ID, "to-error").text == why
    assert "has-error" in browser.find_element(By.ID, "to-field").get_attribute("class")
    assert to_field.get_attribute("aria-invalid") == "true"
    assert not browser.find_element(By.ID, "send-button").is_enabled()

    # Corrected, it is taken; the mark goes with the mistake.
    to_field.send_keys(Keys.HOME, Keys.DELETE * len("two..dots"), "one.dot", Keys.ENTER)
    assert chip_names(browser, "to") == ["one.dot@example.com"]
    assert not browser.find_element(By.ID, "to-error").is_displayed()
    assert "has-error" not in browser.find_element(By.ID, "to-field").get_attribute("class")
    assert browser.find_element(By.ID, "send-button").is_enabled()
    assert stack.catcher.messages() == []


def test_the_preview_shows_the_mail_in_a_frame_without_scripts(stack: Any, browser: Chrome) -> None:
    sender, recipient = person(stack, "regular"), person(stack, "german")
    page = open_page(stack)
    browse_as(browser, stack, sender, page)
    open_send_dialog(browser)
    to_field = browser.find_element(By.ID, "to-input")
    pick_with_keyboard(browser, to_field, recipient["displayName"][:4], recipient["displayName"])

    browser.find_element(By.ID, "preview-button").click()
    frame = wait(browser).until(ec.visibility_of_element_located((By.ID, "preview-frame")))
    assert frame.get_attribute("sandbox") == "", "no scripts, no same-origin access for the mail's HTML"
    assert page["title"] in browser.find_element(By.ID, "preview-subject").text
    browser.switch_to.frame(frame)
    wait(browser).until(lambda driver: page["title"] in driver.find_element(By.TAG_NAME, "body").text)
    browser.switch_to.parent_frame()

    browser.find_element(By.ID, "preview-toggle").click()
    text = browser.find_element(By.ID, "preview-text")
    assert text.is_displayed() and page["title"] in text.text

    browser.find_element(By.ID, "back-button").click()
    assert browser.find_element(By.ID, "view-form").is_displayed()
    assert chip_names(browser, "to") == [recipient["displayName"]], "going back keeps what was filled in"
    assert stack.catcher.messages() == [], "a preview sends nothing"


def test_attachments_over_the_limit_turn_red_and_block_sending(stack: Any, browser: Chrome) -> None:
    admin, sender, recipient = person(stack, "site-admin"), person(stack, "regular"), person(stack, "german")
    page = next(p for p in stack.pages() if not p["restricted"] and len(p["attachments"]) >= 2)
    setup = stack.api("GET", f"/api/pages/{page['id']}/attachments", sender["accountId"]).json()
    listed = setup["attachments"]
    sizes = sorted(item["size"] for item in listed)
    settings = stack.api("GET", "/api/admin/settings", admin["accountId"]).json()
    before = settings["permissions"]["maxAttachmentBytes"]
    # One byte less than all the files together: "All" is too much, the smallest file alone fits.
    limit = {"permissions": {"maxAttachmentBytes": sum(sizes) - 1}}
    assert stack.api("PUT", "/api/admin/settings", admin["accountId"], json=limit).status_code == 200
    try:
        browse_as(browser, stack, sender, page)
        open_send_dialog(browser)
        to_field = browser.find_element(By.ID, "to-input")
        pick_with_keyboard(browser, to_field, recipient["displayName"][:4], recipient["displayName"])
        send = browser.find_element(By.ID, "send-button")
        total = browser.find_element(By.ID, "attachment-total")

        browser.find_element(By.CSS_SELECTOR, "input[name=attachment-mode][value=all]").click()
        assert "is-over" in total.get_attribute("class")
        assert not send.is_enabled()
        assert browser.find_element(By.ID, "footer-note").text == "The attachments are too large."

        browser.find_element(By.CSS_SELECTOR, "input[name=attachment-mode][value=pick]").click()
        boxes = browser.find_elements(By.CSS_SELECTOR, "#attachment-list input[type=checkbox]")
        assert len(boxes) == len(listed)
        smallest = next(i for i, item in enumerate(listed) if item["size"] == sizes[0])
        boxes[smallest].click()
        assert "is-over" not in total.get_attribute("class")
        assert send.is_enabled()
    finally:
        restore = {"permissions": {"maxAttachmentBytes": before}}
        assert stack.api("PUT", "/api/admin/settings", admin["accountId"], json=restore).status_code == 200


def test_a_space_where_pagemail_is_off_explains_why_instead_of_a_form(stack: Any, browser: Chrome) -> None:
    sender = person(stack, "regular")
    admins = [user for user in stack.users() if user["spaceAdminOf"] and "site-admin" not in user["roles"]]
    space_admin = admins[0]
    space_key = space_admin["spaceAdminOf"][0]
    page = next(p for p in stack.pages() if p["spaceKey"] == space_key and not p["restricted"])
    path = f"/api/spaces/{space_key}/settings"
    answer = stack.api("PUT", path, space_admin["accountId"], json={"enabled": False})
    assert answer.status_code == 200, answer.text
    try:
        browse_as(browser, stack, sender, page)
        open_send_dialog(browser)

        warning = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, WARNING)))
        assert "You can't send this page as mail" in warning.text
        assert warning.find_element(By.CSS_SELECTOR, ".section-message-body").text.strip()
        assert browser.find_element(By.ID, "page-title").text == page["title"]
        assert not browser.find_element(By.ID, "view-form").is_displayed()
        assert not browser.find_element(By.ID, "send-button").is_displayed()
        assert browser.find_element(By.ID, "close-button").is_displayed()
    finally:
        answer = stack.api("PUT", path, space_admin["accountId"], json={"enabled": True})
        assert answer.status_code == 200, answer.text
