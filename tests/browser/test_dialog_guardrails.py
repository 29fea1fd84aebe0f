"""The send dialog's guard-rails and feedback in headless Chromium, against the real stack (the app, the sandbox
Confluence with its host page and AP bridge, the SMTP catcher): member counts on group chips, the confirmation of a
big send, recipients who can't open the page (warned about, or blocked), errors that go with their cause, pasted
address lists, Escape, the message limit, the result of a send and what the preview tells about the mail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.test_send_dialog import (
    ERROR,
    SCREENSHOT,
    SUCCESS,
    WAIT_S,
    WARNING,
    browse_as,
    open_send_dialog,
    person,
)

SIMPLE_PAGE = "2000000001"
RESTRICTED_PAGE = "1514897411"  # readable by the engineering group only: Emma (in design) can't open it
EXTERNAL = "guest@partner.example"


def wait(browser: Chrome, seconds: float = WAIT_S) -> WebDriverWait:
    # Chips are drawn anew when a summary arrives: an element found a moment ago may be gone, so look again.
    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))


def page(stack: Any, content_id: str) -> dict[str, Any]:
    return next(p for p in stack.pages() if p["id"] == content_id)


def largest_page(stack: Any) -> dict[str, Any]:
    """The fixture page whose mail HTML (about 203 KB) is over Gmail's 102 KB clip."""
    return next(p for p in stack.pages() if "largest" in p["tags"])


def open_dialog(browser: Chrome, stack: Any, user: dict[str, Any], on: dict[str, Any]) -> None:
    browse_as(browser, stack, user, on)
    open_send_dialog(browser)


def field_input(browser: Chrome, field_name: str) -> WebElement:
    if field_name != "to":
        reveal = browser.find_element(By.ID, f"add-{field_name}")
        if reveal.is_displayed():
            reveal.click()
    return browser.find_element(By.ID, f"{field_name}-input")


def paste(browser: Chrome, field_name: str, text: str) -> WebElement:
    """Paste `text` into a recipient field as the clipboard would (a paste event with text/plain)."""
    field = browser.find_element(By.ID, f"{field_name}-input")
    field.click()
    browser.execute_script(
        """
        const data = new DataTransfer();
        data.setData("text/plain", arguments[1]);
        arguments[0].dispatchEvent(
          new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        """,
        field,
        text,
    )
    return field


def pick_first(browser: Chrome, field_name: str, typed: str, expected: str) -> None:
    """Type and press Enter at once: Enter takes the first match, even when the search answers after it."""
    field = field_input(browser, field_name)
    field.send_keys(typed, Keys.ENTER)
    wait(browser).until(lambda _driver: expected in chip_names(browser, field_name))
    assert field.get_attribute("value") == ""


# Read in one step in the page: a summary's answer draws the chips anew at any moment.
CHIPS_SCRIPT = """
return Array.from(document.querySelectorAll("#" + arguments[0] + "-chips .chip")).map(function (chip) {
  const count = chip.querySelector(".chip-count");
  return {name: chip.querySelector(".chip-name").textContent, count: count ? count.textContent : "",
          invalid: chip.classList.contains("chip-invalid"), title: chip.title};
});
"""


def chips(browser: Chrome, field_name: str) -> list[dict[str, Any]]:
    return list(browser.execute_script(CHIPS_SCRIPT, field_name))


def chip_names(browser: Chrome, field_name: str) -> list[str]:
    return [c["name"] for c in chips(browser, field_name)]


def chip(browser: Chrome, field_name: str, name: str) -> dict[str, Any]:
    return next(c for c in chips(browser, field_name) if c["name"] == name)


def chip_count(browser: Chrome, field_name: str, name: str) -> str:
    return str(chip(browser, field_name, name)["count"])


def remove_chip(browser: Chrome, field_name: str, name: str) -> None:
    def click(_driver: Chrome) -> bool:
        buttons = browser.find_elements(By.CSS_SELECTOR, f"#{field_name}-chips .chip")
        target = next(b for b in buttons if b.find_element(By.CSS_SELECTOR, ".chip-name").text == name)
        target.find_element(By.CSS_SELECTOR, ".chip-remove").click()
        return True

    wait(browser).until(click)
    assert name not in chip_names(browser, field_name)


def wait_for_count(browser: Chrome, field_name: str, group: str, members: int) -> None:
    wait(browser).until(lambda _driver: chip_count(browser, field_name, group) == f"· {members}")


