"""The mail-server section in headless Chromium: *Test connection* tells how the connection really went (and its
result goes once a field changes), and the saved password is asked for again before it could go to another
server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from sandbox.mailcatcher import MailCatcher, make_self_signed_cert
from tests.browser.admin_support import (
    admin_settings,
    open_admin_page,
    person,
    restore_admin_settings,
    retype,
    save_section,
    switch_user,
    wait,
)


@pytest.fixture
def secure_server(stack: Any, tmp_path: Path) -> Iterator[tuple[MailCatcher, str]]:
    """A mail server with STARTTLS (a certificate the app trusts) and AUTH, and its password."""
    cert, key = make_self_signed_cert(tmp_path)
    password = f"pw-{uuid.uuid4().hex}"
    stack.app.config["SMTP_CA_FILE"] = str(cert)
    try:
        with MailCatcher(tls_cert=(str(cert), str(key)), require_auth=("mailer", password)) as server:
            yield server, password
    finally:
        stack.app.config.pop("SMTP_CA_FILE", None)


def click(browser: Chrome, selector: str) -> None:
    element = browser.find_element(By.CSS_SELECTOR, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def connection_result(browser: Chrome, button: str = "smtp-test") -> Any:
    click(browser, f"#{button}")
    return wait(browser).until(ec.visibility_of_element_located((By.ID, "smtp-result")))


def result_hidden(browser: Chrome) -> bool:
    return not browser.find_element(By.ID, "smtp-result").is_displayed()


def test_a_connection_is_reported_as_it_was_and_the_result_goes_when_a_field_changes(
    stack: Any, browser: Chrome, secure_server: tuple[MailCatcher, str]
) -> None:
    server, password = secure_server
    admin = person(stack, "site-admin")
    before = admin_settings(stack, admin)
    try:
        switch_user(browser, stack, admin)
        open_admin_page(browser, stack)

        # pagemail's own server in this stack: plain text, no sign-in. A warning, not "the connection works".
        result = connection_result(browser)
        assert result.text.startswith("Connected without encryption and without signing in.")
        assert "is-warning" in result.get_attribute("class")
        mail = connection_result(browser, "smtp-test-mail")
        assert "sent without encryption and without signing in" in mail.text
        assert "is-warning" in mail.get_attribute("class")

        # Any mail-server edit makes the result stale: it goes at once.
        click(browser, "input[name=smtp-mode][value=custom]")
        assert result_hidden(browser)

        retype(browser, "smtp-host", "localhost")
        retype(browser, "smtp-port", str(server.port))
        retype(browser, "smtp-username", "mailer")
        retype(browser, "smtp-password", password)
        result = connection_result(browser)
        assert result.text.startswith("The connection works")
        assert "is-ok" in result.get_attribute("class")
        browser.find_element(By.ID, "smtp-port").send_keys("1")
        assert result_hidden(browser)

        # A failure goes the same way.
        retype(browser, "smtp-port", str(server.port))
        retype(browser, "smtp-password", "wrong")
        result = connection_result(browser)
        assert result.text.startswith("Failed while signing in")
        assert "is-failed" in result.get_attribute("class")
        browser.find_element(By.ID, "smtp-password").send_keys("er")
        assert result_hidden(browser)

        # Secure, but without signing in: told so, with the server's offer of a sign-in.
        retype(browser, "smtp-username", "")
        retype(browser, "smtp-password", "")
        result = connection_result(browser)
        assert result.text.startswith("Connected securely, but without signing in")
        assert "offers signing in" in result.text
        assert "is-warning" in result.get_attribute("class")
        click(browser, "#smtp-security")
        browser.find_element(By.CSS_SELECTOR, "#smtp-security option[value=tls]").click()
        assert result_hidden(browser)
        assert server.messages() == []
    finally:
        restore_admin_settings(stack, admin, before)


def test_the_saved_password_must_be_typed_again_for_another_server(
    stack: Any, browser: Chrome, secure_server: tuple[MailCatcher, str]
) -> None:
    server, password = secure_server
    admin = person(stack, "site-admin")
    before = admin_settings(stack, admin)
    saved_smtp = {"mode": "custom", "host": "localhost", "port": server.port, "security": "starttls"}
    try:
        answer = stack.api(
            "PUT",
            "/api/admin/settings",
            admin["accountId"],
            json={"smtp": {**saved_smtp, "username": "mailer", "password": password}},
        )
        assert answer.status_code == 200, answer.text
        switch_user(browser, stack, admin)
        open_admin_page(browser, stack)

        field = browser.find_element(By.ID, "smtp-password")
        hint = browser.find_element(By.ID, "smtp-password-again")
        assert field.get_attribute("placeholder") == "•••••• (saved)"
        assert not hint.is_displayed()
        # The saved server, unchanged: tested with the saved password.
        assert connection_result(browser).text.startswith("The connection works")

        # Another host: the page says at once that the saved password won't go there.
        retype(browser, "smtp-host", "127.0.0.1")
        assert hint.is_displayed()
        assert field.get_attribute("placeholder") == ""
        assert "smtp-password-again" in field.get_attribute("aria-describedby")

        click(browser, "#smtp-test")
        error = wait(browser).until(ec.visibility_of_element_located((By.ID, "smtp-password-error")))
        assert error.text.startswith("Enter the password again")
        assert browser.switch_to.active_element.get_attribute("id") == "smtp-password"
        assert browser.find_element(By.ID, "smtp-result").text.startswith("Not tested.")

        # Saving it so is refused too, nothing saved; typing the password fixes the cause, and the error goes.
        save_section(browser, "smtp")
        assert browser.find_element(By.ID, "smtp-password-error").text.startswith("Enter the password again")
        assert "Nothing was saved" in browser.find_element(By.ID, "smtp-message").text
        assert admin_settings(stack, admin)["smtp"]["host"] == "localhost"
        field.send_keys(password)
        assert not browser.find_element(By.ID, "smtp-password-error").is_displayed()
        assert not browser.find_element(By.ID, "smtp-message").is_displayed()
        assert not hint.is_displayed()

        # Back to the saved host: no password needed again.
        retype(browser, "smtp-password", "")
        retype(browser, "smtp-host", "localhost")
        assert not hint.is_displayed()
        assert field.get_attribute("placeholder") == "•••••• (saved)"
        assert server.messages() == []
    finally:
        restore_admin_settings(stack, admin, before)
