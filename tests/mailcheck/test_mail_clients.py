"""The client-compatibility gate (issue 9): every fixture page, and a synthetic page for each way a page can break a
mail (tests/mail/synthetic.py), rendered to the final MIME message and checked the way the clients will see it:

- caniemail's data (doiuse-email, run by node from this folder's committed lockfile): no feature that Gmail web,
  Outlook.com, Apple Mail (macOS, iOS), Yahoo web or Outlook for Windows lacks, except the allowlist below;
- the HTML part at most 102 KB (Gmail clips above that and hides the button and footer);
- headless Chromium at 390 px (a phone) and 800 px (a desktop): the page never widens the mail beyond its column.

Skipped, with the reason, where node/npm or Chromium are missing (as the Forge and browser tests are).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from mail.mime import build_message
from mail.render import Layout, MailContent, prepare_page, render_mail
from tests.mail.pages import PAGE, body_of, images_for, page_names
from tests.mail.synthetic import PAGES

HERE = Path(__file__).resolve().parent
GMAIL_CLIP_BYTES = 102 * 1024
WIDTHS = (390, 800)
COLUMN = 680  # px: the mail's container (templates/mail/page.html)
CHROMIUM = Path(os.environ.get("PAGEMAIL_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("PAGEMAIL_CHROMEDRIVER", "/usr/bin/chromedriver"))

# Features caniemail marks unsupported that the mail uses on purpose, because where they are missing the mail
# still reads well. All of them are Outlook for Windows (Word's HTML engine), which gets the fixed 680 px table
# in the template's MSO conditional instead of the fluid layout.
ALLOWED = {
    # The phone rules (full-width container and button, smaller padding and title): Outlook is a desktop client.
    "`@media` is not supported by `outlook.windows`",
    # The button's rounded corners: square in Outlook; the button itself is the coloured, padded cell.
    "`border-radius` is not supported by `outlook.windows`",
    # The container's fixed layout (so a wide table can't stretch it): the MSO table is 680 px there anyway.
    "`table-layout` is not supported by `outlook.windows`",
    # The hidden preheader's overflow:hidden: Outlook hides it with mso-hide:all.
    "`overflow` is not supported by `outlook.windows`",
    # Break opportunities in long tokens: Outlook ignores them and wraps where Word breaks the line itself.
    "`<wbr> element` is not supported by `outlook.windows`",
}


@dataclass(frozen=True)
class Mail:
    name: str
    html: str  # the text/html part as a client decodes it
    text: str
    images: dict[str, tuple[str, bytes]]  # Content-ID → (type, bytes)
    truncated: bool


def final_mail(name: str, body: str) -> Mail:
    """The page rendered and assembled into the MIME message, then read back as a mail client would."""
    layout = Layout()
    prepared = prepare_page(body, PAGE, layout)
    rendered = render_mail(
        prepared, PAGE, MailContent("Ann Example", "Have a look"), layout, f"[Confluence] {name}", images_for(prepared)
    )
    message = build_message(
        rendered, from_addr="pagemail@example.com", from_name="pagemail", reply_to=None, to=["bob@example.com"], cc=[]
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    html_part = parsed.get_body(("html",))
    text_part = parsed.get_body(("plain",))
    assert html_part is not None and text_part is not None
    images = {
        part["Content-ID"].strip("<>"): (part.get_content_type(), part.get_payload(decode=True))
        for part in parsed.walk()
        if part["Content-ID"]
    }
    return Mail(name, html_part.get_content(), text_part.get_content(), images, rendered.truncated)


CASES = [f"fixture:{name}" for name in page_names()] + [f"synthetic:{name}" for name in PAGES]


@pytest.fixture(scope="module")
def mails() -> dict[str, Mail]:
    out: dict[str, Mail] = {}
    for case in CASES:
        kind, name = case.split(":", 1)
        out[case] = final_mail(name, body_of(name) if kind == "fixture" else PAGES[name]())
    return out


# --- caniemail (doiuse-email) ------------------------------------------------------------------------------------


def doiuse_modules() -> Path:
    """node_modules for check.cjs, installed once per lockfile with `npm ci` into a cache folder outside the
    repository (so the checkout stays clean)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install nodejs npm); the caniemail check needs it")
    lock = (HERE / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pagemail"
    target = cache / f"mailcheck-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (target / "node_modules" / "@jsx-email" / "doiuse-email").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="staging-", dir=cache))  # beside the target: renamed in one step
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, staging / name)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            check=True,
            timeout=300,
        )
        if target.exists():  # another run got there first
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.replace(target)
    return target / "node_modules"


