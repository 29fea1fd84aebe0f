"""Who a mail goes to: picked users, expanded groups and external addresses, resolved to addresses.

Users' addresses are looked up as the app (ACCESS_EMAIL_ADDRESSES) and only for users the sender picked or who are
members of a group the sender picked; group members are listed as the user. Addresses are never stored or logged.
Which addresses a mail's headers may show is decided here too (DESIGN §1, recipients' privacy).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from confluence.client import RestClient
from confluence.fanout import map_bounded
from errors import ValidationError
from header_text import LINE_BREAKS
from mail.mime import GroupLabel
from models.settings import GROUP_ID

Field = Literal["to", "cc", "bcc"]
FIELDS: tuple[Field, ...] = ("to", "cc", "bcc")
EMAIL_BULK_BATCH = 50
USER_BULK_BATCH = 100
# Atlassian account ids: 24 hex digits, or "<number>:<uuid>" for older accounts; nothing that could leave a query.
ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_-]{0,127}")
MEMBERS_PAGE = 200
MAX_GROUP_MEMBERS = 5000
# People one send may reach in all (groups expanded, each person once); larger sends are refused, not split.
MAX_RECIPIENTS_PER_SEND = 1000


@dataclass(frozen=True)
class Pick:
    """One recipient as the sender picked it: a user, a group or an address."""

    kind: Literal["user", "group", "email"]
    value: str


@dataclass(frozen=True)
class Skipped:
    account_id: str
    display_name: str
    reason: str  # no_email


@dataclass(frozen=True)
class Recipient:
    """One delivered address. `listed` says whether a header names it; `field` is where it was picked (for the
    counts, and for which header names its group)."""

    address: str
    field: Field
    listed: bool
    account_id: str | None = None  # None for an external address
    group_id: str | None = None  # the group it was reached through, when it was not picked by itself


@dataclass(frozen=True)
class GroupPick:
    group_id: str
    name: str
    field: Field
    members: int  # human members, whether or not their mail is delivered through this group


@dataclass
class ResolvedRecipients:
    recipients: list[Recipient] = field(default_factory=list)
    groups: list[GroupPick] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.recipients)

    @property
    def addresses(self) -> list[str]:
        return [r.address for r in self.recipients]

    def count(self, field_name: Field) -> int:
        return sum(1 for r in self.recipients if r.field == field_name)

    @property
    def unlisted_picks(self) -> int:
        """People picked one by one whose address no header shows (hidden by their owner, or Bcc)."""
        return sum(1 for r in self.recipients if not r.listed and r.group_id is None and r.field != "bcc")

    @property
    def account_ids(self) -> list[str]:
        return [r.account_id for r in self.recipients if r.account_id]

    @property
    def externals(self) -> int:
        return sum(1 for r in self.recipients if r.account_id is None)


@dataclass(frozen=True)
class RecipientRules:
    allow_external: bool
    allowed_domains: Sequence[str]


def parse_picks(body: dict[str, Any], name: Field, limit: int) -> list[Pick]:
    raw = body.get(name, [])
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _invalid_recipient(name)
    if len(raw) > limit:
        raise ValidationError(
            f"{FIELD_LABELS[name]} can hold at most {limit} recipients",
            code="too_many_recipients",
            details={"field": name, "limit": limit},
        )
    picks: list[Pick] = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise _invalid_recipient(name)
        ((key, value),) = item.items()
        kind = {"accountId": "user", "groupId": "group", "email": "email"}.get(key)
        if kind is None or not isinstance(value, str) or not value.strip() or len(value) > 320:
            raise _invalid_recipient(name)
        value = value.strip() if kind == "email" else value  # an id is taken exactly as it is, or refused
        # Ids end up in REST paths and queries: only their real shapes pass (group ids are UUIDs).
        if (kind == "group" and not GROUP_ID.fullmatch(value)) or (kind == "user" and not ACCOUNT_ID.fullmatch(value)):
            raise _invalid_recipient(name)
        if kind == "email" and LINE_BREAKS.search(value):
            raise _invalid_recipient(name)
        picks.append(Pick(kind, value))  # type: ignore[arg-type]
    return picks


FIELD_LABELS: dict[str, str] = {"to": "To", "cc": "Cc", "bcc": "Bcc"}


def _invalid_recipient(name: str) -> ValidationError:
    return ValidationError(
        f"A recipient in {FIELD_LABELS[name]} is not a user, a group or an email address",
        code="invalid_recipient",
        details={"field": name},
    )


# Why an address is not valid, in our own words (the validator's sentences are its own, and English only).
_ADDRESS_PROBLEMS = {
    "no_at": "it has no @",
    "local": "the part before the @ is not valid",
    "domain": "the part after the @ is not a valid domain name",
    "other": "it is not written like an email address",
}


def _address_problem(reason: str) -> str:
    text = reason.lower()
    if "must have an @-sign" in text:
        return "no_at"
    if "after the @-sign" in text or "domain" in text:
        return "domain"
    if "before the @-sign" in text or "start with a period" in text or "periods in a row" in text:
        return "local"
    return "other"


def normalise_external(address: str, rules: RecipientRules) -> str:
    """Validate an external address and apply the admin's rules; answer its normalised form."""
    try:
        # No SMTPUTF8: a non-ASCII local part can't be written into a header most servers accept.
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        problem = _address_problem(str(exc))
        raise ValidationError(
            f"{address} is not a valid email address: {_ADDRESS_PROBLEMS[problem]}",
            code="invalid_email",
            details={"field": "recipients", "email": address, "problem": problem},
        ) from None
    if not rules.allow_external:
        raise ValidationError(
            "Sending to external email addresses is not allowed on this site",
            code="external_not_allowed",
            details={"field": "recipients", "email": address},
        )
    domain = checked.domain.lower()
    allowed = [d.lower().lstrip("@") for d in rules.allowed_domains if d]
    if allowed and not any(domain == d or domain.endswith("." + d) for d in allowed):
        raise ValidationError(
            f"Mail to {domain} is not allowed on this site (allowed: {', '.join(allowed)})",
            code="domain_not_allowed",
            details={"field": "recipients", "email": address, "domain": domain, "allowed": ", ".join(allowed)},
        )
    return checked.normalized


