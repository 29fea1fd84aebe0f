"""Microsoft 365 and Google Workspace as the mail server, in headless Chromium against the live stack: the admin
chooses the provider, fills in the sandbox's demo credentials, saves, tests the connection, sends a test mail that
arrives from the mailbox, and sees a provider's failure with its own error code and the fix. The secret is never
shown back, neither on the page nor by the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.admin_support import (
    admin_settings,
    open_admin_page,
    person,
    retype,
    save_section,
    section_status,
    switch_user,
    wait,
)

SCREENSHOT = Path("/tmp/pagemail-admin-mail-providers.png")
WRONG_SECRET = "Sbx8Q~not-the-secret-of-this-app"


@pytest.fixture
def _screenshot_on_failure(request: pytest.FixtureRequest, browser: Chrome) -> Iterator[None]:
    """A failing test leaves a screenshot, for whoever reads the CI log."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        browser.save_screenshot(str(SCREENSHOT.with_name(f"pagemail-failed-{request.node.name}.png")))


@pytest.fixture
def demo(admin_stack: Any, _screenshot_on_failure: None) -> Iterator[dict[str, Any]]:
    """The sandbox's demo tenant, app and service account (what `make run` shows a developer); no trouble set."""
    with admin_stack.mail_providers() as answer:
        yield answer