def unsupported_features(files: list[Path]) -> dict[str, list[str]]:
    modules = doiuse_modules()
    result = subprocess.run(
        ["node", str(HERE / "check.cjs"), *map(str, files)],
        env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(result.stdout)


def test_no_unsupported_feature_but_the_allowlisted(mails: dict[str, Mail], tmp_path: Path) -> None:
    files = {}
    for case, mail in mails.items():
        path = tmp_path / (case.replace(":", "-") + ".html")
        path.write_text(mail.html, encoding="utf-8")
        files[str(path)] = case
    found = unsupported_features([Path(f) for f in files])
    assert set(found) == set(files)
    problems = {files[file]: sorted(set(errors) - ALLOWED) for file, errors in found.items()}
    assert {case: errors for case, errors in problems.items() if errors} == {}
    # The allowlist stays honest: every entry is still needed by some mail.
    assert set().union(*found.values()) == ALLOWED


# --- size ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_html_part_fits_under_gmails_clip(mails: dict[str, Mail], case: str) -> None:
    mail = mails[case]
    assert len(mail.html.encode("utf-8")) <= GMAIL_CLIP_BYTES
    if mail.truncated:  # cut at a block boundary, and both parts say so before the button
        assert mail.html.index("The page continues in Confluence.") < mail.html.index("Open in Confluence<")
        assert mail.text.index("The page continues in Confluence.") < mail.text.index("Open in Confluence: ")


def test_the_big_pages_are_the_ones_cut(mails: dict[str, Mail]) -> None:
    cut = {case for case, mail in mails.items() if mail.truncated}
    assert cut == {"fixture:CE-Playable-Demo-Feedback-Tracking---TE_999391233.html", "synthetic:page-150kb"}


# --- width in a browser -------------------------------------------------------------------------------------------

# Everything inside the mail's container must stay inside it, unless it is in a box that scrolls sideways (a wide
# table on a phone); the page itself must not scroll sideways.
MEASURE = """
const container = document.querySelector('.pm-container');
const box = container.getBoundingClientRect();
const outside = [];
for (const el of container.querySelectorAll('*')) {
  let parent = el.parentElement, scrolls = false;
  while (parent && parent !== container) {
    const overflow = getComputedStyle(parent).overflowX;
    if (overflow === 'auto' || overflow === 'scroll' || overflow === 'hidden') { scrolls = true; break; }
    parent = parent.parentElement;
  }
  const r = el.getBoundingClientRect();
  if (!scrolls && r.width && (r.right > box.right + 0.5 || r.left < box.left - 0.5)) {
    outside.push(`<${el.tagName.toLowerCase()}> ${Math.round(r.left)}..${Math.round(r.right)}: `
      + (el.textContent || el.getAttribute('alt') || '').trim().slice(0, 60));
  }
}
return {page: document.documentElement.scrollWidth, container: box.width, outside: outside.slice(0, 5)};
"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[webdriver.Chrome]:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            pytest.skip(f"{path} is missing (install the Debian package {package}; CI does)")
    profile = tempfile.mkdtemp(prefix="pagemail-mailcheck-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def viewable(mail: Mail, folder: Path) -> Path:
    """The HTML part with its CID images as data: URIs (a browser can't resolve cid:), as a file."""
    html = mail.html
    for cid, (content_type, data) in mail.images.items():
        html = html.replace(f"cid:{cid}", f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}")
    path = folder / (mail.name.replace("/", "_") + ".html")
    path.write_text(html, encoding="utf-8")
    return path


def measure(driver: webdriver.Chrome, path: Path, width: int) -> dict[str, Any]:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    )
    driver.get(path.as_uri())
    return driver.execute_script(MEASURE)


@pytest.mark.parametrize("case", CASES)
def test_nothing_is_wider_than_the_column(
    mails: dict[str, Mail], chromium: webdriver.Chrome, tmp_path: Path, case: str
) -> None:
    path = viewable(mails[case], tmp_path)
    for width in WIDTHS:
        found = measure(chromium, path, width)
        assert found["page"] <= width, (width, found)
        assert found["container"] <= min(width, COLUMN), (width, found)
        assert found["outside"] == [], (width, found)
