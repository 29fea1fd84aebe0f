"""The AP bridge in headless Chromium: the sandbox's host.js and all.js, with the stand-in app's dialog."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from sandbox.directory import GERMAN_ID
from tests.sandbox.conftest import APP_KEY, Site

CHROMIUM = Path(os.environ.get("PAGEMAIL_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("PAGEMAIL_CHROMEDRIVER", "/usr/bin/chromedriver"))
WAIT_S = 90  # generous: a slow 2-core CI machine


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("Chromium and chromedriver are not installed (CI installs them)")
    profile = tempfile.mkdtemp(prefix="sandbox-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_dialog_gets_tokens_context_locale_user_shows_a_flag_and_closes(site: Site, browser: webdriver.Chrome) -> None:
    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{site.url}/wiki/")
    browser.add_cookie({"name": "sandbox_user", "value": GERMAN_ID, "path": "/"})
    browser.get(f"{site.url}/wiki/spaces/ENG/pages/2000000002")
    browser.find_element(By.CSS_SELECTOR, "[data-ap-menu-toggle]").click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-ap-webitem='send-as-mail']"))).click()
    wait.until(ec.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "[data-ap-modal-body] iframe")))
    results = wait.until(ec.presence_of_element_located((By.ID, "results")))
    wait.until(lambda _driver: results.get_attribute("data-done") == "true" or "error" in results.text)
    answers = json.loads(results.text)

    assert answers["locale"] == "de-DE"
    assert answers["user"] == {"atlassianAccountId": GERMAN_ID}
    assert answers["context"]["confluence"]["content"]["id"] == "2000000002"
    for token in (answers["callbackToken"], answers["promiseToken"]):
        claims = jwt.decode(token, site.secret, algorithms=["HS256"], audience=APP_KEY)
        assert (claims["sub"], claims["qsh"]) == (GERMAN_ID, "context-qsh")
        assert claims["context"]["confluence"]["space"]["key"] == "ENG"

    browser.switch_to.default_content()
    flag = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#ap-flags .flag.success")))
    assert flag.find_element(By.CLASS_NAME, "flag-title").text == "Saved"
    assert flag.find_element(By.CLASS_NAME, "flag-body").text == "<b>not markup</b>"  # text, never HTML

    # A message from anywhere but the app's iframe is ignored: the dialog stays open. (A second message to the
    # same window is delivered after the first, so by then the host has seen and dropped the forged one.)
    still_open = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        window.addEventListener("message", (event) => {
          if (event.data === "marker") { done(window.SandboxHost.dialogOpen()); }
        });
        window.postMessage({type: "ap-request", id: "x", method: "dialog.close", args: []}, "*");
        window.postMessage("marker", "*");
        """
    )
    assert still_open is True

    wait.until(ec.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "[data-ap-modal-body] iframe")))
    browser.find_element(By.ID, "close").click()
    browser.switch_to.default_content()
    wait.until(lambda driver: not driver.execute_script("return window.SandboxHost.dialogOpen()"))
    assert not browser.find_element(By.CSS_SELECTOR, "[data-ap-modal]").is_displayed()