def click(browser: Chrome, selector: str) -> None:
    element = browser.find_element(By.CSS_SELECTOR, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def shown(browser: Chrome, element_id: str) -> bool:
    return bool(browser.find_element(By.ID, element_id).is_displayed())


def check_result(browser: Chrome, button: str = "smtp-test") -> WebElement:
    """Click *Test connection* (or *Send me a test mail*) and wait for its answer."""
    result = browser.find_element(By.ID, "smtp-result")
    click(browser, f"#{button}")
    wait(browser).until(lambda _driver: browser.find_element(By.ID, button).get_attribute("aria-busy") == "false")
    return wait(browser).until(ec.visibility_of(result))


def result_details(result: WebElement) -> dict[str, str]:
    """The result's lines under its sentence: label → value (the provider's error code, how to fix it)."""
    rows = result.find_elements(By.CSS_SELECTOR, ".test-result-detail")
    return {row.find_element(By.TAG_NAME, "dt").text: row.find_element(By.TAG_NAME, "dd").text for row in rows}


def choose_mode(browser: Chrome, mode: str) -> None:
    click(browser, f"input[name=smtp-mode][value={mode}]")


def assert_secret_not_on_page(browser: Chrome, *secrets: str) -> None:
    source = browser.page_source
    values = browser.execute_script(
        "return Array.from(document.querySelectorAll('input, textarea')).map(function (f) { return f.value; })"
    )
    for secret in secrets:
        assert secret not in source
        assert all(secret not in str(value) for value in values)


def test_microsoft_365_set_up_tested_and_a_test_mail_from_the_mailbox(
    admin_stack: Any, browser: Chrome, demo: dict[str, Any]
) -> None:
    stack = admin_stack
    m365 = demo["microsoft365"]
    admin = person(stack, "site-admin")
    switch_user(browser, stack, admin)
    open_admin_page(browser, stack)

    # Only the chosen type's fields; nothing saved yet, so the setup steps are open.
    choose_mode(browser, "microsoft365")
    assert shown(browser, "m365-fields")
    assert not shown(browser, "smtp-fields") and not shown(browser, "google-fields")
    guide = browser.find_element(By.ID, "m365-guide")
    assert guide.get_attribute("open") is not None
    assert "SMTP.SendAsApp" in guide.text
    assert "Mail through Microsoft 365 or Google Workspace" in guide.text

    retype(browser, "m365-tenant-id", m365["tenantId"])
    retype(browser, "m365-client-id", m365["clientId"])
    retype(browser, "m365-mailbox", m365["mailbox"])
    # The setup commands name the app and the mailbox just typed.
    commands = guide.find_element(By.CSS_SELECTOR, ".setup-commands").text
    assert f"New-ServicePrincipal -AppId {m365['clientId']}" in commands
    assert f"Add-MailboxPermission -Identity {m365['mailbox']}" in commands

    # A required field left empty: the server's field error lands on that field, nothing is saved.
    retype(browser, "m365-tenant-id", "")
    retype(browser, "m365-client-secret", m365["clientSecret"])
    save_section(browser, "smtp")
    assert shown(browser, "m365-tenant-id-error")
    assert browser.find_element(By.ID, "m365-tenant-id").get_attribute("aria-invalid") == "true"
    assert "Nothing was saved" in browser.find_element(By.ID, "smtp-message").text
    assert admin_settings(stack, admin)["smtp"]["mode"] == "default"
    retype(browser, "m365-tenant-id", m365["tenantId"])
    assert not shown(browser, "m365-tenant-id-error")

    save_section(browser, "smtp")
    assert section_status(browser, "smtp") == "Saved"
    answer = stack.api("GET", "/api/admin/settings", admin["accountId"])
    assert m365["clientSecret"] not in answer.text, "the client secret is write-only"
    assert answer.json()["smtp"]["mode"] == "microsoft365"
    assert answer.json()["smtp"]["microsoft365"] == {
        "tenantId": m365["tenantId"],
        "clientId": m365["clientId"],
        "mailbox": m365["mailbox"],
        "clientSecretSet": True,
        "certificateSet": False,
    }
    secret_field = browser.find_element(By.ID, "m365-client-secret")
    assert secret_field.get_attribute("value") == ""
    assert secret_field.get_attribute("placeholder") == "Saved — enter a new secret to replace it"

    # The saved settings work: a token, STARTTLS and AUTH XOAUTH2 as the mailbox.
    result = check_result(browser)
    assert result.text.startswith("The connection works"), result.text
    assert "is-ok" in result.get_attribute("class")

    stack.catcher.clear()
    result = check_result(browser, "smtp-test-mail")
    assert result.text.startswith("A test mail is on its way"), result.text
    mail = stack.catcher.wait_for(1, timeout=60)[-1]
    assert mail.mail_from == m365["mailbox"]
    assert m365["mailbox"] in mail.message()["From"]
    assert mail.used_tls and mail.authenticated_as == m365["mailbox"]

    # Reopened: the secret is nowhere on the page, only that one is saved.
    open_admin_page(browser, stack)
    assert browser.find_element(By.CSS_SELECTOR, "input[name=smtp-mode][value=microsoft365]").is_selected()
    assert browser.find_element(By.ID, "m365-guide").get_attribute("open") is None
    assert_secret_not_on_page(browser, m365["clientSecret"])
    assert (
        browser.find_element(By.ID, "m365-client-secret").get_attribute("placeholder")
        == "Saved — enter a new secret to replace it"
    )

    # A wrong secret (unsaved, typed for the test): Microsoft's code and the fix are shown.
    retype(browser, "m365-client-secret", WRONG_SECRET)
    result = check_result(browser)
    assert "is-failed" in result.get_attribute("class")
    assert result.text.startswith("Failed while getting a sign-in token"), result.text
    details = result_details(result)
    assert details.get("Microsoft's error code") == "AADSTS7000215", details
    assert details.get("How to fix it"), details
    assert admin_settings(stack, admin)["smtp"]["microsoft365"]["clientSecretSet"] is True

    # Another app without its secret: the saved one is not sent for it; the page says so before and after asking.
    retype(browser, "m365-client-secret", "")
    retype(browser, "m365-client-id", "11111111-2222-4333-8444-555555555555")
    assert shown(browser, "m365-client-secret-again")
    check_result(browser)
    error = wait(browser).until(ec.visibility_of_element_located((By.ID, "m365-client-secret-error")))
    assert error.text.startswith("Enter the client secret again")
    assert browser.switch_to.active_element.get_attribute("id") == "m365-client-secret"
    assert browser.find_element(By.ID, "smtp-result").text.startswith("Not tested.")


def test_microsoft_365_mailbox_without_smtp_auth_is_told_with_the_fix(
    admin_stack: Any, browser: Chrome, demo: dict[str, Any]
) -> None:
    stack = admin_stack
    m365 = demo["microsoft365"]
    admin = person(stack, "site-admin")
    stack.control("POST", "mail-providers/trouble", json={"trouble": "smtp_auth_disabled"})
    switch_user(browser, stack, admin)
    open_admin_page(browser, stack)
    choose_mode(browser, "microsoft365")
    retype(browser, "m365-tenant-id", m365["tenantId"])
    retype(browser, "m365-client-id", m365["clientId"])
    retype(browser, "m365-mailbox", m365["mailbox"])
    retype(browser, "m365-client-secret", m365["clientSecret"])

    result = check_result(browser)
    assert result.text.startswith("Failed while signing in"), result.text
    details = result_details(result)
    assert details.get("Microsoft's error code", "").startswith("535 5.7.139"), details
    assert "SMTP" in details.get("How to fix it", ""), details
    assert stack.catcher.messages() == []


def test_microsoft_365_with_a_certificate_from_its_pem_file(
    admin_stack: Any, browser: Chrome, demo: dict[str, Any], tmp_path: Path
) -> None:
    stack = admin_stack
    m365 = demo["microsoft365"]
    pem = m365["certificate"]
    pem_file = tmp_path / "pagemail-demo.pem"
    pem_file.write_text(pem, encoding="utf-8")
    admin = person(stack, "site-admin")
    switch_user(browser, stack, admin)
    open_admin_page(browser, stack)
    choose_mode(browser, "microsoft365")
    assert shown(browser, "m365-secret-field") and not shown(browser, "m365-certificate-field")
    retype(browser, "m365-tenant-id", m365["tenantDomain"])
    retype(browser, "m365-client-id", m365["clientId"])
    retype(browser, "m365-mailbox", m365["mailbox"])

    # A certificate instead of a secret: only its field is shown; half a PEM is pointed out at once.
    click(browser, "input[name=m365-credential][value=certificate]")
    assert shown(browser, "m365-certificate-field") and not shown(browser, "m365-secret-field")
    browser.find_element(By.ID, "m365-certificate").send_keys("-----BEGIN CERTIFICATE-----")
    assert "private key" in browser.find_element(By.ID, "m365-certificate-summary").text
    retype(browser, "m365-certificate", "")
    browser.find_element(By.ID, "m365-certificate-file").send_keys(str(pem_file))
    field = browser.find_element(By.ID, "m365-certificate")
    wait(browser).until(lambda _driver: field.get_attribute("value") == pem.strip())
    assert not shown(browser, "m365-certificate-summary")

    result = check_result(browser)
    assert result.text.startswith("The connection works"), result.text
    save_section(browser, "smtp")
    assert section_status(browser, "smtp") == "Saved"
    answer = stack.api("GET", "/api/admin/settings", admin["accountId"])
    key_line = next(line for line in pem.splitlines() if line and not line.startswith("-----"))
    assert key_line not in answer.text, "the certificate's private key is write-only"
    assert answer.json()["smtp"]["microsoft365"]["certificateSet"] is True
    assert answer.json()["smtp"]["microsoft365"]["clientSecretSet"] is False

    stack.catcher.clear()
    result = check_result(browser, "smtp-test-mail")
    assert result.text.startswith("A test mail is on its way"), result.text
    assert stack.catcher.wait_for(1, timeout=60)[-1].mail_from == m365["mailbox"]

    # Reopened: the certificate is the chosen credential, saved, and nowhere on the page.
    open_admin_page(browser, stack)
    assert browser.find_element(By.CSS_SELECTOR, "input[name=m365-credential][value=certificate]").is_selected()
    assert shown(browser, "m365-certificate-field")
    assert browser.find_element(By.ID, "m365-certificate").get_attribute("placeholder").startswith("Saved")
    assert_secret_not_on_page(browser, key_line)


def test_google_workspace_set_up_from_the_key_file_tested_and_a_test_mail_from_the_mailbox(
    admin_stack: Any, browser: Chrome, demo: dict[str, Any], tmp_path: Path
) -> None:
    stack = admin_stack
    google = demo["google"]
    key_text = google["serviceAccountKey"]
    key = json.loads(key_text)
    key_file = tmp_path / "pagemail-demo-key.json"
    key_file.write_text(key_text, encoding="utf-8")
    admin = person(stack, "site-admin")
    switch_user(browser, stack, admin)
    open_admin_page(browser, stack)

    choose_mode(browser, "google")
    assert shown(browser, "google-fields")
    assert not shown(browser, "smtp-fields") and not shown(browser, "m365-fields")
    guide = browser.find_element(By.ID, "google-guide")
    assert guide.get_attribute("open") is not None
    assert "https://mail.google.com/" in guide.text

    retype(browser, "google-mailbox", google["mailbox"])
    # The .json file, read in the browser: the key field gets its content, the page names the service account and
    # the Client ID that domain-wide delegation asks for.
    browser.find_element(By.ID, "google-key-file").send_keys(str(key_file))
    field = browser.find_element(By.ID, "google-key")
    wait(browser).until(lambda _driver: field.get_attribute("value") == key_text.strip())
    summary = browser.find_element(By.ID, "google-key-summary").text
    assert key["client_email"] in summary and key["client_id"] in summary
    assert "pagemail-demo-key.json" in browser.find_element(By.ID, "google-key-file-name").text

    save_section(browser, "smtp")
    assert section_status(browser, "smtp") == "Saved"
    answer = stack.api("GET", "/api/admin/settings", admin["accountId"])
    assert key["private_key"] not in answer.text and key["private_key_id"] not in answer.text
    saved = answer.json()["smtp"]
    assert saved["mode"] == "google"
    assert saved["google"] == {
        "mailbox": google["mailbox"],
        "serviceAccountKeySet": True,
        "serviceAccountEmail": key["client_email"],
    }
    assert field.get_attribute("value") == ""
    assert browser.find_element(By.ID, "google-key-summary").text == f"A key of {key['client_email']} is saved."

    result = check_result(browser)
    assert result.text.startswith("The connection works"), result.text

    stack.catcher.clear()
    result = check_result(browser, "smtp-test-mail")
    assert result.text.startswith("A test mail is on its way"), result.text
    mail = stack.catcher.wait_for(1, timeout=60)[-1]
    assert mail.mail_from == google["mailbox"]
    assert google["mailbox"] in mail.message()["From"]
    assert mail.used_tls and mail.authenticated_as == google["mailbox"]

    open_admin_page(browser, stack)
    assert browser.find_element(By.CSS_SELECTOR, "input[name=smtp-mode][value=google]").is_selected()
    assert_secret_not_on_page(browser, key["private_key"].splitlines()[1], key["private_key_id"])

    # Another mailbox without a new key: the saved key is not used for it; the page says so before and after asking.
    assert not shown(browser, "google-key-again")
    retype(browser, "google-mailbox", "someone.else@pagemail-demo.example")
    assert shown(browser, "google-key-again")
    check_result(browser)
    error = wait(browser).until(ec.visibility_of_element_located((By.ID, "google-key-error")))
    assert error.text.startswith("Enter the service account key again")
    assert browser.find_element(By.ID, "smtp-result").text.startswith("Not tested.")
    assert admin_settings(stack, admin)["smtp"]["google"]["mailbox"] == google["mailbox"]


def test_google_workspace_without_domain_wide_delegation_is_told_with_the_fix(
    admin_stack: Any, browser: Chrome, demo: dict[str, Any]
) -> None:
    stack = admin_stack
    google = demo["google"]
    admin = person(stack, "site-admin")
    stack.control("POST", "mail-providers/trouble", json={"trouble": "delegation_missing"})
    switch_user(browser, stack, admin)
    open_admin_page(browser, stack)
    choose_mode(browser, "google")
    retype(browser, "google-mailbox", google["mailbox"])
    # Pasted rather than read from a file; the page reads it only to name the Client ID for the delegation.
    browser.execute_script(
        "const f = document.getElementById('google-key'); f.value = arguments[0];"
        "f.dispatchEvent(new Event('input', {bubbles: true}));",
        google["serviceAccountKey"],
    )
    client_id = json.loads(google["serviceAccountKey"])["client_id"]
    assert client_id in browser.find_element(By.ID, "google-key-summary").text

    result = check_result(browser)
    assert "is-failed" in result.get_attribute("class")
    assert result.text.startswith("Failed while getting a sign-in token"), result.text
    details = result_details(result)
    assert details.get("Google's error code") == "unauthorized_client", details
    assert "https://mail.google.com/" in details.get("How to fix it", ""), details
    assert stack.catcher.messages() == []

    # Not a key at all: said at once, before any save or test.
    browser.execute_script(
        "const f = document.getElementById('google-key'); f.value = '{\"type\": \"authorized_user\"}';"
        "f.dispatchEvent(new Event('input', {bubbles: true}));"
    )
    assert "doesn't look like a service account key" in browser.find_element(By.ID, "google-key-summary").text
    save_section(browser, "smtp")
    assert shown(browser, "google-key-error")
    assert admin_settings(stack, admin)["smtp"]["mode"] == "default"


def test_every_provider_string_of_the_page_is_in_english_and_german() -> None:
    """The provider parts of the admin page (markup and script) name only strings that exist in both languages."""
    root = Path(__file__).resolve().parents[2]
    strings = json.loads((root / "static" / "i18n" / "admin.json").read_text(encoding="utf-8"))
    keys = r"((?:m365|google|guide|credential)\.[\w.]+)"
    used = set(re.findall(f'data-i18n="{keys}"', (root / "templates" / "admin.html").read_text()))
    used |= set(re.findall(f'"{keys}"', (root / "static" / "admin.js").read_text()))
    assert len(used) > 30
    for key in sorted(used):
        assert strings["en"].get(key) and strings["de"].get(key), key
        if not key.startswith("guide.name"):
            assert strings["en"][key] != strings["de"][key], key


def test_a_saved_provider_credential_is_removed_from_another_mode(
    admin_stack: Any, browser: Chrome, demo: dict[str, Any]
) -> None:
    stack = admin_stack
    admin = person(stack, "site-admin")
    google = demo["google"]
    answer = stack.api(
        "PUT",
        "/api/admin/settings",
        admin["accountId"],
        json={
            "smtp": {
                "mode": "google",
                "google": {"mailbox": google["mailbox"], "serviceAccountKey": google["serviceAccountKey"]},
            }
        },
    )
    assert answer.status_code == 200, answer.text
    switch_user(browser, stack, admin)
    open_admin_page(browser, stack)
    # While Google sends the mail, its key can't go: no removal offered.
    assert not shown(browser, "clear-google-choice") and not shown(browser, "provider-clear")

    choose_mode(browser, "default")
    assert shown(browser, "clear-google-choice") and not shown(browser, "clear-m365-choice")
    click(browser, "#clear-google-key")
    save_section(browser, "smtp")
    assert section_status(browser, "smtp") == "Saved"
    saved = admin_settings(stack, admin)["smtp"]
    assert saved["mode"] == "default"
    assert saved["google"]["serviceAccountKeySet"] is False and saved["google"]["mailbox"] == google["mailbox"]
    assert not shown(browser, "provider-clear")  # nothing saved is left to remove