def text_of(browser: Chrome, element_id: str) -> str:
    node = browser.find_element(By.ID, element_id)
    return node.text if node.is_displayed() else ""


def shown(browser: Chrome, selector: str) -> bool:
    return any(node.is_displayed() for node in browser.find_elements(By.CSS_SELECTOR, selector))


def send_button(browser: Chrome) -> WebElement:
    return browser.find_element(By.ID, "send-button")


def dialog_text(browser: Chrome) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def wait_until_dialog_closed(browser: Chrome, seconds: float = WAIT_S) -> None:
    browser.switch_to.default_content()
    wait(browser, seconds).until(lambda driver: not driver.execute_script("return window.SandboxHost.dialogOpen()"))


def test_a_group_chip_counts_its_members_and_a_big_send_asks_first(stack: Any, browser: Chrome) -> None:
    sender = person(stack, "regular")
    open_dialog(browser, stack, sender, page(stack, SIMPLE_PAGE))

    pick_first(browser, "to", "marketing", "marketing")
    wait_for_count(browser, "to", "marketing", 61)
    assert text_of(browser, "recipient-summary") == "Goes to 61 recipients."

    # Above the admin's threshold (25) Send asks first; "Don't send yet" takes the question back.
    send_button(browser).click()
    question = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, WARNING)))
    assert "Send to 61 recipients?" in question.text
    assert "marketing · 61 members" in question.text
    assert send_button(browser).text == "Send to 61 recipients"
    browser.find_element(By.ID, "not-yet-button").click()
    assert not shown(browser, WARNING)
    assert send_button(browser).text == "Send"
    assert not browser.find_element(By.ID, "not-yet-button").is_displayed()
    assert stack.catcher.messages() == []

    # Asked again, and answered: the send goes with `confirmed`, which the server insists on above 25.
    send_button(browser).click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "send-button"), "Send to 61 recipients"))
    wait(browser).until(ec.element_to_be_clickable((By.ID, "send-button"))).click()
    success = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, SUCCESS)))
    assert "Sent to 61 recipients: To 61 (marketing)." in success.text

    mails = stack.catcher.wait_for(1, timeout=WAIT_S)
    assert len(mails) == 1
    assert len(mails[0].rcpt_tos) == 61
    assert str(mails[0].message()["To"]).startswith("marketing:")


def test_recipients_who_cannot_open_the_page_are_warned_about_in_german(stack: Any, browser: Chrome) -> None:
    german = person(stack, "german")  # in engineering: may open the restricted page
    open_dialog(browser, stack, german, page(stack, RESTRICTED_PAGE))

    pick_first(browser, "to", "design", "design")
    wait_for_count(browser, "to", "design", 2)
    notice = wait(browser).until(ec.visibility_of_element_located((By.ID, "access-notice")))
    assert "1 Empfänger kann diese Seite in Confluence nicht öffnen" in notice.text
    assert "inline-message-warning" in notice.get_attribute("class")
    assert text_of(browser, "recipient-summary") == "Geht an 2 Empfänger."
    assert send_button(browser).is_enabled(), "a warning only: the admin allows the send"


def test_where_the_admin_blocks_it_send_waits_until_they_are_removed(stack: Any, browser: Chrome) -> None:
    sender = person(stack, "regular")  # Ben, in engineering
    german = person(stack, "german")
    with stack.settings(recipients_without_access="block"):
        open_dialog(browser, stack, sender, page(stack, RESTRICTED_PAGE))
        pick_first(browser, "to", german["displayName"], german["displayName"])
        pick_first(browser, "to", "design", "design")

        notice = wait(browser).until(ec.visibility_of_element_located((By.ID, "access-notice")))
        assert "1 recipient can't open this page in Confluence" in notice.text
        assert "site admin" in notice.text
        assert "inline-message-error" in notice.get_attribute("class")
        assert not send_button(browser).is_enabled()
        assert text_of(browser, "footer-note") == "Some recipients can't open this page."

        remove_chip(browser, "to", "design")
        assert not browser.find_element(By.ID, "access-notice").is_displayed(), "gone with the picks it was about"
        wait(browser).until(ec.element_to_be_clickable((By.ID, "send-button")))
        assert text_of(browser, "recipient-summary") == "Goes to 1 recipient."
    assert stack.catcher.messages() == []