def group_members(user_client: RestClient, group_id: str) -> list[tuple[str, str]]:
    """(accountId, displayName) of a group's human members, page by page, asked as the user."""
    members: list[tuple[str, str]] = []
    start = 0
    while True:
        page = user_client.get_json(
            f"rest/api/group/{group_id}/membersByGroupId", params={"start": start, "limit": MEMBERS_PAGE}
        )
        results = page.get("results", []) if isinstance(page, dict) else []
        for user in results:
            if isinstance(user, dict) and user.get("accountType", "atlassian") == "atlassian" and user.get("accountId"):
                members.append((str(user["accountId"]), str(user.get("displayName") or user.get("publicName") or "")))
        if len(members) > MAX_GROUP_MEMBERS:
            raise ValidationError(
                f"A group has more than {MAX_GROUP_MEMBERS} members; pick smaller groups",
                code="group_too_large",
                details={"field": "recipients", "groupId": group_id, "max_group_members": MAX_GROUP_MEMBERS},
            )
        if not results or not (isinstance(page, dict) and page.get("_links", {}).get("next")):
            return members
        start += len(results)


def group_name(user_client: RestClient, group_id: str) -> str:
    """The group's current name (headers name groups; names change, so only the id is ever kept)."""
    answer = user_client.get_json("rest/api/group/by-id", params={"id": group_id})
    name = answer.get("name") if isinstance(answer, dict) else None
    return str(name or "group")


