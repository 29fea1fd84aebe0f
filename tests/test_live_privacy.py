"""Recipients' privacy in every header of every mail (DESIGN §1), and the guard-rails before a big or blind send.

Real parts: the app and the sandbox over HTTP, the sandbox's directory (groups whose members hide their addresses),
the SMTP catcher; every header of every received mail is parsed and searched.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from email.message import EmailMessage
from typing import Any

import pytest

from tests.conftest import LiveStack

ADA = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"  # site admin, visible email, in engineering
BEN = "5f8a3c2e1b7d4e6f9a0b1c2d"  # visible email, in engineering and design
CHIARA = "60b4d1e7a2c94f3b8e5d6a71"  # hides her email, in engineering
DIETER = "712020:9b2e7c41-5d3a-4f8e-b1c6-2a9d8e7f6c05"  # visible email, in engineering
EMMA = "62c9e0f4b3a1d7e5c8f2a6b4"  # in design and marketing; can't read the restricted page
SIMPLE_PAGE = "2000000001"
RESTRICTED_PAGE = "1514897411"  # readable by engineering only


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def header_text(raw: bytes) -> str:
    """Every header of a mail, decoded (encoded words too), lower-cased: where no hidden address may appear."""
    message = parsed(raw)
    return "\n".join(f"{name}: {value}" for name, value in message.items()).lower()


def header_block(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").lower()


def people(stack: LiveStack) -> dict[str, dict[str, Any]]:
    return {u["accountId"]: u for u in stack.users()}


def groups(stack: LiveStack) -> dict[str, str]:
    return {g["name"]: g["id"] for g in stack.control("GET", "users")["groups"]}


def members(stack: LiveStack, group: str) -> list[dict[str, Any]]:
    return [u for u in people(stack).values() if group in u["groups"] and u["accountType"] == "atlassian"]


def send(stack: LiveStack, sender: str = ADA, **body: Any) -> Any:
    return stack.api("POST", "/api/send", sender, json={"contentId": SIMPLE_PAGE, **body})


def assert_private(mails: list[Any], secret: set[str], *, allow_reply_to: str | None = None) -> None:
    """No header of any mail names a secret address (Reply-To may carry the sender's own, visible one)."""
    for mail in mails:
        headers = header_text(mail.raw)
        raw_headers = header_block(mail.raw)
        for address in secret:
            if address == allow_reply_to:
                message = parsed(mail.raw)
                without = headers.replace(f"reply-to: {message['Reply-To']}".lower(), "")
                assert address not in without
                continue
            assert address not in headers, (address, headers)
            assert address not in raw_headers
        assert "bcc:" not in raw_headers


def delivered_once(mails: list[Any]) -> Counter[str]:
    counts = Counter(a.lower() for mail in mails for a in mail.rcpt_tos)
    assert all(n == 1 for n in counts.values()), counts
    return counts


def test_group_members_hidden_addresses_and_bcc_stay_out_of_every_header(stack: LiveStack) -> None:
    """To: the engineering group, Chiara (hides her address) picked by hand and an external address; Cc: Ben by
    hand; Bcc: Dieter, whom the To group also reaches. A copy to the sender (Ada, herself in engineering)."""
    users = people(stack)
    engineering = groups(stack)["engineering"]
    response = send(
        stack,
        to=[{"groupId": engineering}, {"accountId": CHIARA}, {"email": "partner@external.example"}],
        cc=[{"accountId": BEN}],
        bcc=[{"accountId": DIETER}],
        copyToSelf=True,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    mails = stack.catcher.wait_for(1)
    assert len(mails) == 1
    message = parsed(mails[0].raw)
    counts = delivered_once(mails)
    everyone = {users[a]["email"].lower() for a in (ADA, BEN, CHIARA, DIETER)} | {"partner@external.example"}
    assert set(counts) == everyone

    # To names the group (RFC 5322 group syntax) and the external address; nobody reached through the group.
    to = message["To"]
    assert [g.display_name for g in to.groups if g.display_name] == ["engineering"]
    assert "engineering: ;" in header_block(mails[0].raw) or "engineering:;" in header_block(mails[0].raw)
    assert {a.addr_spec.lower() for a in to.addresses} == {"partner@external.example"}
    # Ben is in the To group too, but the sender picked him by hand in Cc and can see his address: he is named.
    assert [a.addr_spec for a in message["Cc"].addresses] == [users[BEN]["email"]]
    # Chiara hides her address, Dieter is Bcc (the group reaches him too), Ada only through the group: never shown.
    assert_private(
        mails,
        {users[a]["email"].lower() for a in (ADA, CHIARA, DIETER)},
        allow_reply_to=users[ADA]["email"].lower(),
    )
    assert message["Reply-To"].addresses[0].addr_spec.lower() == users[ADA]["email"].lower()

    # The answer says who got it without naming hidden addresses.
    assert result["recipients"] == 5 and result["byField"] == {"to": 3, "cc": 1, "bcc": 1}
    assert result["groups"] == [{"groupId": engineering, "name": "engineering", "field": "to", "members": 4}]
    assert result["copyToSelf"] is True  # Ada gets it through the group already
    assert "@" not in str(result)


def test_bcc_pick_wins_over_a_cc_group_and_a_hidden_pick_is_never_listed(stack: LiveStack) -> None:
    users = people(stack)
    design = groups(stack)["design"]  # Ben and Emma
    response = send(stack, cc=[{"groupId": design}, {"accountId": CHIARA}], bcc=[{"accountId": EMMA}])
    assert response.status_code == 200, response.text
    mails = stack.catcher.wait_for(1)
    message = parsed(mails[0].raw)
    delivered_once(mails)
    assert {a.lower() for a in mails[0].rcpt_tos} == {users[a]["email"].lower() for a in (BEN, EMMA, CHIARA)}
    assert str(message["To"]).replace(" ", "") == "undisclosed-recipients:;"
    assert [g.display_name for g in message["Cc"].groups if g.display_name] == ["design"]
    assert message["Cc"].addresses == ()
    assert_private(mails, {users[a]["email"].lower() for a in (BEN, EMMA, CHIARA)})
    assert response.json()["unlisted"] == 1  # Chiara: delivered, not named


def test_a_sender_who_hides_their_address_is_not_revealed_by_reply_to_or_a_copy(stack: LiveStack) -> None:
    users = people(stack)
    response = send(stack, CHIARA, to=[{"accountId": BEN}], copyToSelf=True)
    assert response.status_code == 200, response.text
    assert response.json()["copyToSelf"] is True
    mails = stack.catcher.wait_for(1)
    message = parsed(mails[0].raw)
    assert users[CHIARA]["email"].lower() in {a.lower() for a in mails[0].rcpt_tos}
    assert "Reply-To" not in message
    assert_private(mails, {users[CHIARA]["email"].lower()})
    assert {a.addr_spec for a in message["To"].addresses} == {users[BEN]["email"]}


def test_batches_above_the_per_mail_limit_name_only_their_own_recipients_and_groups(stack: LiveStack) -> None:
    users = people(stack)
    ids = groups(stack)
    marketing = members(stack, "marketing")
    assert len(marketing) > 25 and any(not u["emailVisible"] for u in marketing)
    body = {
        "to": [{"groupId": ids["marketing"]}, {"email": "lead@external.example"}],
        "cc": [{"accountId": BEN}, {"groupId": ids["design"]}],
        "bcc": [{"email": "auditor@external.example"}, {"accountId": DIETER}],
        "copyToSelf": True,
    }
    with stack.settings(max_recipients=7):
        refused = send(stack, **body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "confirmation_required"
        assert stack.catcher.messages() == []
        response = send(stack, **body, confirmed=True)
    assert response.status_code == 200, response.text
    result = response.json()
    expected = (
        {u["email"].lower() for u in marketing}
        | {users[a]["email"].lower() for a in (BEN, DIETER, ADA)}
        | {"lead@external.example", "auditor@external.example"}
    )
    mails = stack.catcher.wait_for(result["mails"])
    assert result["mails"] == -(-len(expected) // 7) and len(mails) == result["mails"]
    counts = delivered_once(mails)
    assert set(counts) == expected
    secret = {u["email"].lower() for u in marketing} | {users[DIETER]["email"].lower()}
    secret |= {"auditor@external.example"}
    assert_private(mails, secret, allow_reply_to=users[ADA]["email"].lower())
    marketing_addresses = {u["email"].lower() for u in marketing}
    for mail in mails:
        assert len(mail.rcpt_tos) <= 7
        message = parsed(mail.raw)
        named_groups = {g.display_name for name in ("To", "Cc") if message[name] for g in message[name].groups}
        rcpt = {a.lower() for a in mail.rcpt_tos}
        # A mail names marketing only when it delivers to some of its members.
        assert ("marketing" in named_groups) == bool(rcpt & marketing_addresses), (named_groups, rcpt)
        listed = {a.addr_spec.lower() for name in ("To", "Cc") if message[name] for a in message[name].addresses}
        assert listed <= rcpt and listed <= {"lead@external.example", users[BEN]["email"].lower()}
    assert result["byField"]["bcc"] == 2 and result["recipients"] == len(expected) - 1  # the copy is not counted


def test_summary_counts_group_members_and_recipients_who_cannot_open_the_page(stack: LiveStack) -> None:
    ids = groups(stack)
    body = {
        "contentId": RESTRICTED_PAGE,
        "to": [{"groupId": ids["design"]}, {"accountId": DIETER}],
        "cc": [{"email": "someone@external.example"}],
    }
    answer = stack.api("POST", "/api/recipients/summary", ADA, json=body)
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert summary["recipients"] == 4 and summary["externals"] == 1
    assert summary["groups"] == [{"groupId": ids["design"], "name": "design", "field": "to", "members": 2}]
    assert summary["cannotView"] == 1  # Emma (design) can't open the restricted page; Ben and Dieter can
    assert summary["withoutAccess"] == "warn" and summary["confirmAbove"] == 25
    assert summary["needsConfirmation"] is False
    assert "@" not in str(summary)
    assert stack.catcher.messages() == []


def test_recipients_without_access_are_warned_about_or_blocked(stack: LiveStack) -> None:
    design = groups(stack)["design"]
    with stack.settings(recipients_without_access="block"):
        refused = send(stack, contentId=RESTRICTED_PAGE, to=[{"groupId": design}])
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "recipients_cannot_view" and error["details"] == {"count": 1}
        assert stack.catcher.messages() == []
        # Everyone can open it: the block does not apply.
        allowed = send(stack, contentId=RESTRICTED_PAGE, to=[{"accountId": DIETER}])
        assert allowed.status_code == 200, allowed.text
    stack.catcher.wait_for(1)
    warned = send(stack, contentId=RESTRICTED_PAGE, to=[{"groupId": design}])
    assert warned.status_code == 200, warned.text
    assert warned.json()["cannotView"] == 1


@pytest.mark.parametrize("threshold", [2, 3])
def test_the_confirmation_threshold_is_the_admins(stack: LiveStack, threshold: int) -> None:
    body = {"to": [{"accountId": BEN}, {"accountId": DIETER}, {"email": "x@external.example"}]}
    with stack.settings(confirm_recipients_above=threshold):
        summary = stack.api("POST", "/api/recipients/summary", ADA, json={"contentId": SIMPLE_PAGE, **body}).json()
        response = send(stack, **body)
    assert summary["needsConfirmation"] is (3 > threshold)
    assert response.status_code == (409 if 3 > threshold else 200), response.text
