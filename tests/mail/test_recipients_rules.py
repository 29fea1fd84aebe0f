"""Pure recipient and permission rules: parsing, external address rules, Bcc-safe splitting, the gate."""

from __future__ import annotations

import pytest

from errors import ValidationError
from mail.permissions import Rules, decide
from mail.recipients import RecipientRules, ResolvedRecipients, normalise_external, parse_picks, split_batches

OPEN = RecipientRules(allow_external=True, allowed_domains=())


def test_parse_picks() -> None:
    picks = parse_picks({"to": [{"accountId": "a1"}, {"groupId": "g1"}, {"email": "x@example.com"}]}, "to", 10)
    assert [(p.kind, p.value) for p in picks] == [("user", "a1"), ("group", "g1"), ("email", "x@example.com")]


@pytest.mark.parametrize(
    "bad",
    [
        {"to": "x@example.com"},
        {"to": [{"accountId": "a", "email": "b@example.com"}]},
        {"to": [{"name": "x"}]},
        {"to": [{"email": "a@example.com\r\nBcc: victim@example.com"}]},
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


def test_split_keeps_bcc_out_of_headers_and_respects_the_limit() -> None:
    recipients = ResolvedRecipients(
        to=[f"t{i}@x.com" for i in range(3)], cc=["c@x.com"], bcc=[f"b{i}@x.com" for i in range(7)]
    )
    batches = split_batches(recipients, 4)
    assert all(len(b.envelope) <= 4 for b in batches)
    assert sorted(a for b in batches for a in b.envelope) == sorted(recipients.to + recipients.cc + recipients.bcc)
    assert batches[0].to == recipients.to[:3] and batches[0].cc == ["c@x.com"] and batches[0].bcc == []
    assert all(not b.to and not b.cc for b in batches[1:])


def test_split_large_visible_lists() -> None:
    recipients = ResolvedRecipients(to=[f"t{i}@x.com" for i in range(250)], bcc=["secret@x.com"])
    batches = split_batches(recipients, 100)
    assert [len(b.envelope) for b in batches] == [100, 100, 51]
    assert batches[-1].bcc == ["secret@x.com"]


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