def test_an_address_the_server_refuses_turns_red_and_clears_when_removed(stack: Any, browser: Chrome) -> None:
    sender, german = person(stack, "regular"), person(stack, "german")
    with stack.settings(allowed_domains=["example.com"]):
        open_dialog(browser, stack, sender, page(stack, SIMPLE_PAGE))
        pick_first(browser, "to", german["displayName"], german["displayName"])
        # Well written, so the dialog takes it; the server's summary refuses it by the admin's domain rule.
        refused = "partner@elsewhere.org"
        pick_first(browser, "to", refused, refused)

        error = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, ERROR)))
        assert "Check the recipients" in error.text
        sentence = error.find_element(By.CSS_SELECTOR, ".section-message-body").text
        assert "elsewhere.org" in sentence and "example.com" in sentence, "the server's own sentence"
        bad = chip(browser, "to", refused)
        assert bad["invalid"] and sentence in bad["title"]
        assert not chip(browser, "to", german["displayName"])["invalid"]
        assert "has-error" in browser.find_element(By.ID, "to-field").get_attribute("class")
        assert not send_button(browser).is_enabled()
        assert text_of(browser, "footer-note") == "Correct or remove what is marked in red to send."

        remove_chip(browser, "to", refused)
        assert not shown(browser, ERROR), "the banner goes with the chip that caused it"
        assert "has-error" not in browser.find_element(By.ID, "to-field").get_attribute("class")
        wait(browser).until(ec.element_to_be_clickable((By.ID, "send-button")))
        assert chip_names(browser, "to") == [german["displayName"]]
    assert stack.catcher.messages() == []


def test_a_failed_send_says_why_and_goes_once_the_inputs_change(stack: Any, browser: Chrome) -> None:
    sender, german = person(stack, "regular"), person(stack, "german")
    open_dialog(browser, stack, sender, page(stack, SIMPLE_PAGE))
    pick_first(browser, "to", german["displayName"], german["displayName"])
    stack.catcher.fail_next(554, "Transaction failed: try later", stage="DATA")
    try:
        send_button(browser).click()
        error = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, ERROR)))
        assert "The page wasn't sent" in error.text
    finally:
        stack.catcher.clear_failures()
    # The result was about the mail as it was: any change makes it stale.
    browser.find_element(By.ID, "subject").send_keys(" (again)")
    assert not shown(browser, ERROR)
    assert send_button(browser).is_enabled()


def test_a_pasted_list_becomes_chips_and_what_is_wrong_stays_explained(stack: Any, browser: Chrome) -> None:
    sender = person(stack, "regular")
    open_dialog(browser, stack, sender, page(stack, SIMPLE_PAGE))
    assert "full email addresses" in text_of(browser, "picker-help")

    pasted = "a@x.com, b@y.org; Carol Zhu <c@z.com>\npartner@exam_ple.com\r\nd@w.net"
    field = paste(browser, "to", pasted)
    assert chip_names(browser, "to") == ["a@x.com", "b@y.org", "c@z.com", "d@w.net"]
    assert "Carol Zhu" in chip(browser, "to", "c@z.com")["title"]
    # The one the server would refuse (no "_" in domain names) is not taken: it stays, explained.
    assert field.get_attribute("value") == "partner@exam_ple.com"
    assert text_of(browser, "to-error") == (
        "partner@exam_ple.com isn't a valid email address: “_” can't be used after the @."
    )
    assert "has-error" in browser.find_element(By.ID, "to-field").get_attribute("class")
    assert not send_button(browser).is_enabled()

    field.send_keys(Keys.ESCAPE)  # clears the box, and with it the error
    assert field.get_attribute("value") == ""
    assert text_of(browser, "to-error") == ""
    wait(browser).until(ec.element_to_be_clickable((By.ID, "send-button")))
    assert browser.find_element(By.ID, "view-form").is_displayed(), "Escape in a box with text only clears it"


