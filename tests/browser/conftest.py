"""Headless Debian Chromium for the browser tests, driven by the system chromedriver (nothing downloaded)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path(os.environ.get("PAGEMAIL_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("PAGEMAIL_CHROMEDRIVER", "/usr/bin/chromedriver"))
CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1280,900",
)
FAILED_SCREENSHOTS = Path("/tmp")
# Generous: a slow 2-core CI machine runs the app, the sandbox and Chromium at once.
PAGE_LOAD_TIMEOUT_S = 120


def chromium_missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing (install the Debian package {package}; CI does)"
    return None


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    profile = tempfile.mkdtemp(prefix="pagemail-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile}")
    # An explicit driver path keeps selenium-manager from looking for (or downloading) one.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keeps the call phase's outcome on the test item, so a fixture can tell whether the test failed.
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture
def screenshot_on_failure(request: pytest.FixtureRequest, browser: webdriver.Chrome) -> Iterator[None]:
    """A failing browser test leaves a screenshot, /tmp/pagemail-failed-TEST.png, for whoever reads the CI log.

    For a module's tests: `pytestmark = pytest.mark.usefixtures("screenshot_on_failure")`."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        browser.save_screenshot(str(FAILED_SCREENSHOTS / f"pagemail-failed-{request.node.name}.png"))
