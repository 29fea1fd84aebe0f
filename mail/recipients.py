"""Who a mail goes to: picked users, expanded groups and external addresses, resolved to addresses.

Users' addresses are looked up as the app (ACCESS_EMAIL_ADDRESSES) and only for users the sender picked or who are
members of a group the sender picked; group members are listed as the user. Addresses are never stored or logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from connect.confluence import ConfluenceClient
from connect.fanout import map_bounded
from errors import ValidationError

Field = Literal["to", "cc", "bcc"]
FIELDS: tuple[Field, ...] = ("to", "cc", "bcc")
EMAIL_BULK_BATCH = 50
MEMBERS_PAGE = 200
MAX_GROUP_MEMBERS = 5000


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


@dataclass
class ResolvedRecipients:
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.to) + len(self.cc) + len(self.bcc)


@dataclass(frozen=True)
class RecipientRules:
    allow_external: bool
    allowed_domains: Sequence[str]


def parse_picks(body: dict[str, Any], name: Field, limit: int) -> list[Pick]:
    raw = body.get(name, [])
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > limit:
        raise ValidationError(f"'{name}' must be a list of at most {limit} recipients", details={"field": name})
    picks: list[Pick] = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise ValidationError(
                f"Each recipient in '{name}' needs exactly one of accountId, groupId or email", details={"field": name}
            )
        ((key, value),) = item.items()
        kind = {"accountId": "user", "groupId": "group", "email": "email"}.get(key)
        if kind is None or not isinstance(value, str) or not value.strip() or len(value) > 320:
            raise ValidationError(f"Invalid recipient in '{name}'", details={"field": name})
        if any(c in value for c in "\r\n\0"):
            raise ValidationError(f"Invalid recipient in '{name}'", details={"field": name})
        picks.append(Pick(kind, value.strip()))  # type: ignore[arg-type]
    return picks


def normalise_external(address: str, rules: RecipientRules) -> str:
    """Validate an external address and apply the admin's rules; answer its normalised form."""
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(
            f"'{address}' is not a valid email address: {exc}",
            code="invalid_email",
            details={"field": "recipients", "email": address},
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
            details={"field": "recipients", "email": address},
        )
    return checked.normalized


def group_member_ids(user_client: ConfluenceClient, group_id: str) -> list[tuple[str, str]]:
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
                details={"field": "recipients", "groupId": group_id},
            )
        if not results or not (isinstance(page, dict) and page.get("_links", {}).get("next")):
            return members
        start += len(results)


def emails_for(app_client: ConfluenceClient, account_ids: Iterable[str]) -> dict[str, str]:
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


def resolve(
    picks: dict[Field, list[Pick]],
    *,
    user_client: ConfluenceClient,
    app_client: ConfluenceClient,
    rules: RecipientRules,
    names: dict[str, str] | None = None,
) -> ResolvedRecipients:
    """Expand groups, look up emails, validate externals, remove duplicates (To beats Cc beats Bcc)."""
    names = dict(names or {})
    wanted: dict[Field, list[tuple[str, str]]] = {f: [] for f in FIELDS}  # (kind, value) in order
    groups = {p.value for f in FIELDS for p in picks.get(f, []) if p.kind == "group"}
    members = dict(
        zip(groups, map_bounded(lambda g: group_member_ids(user_client, g), list(groups), limit=4), strict=True)
    )
    for field_name in FIELDS:
        for pick in picks.get(field_name, []):
            if pick.kind == "user":
                wanted[field_name].append(("user", pick.value))
            elif pick.kind == "group":
                for account_id, display_name in members[pick.value]:
                    names.setdefault(account_id, display_name)
                    wanted[field_name].append(("user", account_id))
            else:
                wanted[field_name].append(("email", normalise_external(pick.value, rules)))
    account_ids = [value for f in FIELDS for kind, value in wanted[f] if kind == "user"]
    emails = emails_for(app_client, account_ids) if account_ids else {}
    result = ResolvedRecipients()
    seen: set[str] = set()
    skipped: dict[str, Skipped] = {}
    for field_name in FIELDS:
        for kind, value in wanted[field_name]:
            address = emails.get(value) if kind == "user" else value
            if address is None:
                skipped.setdefault(value, Skipped(value, names.get(value, ""), "no_email"))
                continue
            key = address.lower()
            if key in seen:
                continue
            seen.add(key)
            getattr(result, field_name).append(address)
    result.skipped = list(skipped.values())
    return result


@dataclass(frozen=True)
class MailBatch:
    to: list[str]
    cc: list[str]
    bcc: list[str]

    @property
    def envelope(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


def split_batches(recipients: ResolvedRecipients, limit: int) -> list[MailBatch]:
    """Mails of at most `limit` recipients each. Bcc addresses are only ever envelope recipients, never headers."""
    limit = max(1, limit)
    visible = [("to", a) for a in recipients.to] + [("cc", a) for a in recipients.cc]
    batches: list[MailBatch] = []
    for i in range(0, len(visible), limit):
        chunk = visible[i : i + limit]
        batches.append(MailBatch([a for f, a in chunk if f == "to"], [a for f, a in chunk if f == "cc"], []))
    bcc = list(recipients.bcc)
    if batches:
        room = limit - len(batches[-1].envelope)
        batches[-1] = MailBatch(batches[-1].to, batches[-1].cc, bcc[:room])
        bcc = bcc[room:]
    for i in range(0, len(bcc), limit):
        batches.append(MailBatch([], [], bcc[i : i + limit]))
    return batches