def test_the_picker_tells_people_apart_and_says_who_is_already_added(stack: Any, browser: Chrome) -> None:
    sender, german, hidden = person(stack, "regular"), person(stack, "german"), person(stack, "hidden-email")
    open_dialog(browser, stack, sender, page(stack, SIMPLE_PAGE))
    field = browser.find_element(By.ID, "to-input")

    # The address Confluence shows this user is under the name; a hidden one is never shown.
    field.send_keys(german["displayName"][:6])
    option = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#to-listbox .picker-option")))
    assert option.find_element(By.CSS_SELECTOR, ".option-detail").text == german["email"]
    field.send_keys(Keys.ENTER)
    assert chip_names(browser, "to") == [german["displayName"]]
    field.send_keys(hidden["displayName"][:6])
    option = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#to-listbox .picker-option")))
    assert option.find_element(By.CSS_SELECTOR, ".option-name").text == hidden["displayName"]
    assert not option.find_elements(By.CSS_SELECTOR, ".option-detail")
    field.send_keys(Keys.ESCAPE, Keys.ESCAPE)

    # Someone already picked: "already added", not "no match".
    field.send_keys(german["displayName"][:6])
    status = browser.find_element(By.CSS_SELECTOR, "#to-popup .picker-status")
    wait(browser).until(lambda _driver: status.text == f"{german['displayName']} is already added.")


def test_escape_closes_the_dialog_after_what_is_open_inside_it(stack: Any, browser: Chrome) -> None:
    open_dialog(browser, stack, person(stack, "regular"), page(stack, SIMPLE_PAGE))
    field = browser.find_element(By.ID, "to-input")
    field.send_keys("Di")
    wait(browser).until(lambda _driver: field.get_attribute("aria-expanded") == "true")

    field.send_keys(Keys.ESCAPE)  # the suggestions first
    assert field.get_attribute("aria-expanded") == "false" and field.get_attribute("value") == "Di"
    field.send_keys(Keys.ESCAPE)  # then the typed text
    assert field.get_attribute("value") == ""
    field.send_keys(Keys.ESCAPE)  # then the dialog, through the AP bridge as Cancel does
    wait_until_dialog_closed(browser)


def test_the_message_box_grows_and_warns_before_the_limit_without_cutting(stack: Any, browser: Chrome) -> None:
    open_dialog(browser, stack, person(stack, "regular"), page(stack, SIMPLE_PAGE))
    pick_first(browser, "to", "Dieter", "Dieter Krause")
    box = browser.find_element(By.ID, "personal-message")
    counter = browser.find_element(By.ID, "message-counter")
    empty_height = box.size["height"]
    assert box.get_attribute("maxlength") is None, "no silent cut"

    text = ("word " * 996)[:4980]
    browser.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));"
        "arguments[0].focus(); arguments[0].setSelectionRange(arguments[1].length, arguments[1].length);",
        box,
        text,
    )
    assert box.size["height"] > empty_height, "grows with its text"
    box.send_keys("abcdefgh")
    assert counter.text == "12 characters left"
    assert send_button(browser).is_enabled()

    box.send_keys(" sixteen letters")
    assert counter.text == "4 characters too many: shorten the message to send it"
    assert len(box.get_attribute("value")) == 5004, "flagged, never cut"
    assert "has-error" in browser.find_element(By.ID, "message-field").get_attribute("class")
    assert not send_button(browser).is_enabled()
    assert text_of(browser, "footer-note") == "The personal message is too long."

    box.send_keys(Keys.BACKSPACE * 4)
    assert counter.text == "0 characters left"
    assert send_button(browser).is_enabled()


def test_the_result_says_who_got_the_mail_and_the_dialog_closes_with_a_flag(stack: Any, browser: Chrome) -> None:
    sender = person(stack, "regular")  # Ben, himself in engineering
    outsider = person(stack, "no-restricted-access")  # Emma
    open_dialog(browser, stack, sender, page(stack, SIMPLE_PAGE))
    pick_first(browser, "to", "engineering", "engineering")
    pick_first(browser, "cc", EXTERNAL, EXTERNAL)
    pick_first(browser, "bcc", outsider["displayName"], outsider["displayName"])
    browser.find_element(By.ID, "copy-to-self").click()
    wait_for_count(browser, "to", "engineering", 4)
    wait(browser).until(lambda driver: text_of(driver, "recipient-summary") == "Goes to 6 recipients.")

    send_button(browser).click()
    success = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, SUCCESS)))
    sentence = "Sent to 6 recipients: To 4 (engineering), Cc 1, Bcc 1; a copy to you."
    assert sentence in success.text
    assert "How 3 picks became 6 recipients:" in success.text
    assert "engineering · 4 members" in success.text

    mails = stack.catcher.wait_for(1, timeout=WAIT_S)
    assert len(mails) == 1
    assert len(mails[0].rcpt_tos) == 6
    assert outsider["email"] in mails[0].rcpt_tos and EXTERNAL in mails[0].rcpt_tos
    headers = mails[0].message()
    assert str(headers["To"]).startswith("engineering:") and str(headers["Cc"]) == EXTERNAL
    assert outsider["email"] not in str(headers), "a Bcc pick stays hidden"

    # The dialog goes by itself; the host's flag keeps the news.
    wait_until_dialog_closed(browser, seconds=15)
    flag = wait(browser, 5).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#ap-flags .flag")))
    assert "Page sent as mail" in flag.text and sentence in flag.text


