"""The one permission gate for the dialog, preview and send: admin rules, space rules, the user's groups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluence.client import RestClient
from confluence.fanout import map_bounded
from errors import AppError

MEMBEROF_PAGE = 200


@dataclass(frozen=True)
class Rules:
    permission_mode: str  # all | groups
    allowed_group_ids: Sequence[str]
    enforce_in_all_spaces: bool
    space_enabled: bool
    space_group_ids: Sequence[str]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str = ""
    message: str = ""
    group_ids: Sequence[str] = ()  # the groups whose members may send, when that is why the user may not


# A refusal names the groups a sender would have to be in (as far as the sender may see them).
GROUP_REFUSALS = {
    "not_in_allowed_groups": "Your site admin allows only members of these groups to send pages as mail: {groups}.",
    "not_in_space_groups": (
        "The space admin allows only members of these groups to send pages from this space: {groups}."
    ),
}


def user_group_ids(client: RestClient, account_id: str) -> set[str]:
    """The groups of the user, asked as the user."""
    ids: set[str] = set()
    start = 0
    while True:
        data = client.get_json(
            "rest/api/user/memberof", params={"accountId": account_id, "start": start, "limit": MEMBEROF_PAGE}
        )
        results = data.get("results", []) if isinstance(data, dict) else []
        ids.update(str(g["id"]) for g in results if isinstance(g, dict) and g.get("id"))
        if not results or not data.get("_links", {}).get("next"):
            return ids
        start += len(results)


def decide(rules: Rules, groups_of_user: Callable[[], set[str]]) -> Decision:
    """Whether the user may send from this space; the user's groups are fetched only when a rule needs them."""
    if not rules.space_enabled:
        return Decision(False, "space_disabled", "pagemail is turned off in this space.")
    needed: list[tuple[Sequence[str], str, str]] = []
    if rules.permission_mode == "groups":
        needed.append(
            (
                rules.allowed_group_ids,
                "not_in_allowed_groups",
                "Your site admin allows only members of certain groups to send pages as mail.",
            )
        )
    if rules.space_group_ids and not rules.enforce_in_all_spaces:
        needed.append(
            (
                rules.space_group_ids,
                "not_in_space_groups",
                "The space admin allows only members of certain groups to send pages from this space.",
            )
        )
    if not needed:
        return Decision(True)
    groups = groups_of_user()
    for allowed, code, message in needed:
        if not groups.intersection(allowed):
            return Decision(False, code, message, tuple(allowed))
    return Decision(True)


def refusal_details(user_client: RestClient, decision: Decision) -> tuple[str, dict[str, str]]:
    """The refusal's message and details, naming the groups that may send when the user can see their names."""
    template = GROUP_REFUSALS.get(decision.code)
    if template is None or not decision.group_ids:
        return decision.message, {}
    names = sorted({name for name in group_names(user_client, decision.group_ids).values() if name}, key=str.lower)
    if not names:
        return decision.message, {}
    listed = ", ".join(names)
    return template.format(groups=listed), {"groups": listed}


def _has_operation(answer: object, operation: str, target: str) -> bool:
    operations = answer.get("operations") if isinstance(answer, dict) else None
    return any(
        isinstance(op, dict) and op.get("operation") == operation and op.get("targetType") == target
        for op in operations or []
    )


def is_site_admin(user_client: RestClient) -> bool:
    """Asked of Confluence as the user, never taken from the browser."""
    return _has_operation(
        user_client.get_json("rest/api/user/current", params={"expand": "operations"}), "administer", "application"
    )


def is_space_admin(user_client: RestClient, space_key: str) -> bool:
    answer = user_client.get_json(f"rest/api/space/{space_key}", params={"expand": "operations"})
    return _has_operation(answer, "administer", "space")


def group_names(user_client: RestClient, group_ids: Sequence[str]) -> dict[str, str]:
    """Current names of groups stored by id (names change); unknown ids map to nothing."""

    def lookup(group_id: str) -> tuple[str, str]:
        try:
            answer = user_client.get_json("rest/api/group/by-id", params={"id": group_id})
        except AppError:
            return group_id, ""
        return group_id, str(answer.get("name", "")) if isinstance(answer, dict) else ""

    return dict(map_bounded(lookup, list(group_ids), limit=4))
