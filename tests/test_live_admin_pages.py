"""What the admin and space pages are told over real HTTP: the sample preview shows the page title once; the space
settings name, by group name, who may send, also in their refusals."""

from __future__ import annotations

import lxml.html

from tests.conftest import LiveStack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin, space admin of ENG
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"  # regular; design group; space admin of ENG
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"  # space admin of MKT only
TITLE = "Quarterly planning"


def group_id(stack: LiveStack, name: str) -> str:
    groups = stack.api("GET", "/api/recipients", ADA, params={"query": name}).json()["groups"]
    return next(g["groupId"] for g in groups if g["name"] == name)


def test_the_sample_preview_shows_the_page_title_once(stack: LiveStack) -> None:
    answer = stack.api("POST", "/api/admin/preview", ADA, json={"layout": {"headerText": "ACME"}})
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    body = lxml.html.fromstring(preview["html"]).find("body")
    headings = [h.text_content().strip() for h in body.iter("h1", "h2", "h3")]
    assert headings.count(TITLE) == 1, headings
    # The one left is the mail's own title line, linked to the page; the sample's content follows it.
    assert body.cssselect(".pm-title-heading a")[0].text_content() == TITLE
    assert "Goals" in headings
    lines = [line.strip() for line in preview["text"].splitlines()]
    assert lines.count(TITLE) == 1, preview["text"]
    assert preview["subject"].endswith(" " + TITLE)


def test_space_settings_name_who_may_send(admin_stack: LiveStack) -> None:
    stack = admin_stack
    design, engineering = group_id(stack, "design"), group_id(stack, "engineering")

    mine = stack.api("GET", "/api/spaces/ENG/settings", BEN).json()
    assert mine["canChange"] is True
    assert mine["site"] == {"mode": "all", "groups": []}
    # Someone who can see the space but doesn't administer it learns that at once, not after a refused save.
    theirs = stack.api("GET", "/api/spaces/ENG/settings", EMMA).json()
    assert theirs["canChange"] is False

    saved = stack.api(
        "PUT",
        "/api/admin/settings",
        ADA,
        json={"permissions": {"mode": "groups", "groups": [{"groupId": design}], "enforceInAllSpaces": True}},
    )
    assert saved.status_code == 200, saved.text
    enforced = stack.api("GET", "/api/spaces/ENG/settings", BEN).json()
    assert enforced["globalEnforced"] is True
    assert enforced["site"] == {"mode": "groups", "groups": [{"groupId": design, "name": "design"}]}

    # A space admin's groups, refused because the site admin enforces the site's: the answer names those.
    refused = stack.api("PUT", "/api/spaces/ENG/settings", BEN, json={"enabled": True, "groups": [engineering]})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_settings" and "groups" in error["details"]["fields"]
    current = error["details"]["current"]
    assert current["globalEnforced"] is True and current["canChange"] is True
    assert current["site"]["groups"] == [{"groupId": design, "name": "design"}]

    # Someone who isn't a space admin: refused, with who may send by name.
    forbidden = stack.api("PUT", "/api/spaces/ENG/settings", EMMA, json={"enabled": False})
    assert forbidden.status_code == 403
    error = forbidden.json()["error"]
    assert error["code"] == "not_space_admin"
    assert error["details"]["current"]["site"]["groups"] == [{"groupId": design, "name": "design"}]
    assert error["details"]["current"]["canChange"] is False
    assert stack.api("GET", "/api/spaces/ENG/settings", BEN).json()["enabled"] is True