def users_as_seen(user_client: RestClient, account_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """accountId → the user object as the sender sees it (`email` is "" when its owner hides it), in batches."""
    ids = list(dict.fromkeys(account_ids))
    batches = [ids[i : i + USER_BULK_BATCH] for i in range(0, len(ids), USER_BULK_BATCH)]

    def lookup(batch: list[str]) -> dict[str, dict[str, Any]]:
        answer = user_client.get_json(
            "rest/api/user/bulk", params=[*(("accountId", a) for a in batch), ("limit", str(len(batch)))]
        )
        results = answer.get("results", []) if isinstance(answer, dict) else []
        return {str(u["accountId"]): u for u in results if isinstance(u, dict) and u.get("accountId") in batch}

    seen: dict[str, dict[str, Any]] = {}
    for part in map_bounded(lookup, batches, limit=4):
        seen.update(part)
    return seen


def emails_for(app_client: RestClient, account_ids: Iterable[str]) -> dict[str, str]:
    """accountId → email, asked as the app, in batches run concurrently; users without one are absent."""
    ids = list(dict.fromkeys(account_ids))
    batches = [ids[i : i + EMAIL_BULK_BATCH] for i in range(0, len(ids), EMAIL_BULK_BATCH)]

    def lookup(batch: list[str]) -> dict[str, str]:
        answer = app_client.get_json("rest/api/user/email/bulk", params=[("accountId", a) for a in batch])
        found: dict[str, str] = {}
        for record in answer if isinstance(answer, list) else []:
            if isinstance(record, dict) and record.get("email") and record.get("accountId") in batch:
                found[str(record["accountId"])] = str(record["email"])
        return found

    merged: dict[str, str] = {}
    for part in map_bounded(lookup, batches, limit=4):
        merged.update(part)
    return merged


# Which way of reaching a person wins when the sender reached them more than once (each gets the mail once): a Bcc
# pick hides them whatever else was picked; otherwise picking them by hand beats reaching them through a group.
_THROUGH_GROUP, _BY_HAND, _BCC = 0, 1, 2


def _precedence(candidate: Recipient) -> int:
    if candidate.field == "bcc":
        return _BCC
    return _BY_HAND if candidate.group_id is None else _THROUGH_GROUP


def resolve(
    picks: dict[Field, list[Pick]],
    *,
    user_client: RestClient,
    app_client: RestClient,
    rules: RecipientRules,
) -> ResolvedRecipients:
    """Expand groups, look up emails, validate externals; one delivery per address.

    Headers (DESIGN §1) name a picked user only when the sender can see their address in Confluence, never a
    group's members (the group is named instead), and never a Bcc pick, even when a To/Cc group reaches them too."""
    group_fields: dict[str, Field] = {}
    for field_name in FIELDS:
        for pick in picks.get(field_name, []):
            if pick.kind == "group":
                group_fields.setdefault(pick.value, field_name)
    group_ids = list(group_fields)
    picked_users = [p.value for f in FIELDS for p in picks.get(f, []) if p.kind == "user"]
    externals = {
        p.value: normalise_external(p.value, rules) for f in FIELDS for p in picks.get(f, []) if p.kind == "email"
    }

    jobs: list[Callable[[], Any]] = [lambda: users_as_seen(user_client, picked_users) if picked_users else {}]
    jobs += [lambda g=g: group_members(user_client, g) for g in group_ids]
    jobs += [lambda g=g: group_name(user_client, g) for g in group_ids]
    answers = map_bounded(lambda job: job(), jobs, limit=4)
    seen_users: dict[str, dict[str, Any]] = answers[0]
    members = dict(zip(group_ids, answers[1 : 1 + len(group_ids)], strict=True))
    names = dict(zip(group_ids, answers[1 + len(group_ids) :], strict=True))

    display: dict[str, str] = {a: str(u.get("displayName") or u.get("publicName") or "") for a, u in seen_users.items()}
    for group_id in group_ids:
        for account_id, display_name in members[group_id]:
            display.setdefault(account_id, display_name)
    account_ids = [*picked_users, *(a for g in group_ids for a, _ in members[g])]
    emails = emails_for(app_client, account_ids) if account_ids else {}

    chosen: dict[str, Recipient] = {}
    skipped: dict[str, Skipped] = {}

    def offer(candidate: Recipient) -> None:
        key = candidate.address.lower()
        current = chosen.get(key)
        if current is None or _precedence(candidate) > _precedence(current):
            chosen[key] = candidate

    for field_name in FIELDS:
        for pick in picks.get(field_name, []):
            if pick.kind == "email":
                offer(Recipient(externals[pick.value], field_name, listed=True))
                continue
            reached = [(pick.value, None)] if pick.kind == "user" else [(a, pick.value) for a, _ in members[pick.value]]
            for account_id, via in reached:
                address = emails.get(account_id)
                if address is None:
                    skipped.setdefault(account_id, Skipped(account_id, display.get(account_id, ""), "no_email"))
                    continue
                # Listed only when picked by itself and Confluence shows the sender this very address.
                visible = str(seen_users.get(account_id, {}).get("email") or "").strip().lower()
                listed = via is None and visible == address.lower()
                offer(Recipient(address, field_name, listed, account_id, via))
    if len(chosen) > MAX_RECIPIENTS_PER_SEND:
        raise ValidationError(
            f"One mail can go to at most {MAX_RECIPIENTS_PER_SEND:,} recipients; this one would reach {len(chosen):,}",
            code="too_many_recipients",
            details={"limit": MAX_RECIPIENTS_PER_SEND, "length": len(chosen)},
        )
    ordered = sorted(chosen.values(), key=lambda r: FIELDS.index(r.field))
    groups = [GroupPick(g, names[g], group_fields[g], len(members[g])) for g in group_ids]
    return ResolvedRecipients(ordered, groups, list(skipped.values()))


@dataclass(frozen=True)
class MailBatch:
    """One mail: its envelope and what its To and Cc headers show (addresses, and groups as names)."""

    recipients: list[Recipient]
    to: list[str | GroupLabel]
    cc: list[str | GroupLabel]

    @property
    def envelope(self) -> list[str]:
        return [r.address for r in self.recipients]


def _headers(chunk: list[Recipient], groups: dict[str, GroupPick], field_name: Field) -> list[str | GroupLabel]:
    shown: list[str | GroupLabel] = [r.address for r in chunk if r.field == field_name and r.listed]
    via = dict.fromkeys(r.group_id for r in chunk if r.field == field_name and r.group_id)
    shown += [GroupLabel(groups[g].name) for g in via if g in groups]
    return shown


def split_batches(recipients: ResolvedRecipients, limit: int, extra: Sequence[str] = ()) -> list[MailBatch]:
    """Mails of at most `limit` recipients each, in To, Cc, Bcc order. Each mail's headers name only its own
    listed recipients and the groups it delivers to; `extra` (the sender's own copy) rides along unlisted."""
    limit = max(1, limit)
    groups = {g.group_id: g for g in recipients.groups}
    everyone = [*recipients.recipients, *(Recipient(a, "bcc", listed=False) for a in extra)]
    batches: list[MailBatch] = []
    for i in range(0, len(everyone), limit):
        chunk = everyone[i : i + limit]
        batches.append(MailBatch(chunk, _headers(chunk, groups, "to"), _headers(chunk, groups, "cc")))
    return batches
