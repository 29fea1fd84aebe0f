"""Pure recipient and permission rules: parsing, external address rules, Bcc-safe splitting, the gate."""

from __future__ import annotations

import pytest

from errors import ValidationError
from mail.mime import GroupLabel
from mail.permissions import Rules, decide
from mail.recipients import (
    GroupPick,
    Recipient,
    RecipientRules,
    ResolvedRecipients,
    normalise_external,
    parse_picks,
    split_batches,
)

OPEN = RecipientRules(allow_external=True, allowed_domains=())


def test_parse_picks() -> None:
    group = "7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
    picks = parse_picks({"to": [{"accountId": "a1"}, {"groupId": group}, {"email": "x@example.com"}]}, "to", 10)
    assert [(p.kind, p.value) for p in picks] == [("user", "a1"), ("group", group), ("email", "x@example.com")]


@pytest.mark.parametrize(
    "bad",
    [
        {"to": "x@example.com"},
        {"to": [{"accountId": "a", "email": "b@example.com"}]},
        {"to": [{"name": "x"}]},
        {"to": [{"email": "a@example.com\r\nBcc: victim@example.com"}]},
        {"to": [{"email": "a@example.com\u2028b"}]},
        {"to": [{"groupId": "../../rest/api/space"}]},
        {"to": [{"groupId": "7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b/../x"}]},
        {"to": [{"groupId": "7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b?limit=1"}]},
        {"to": [{"groupId": "7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b\n"}]},
        {"to": [{"accountId": "a/../../group"}]},
        {"to": [{"accountId": "a1#x"}]},
        {"to": [{"email": ""}]},
        {"to": [{"accountId": 5}]},
        {"to": [{"email": "a@example.com"}] * 11},
    ],
)
def test_parse_picks_refuses_bad_input(bad: dict) -> None:
    with pytest.raises(ValidationError):
        parse_picks(bad, "to", 10)


def test_external_rules() -> None:
    assert normalise_external("Someone@Example.COM", OPEN) == "Someone@example.com"
    with pytest.raises(ValidationError) as caught:
        normalise_external("not-an-address", OPEN)
    assert caught.value.code == "invalid_email"
    with pytest.raises(ValidationError) as caught:
        normalise_external("a@example.com", RecipientRules(False, ()))
    assert caught.value.code == "external_not_allowed"
    allow = RecipientRules(True, ("example.com",))
    assert normalise_external("a@mail.example.com", allow)
    for address in ("a@evil.com", "a@example.com.evil.com", "a@notexample.com"):
        with pytest.raises(ValidationError) as caught:
            normalise_external(address, allow)
        assert caught.value.code == "domain_not_allowed"


def _resolved(to: int = 0, cc: int = 0, bcc: int = 0, group: int = 0) -> ResolvedRecipients:
    people = [Recipient(f"t{i}@x.com", "to", True) for i in range(to)]
    people += [Recipient(f"m{i}@x.com", "to", False, f"acc{i}", "g1") for i in range(group)]
    people += [Recipient(f"c{i}@x.com", "cc", True) for i in range(cc)]
    people += [Recipient(f"b{i}@x.com", "bcc", False) for i in range(bcc)]
    return ResolvedRecipients(people, [GroupPick("g1", "engineering", "to", group)] if group else [])


def test_split_keeps_bcc_out_of_headers_and_respects_the_limit() -> None:
    recipients = _resolved(to=3, cc=1, bcc=7)
    batches = split_batches(recipients, 4)
    assert all(len(b.envelope) <= 4 for b in batches)
    assert sorted(a for b in batches for a in b.envelope) == sorted(recipients.addresses)
    assert batches[0].to == [f"t{i}@x.com" for i in range(3)] and batches[0].cc == ["c0@x.com"]
    assert all(not b.to and not b.cc for b in batches[1:])
    assert not any("b" in str(h) for b in batches for h in (*b.to, *b.cc))


def test_split_large_visible_lists_and_the_senders_copy() -> None:
    batches = split_batches(_resolved(to=250, bcc=1), 100, extra=["me@x.com"])
    assert [len(b.envelope) for b in batches] == [100, 100, 52]
    assert batches[-1].envelope[-2:] == ["b0@x.com", "me@x.com"]
    assert all("me@x.com" not in b.to for b in batches)


def test_a_group_is_named_only_in_the_mails_that_deliver_to_its_members() -> None:
    batches = split_batches(_resolved(to=2, group=5, cc=1), 4)
    assert [b.to for b in batches] == [
        ["t0@x.com", "t1@x.com", GroupLabel("engineering")],
        [GroupLabel("engineering")],
    ]
    assert batches[1].cc == ["c0@x.com"]
    assert not any(a.startswith("m") for b in batches for a in b.to if isinstance(a, str))


def rules(**overrides: object) -> Rules:
    base = {
        "permission_mode": "all",
        "allowed_group_ids": (),
        "enforce_in_all_spaces": False,
        "space_enabled": True,
        "space_group_ids": (),
    }
    base.update(overrides)
    return Rules(**base)  # type: ignore[arg-type]


def test_gate() -> None:
    never = lambda: pytest.fail("groups must not be fetched")  # noqa: E731
    assert decide(rules(), never).allowed
    assert decide(rules(space_enabled=False), never).code == "space_disabled"
    assert decide(rules(permission_mode="groups", allowed_group_ids=("g1",)), lambda: {"g2"}).code == (
        "not_in_allowed_groups"
    )
    assert decide(rules(permission_mode="groups", allowed_group_ids=("g1",)), lambda: {"g1"}).allowed
    assert decide(rules(space_group_ids=("s1",)), lambda: {"g1"}).code == "not_in_space_groups"
    assert decide(rules(space_group_ids=("s1",), enforce_in_all_spaces=True), never).allowed