def test_the_preview_shows_recipients_attachments_size_and_gmails_clip(stack: Any, browser: Chrome) -> None:
    sender, hidden = person(stack, "regular"), person(stack, "hidden-email")
    open_dialog(browser, stack, sender, largest_page(stack))
    pick_first(browser, "to", "engineering", "engineering")
    pick_first(browser, "cc", hidden["displayName"], hidden["displayName"])
    pick_first(browser, "bcc", EXTERNAL, EXTERNAL)
    wait_for_count(browser, "to", "engineering", 4)
    browser.find_element(By.CSS_SELECTOR, "input[name=attachment-mode][value=pick]").click()
    first = browser.find_element(By.CSS_SELECTOR, "#attachment-list .attachment")
    first.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    title = first.find_element(By.CSS_SELECTOR, ".attachment-title").text
    size = first.find_element(By.CSS_SELECTOR, ".attachment-size").text

    browser.find_element(By.ID, "preview-button").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "preview-frame")))
    assert text_of(browser, "preview-to") == "engineering (4 members)"
    assert text_of(browser, "preview-cc") == hidden["displayName"], "a hidden address stays hidden: the name only"
    assert text_of(browser, "preview-bcc") == EXTERNAL
    assert text_of(browser, "preview-attachments") == f"{title} ({size})"
    assert re.fullmatch(r"About [0-9.,]+ (KB|MB), with [0-9]+ images", text_of(browser, "preview-size"))
    clip = browser.find_element(By.ID, "preview-clip")
    assert clip.is_displayed()
    # The largest page is ended by the renderer (at a block boundary, with a link to the rest) instead of clipped.
    assert "This page is too long for one mail: the mail shows its beginning." in clip.text
    assert "The page continues in Confluence." in clip.text
    assert hidden["email"] not in dialog_text(browser)
    assert stack.catcher.messages() == [], "a preview sends nothing"


@pytest.fixture(autouse=True)
def _dialog_screenshot_on_failure(request: pytest.FixtureRequest, browser: Chrome) -> Any:
    """A failing browser test leaves a screenshot, for whoever reads the CI log."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        browser.save_screenshot(str(SCREENSHOT.with_name(f"pagemail-failed-{request.node.name}.png")))


def test_a_partly_delivered_send_offers_to_retry_only_the_missed(stack: Any, browser: Chrome) -> None:
    sender = person(stack, "regular")
    addresses = [f"r{n}@external.example" for n in range(5)]
    with stack.settings(max_recipients=2):
        open_dialog(browser, stack, sender, page(stack, SIMPLE_PAGE))
        paste(browser, "to", ", ".join(addresses))
        assert chip_names(browser, "to") == addresses
        wait(browser).until(lambda driver: text_of(driver, "recipient-summary") == "Goes to 5 recipients.")
        stack.catcher.fail_next(554, "Message rejected as spam", stage="DATA", after=1)  # the second mail fails
        send_button(browser).click()
        success = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, SUCCESS)))
        assert "Sent to 3 recipients" in success.text
        assert "2 recipients didn't get it" in success.text
        assert sorted(a for m in stack.catcher.wait_for(2, timeout=WAIT_S) for a in m.rcpt_tos) == [
            addresses[0],
            addresses[1],
            addresses[4],
        ]
        stack.catcher.clear()
        browser.find_element(By.ID, "retry-rest").click()
        wait(browser).until(lambda driver: "Sent to 2 recipients" in driver.find_element(By.CSS_SELECTOR, SUCCESS).text)
        assert sorted(a for m in stack.catcher.wait_for(1, timeout=WAIT_S) for a in m.rcpt_tos) == addresses[2:4]
    stack.catcher.clear_failures()
