"""Which recipients can open the page in Confluence: a read-permission check per recipient, asked as the app.

Only counts leave this module: the sender learns how many recipients can't open the page, never who (a restricted
page's audience is itself something Confluence may not show them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from confluence.client import RestClient
from confluence.fanout import map_bounded

# Checks of one action in flight at once, and the most one action makes (a send is capped well below this).
CHECK_CONCURRENCY = 8
MAX_CHECKS = 1000


@dataclass(frozen=True)
class ViewCheck:
    checked: int
    cannot_view: int
    not_checked: int  # beyond MAX_CHECKS


def can_view(app_client: RestClient, content_id: str, account_id: str) -> bool:
    answer = app_client.post_json(
        f"rest/api/content/{content_id}/permission/check",
        {"subject": {"type": "user", "identifier": account_id}, "operation": "read"},
        idempotent=True,  # a check changes nothing, so it may be retried
    )
    return isinstance(answer, dict) and answer.get("hasPermission") is True


def check_viewers(app_client: RestClient, content_id: str, account_ids: Sequence[str]) -> ViewCheck:
    """How many of these Confluence users may read the page (each checked once)."""
    unique = list(dict.fromkeys(account_ids))
    checked = unique[:MAX_CHECKS]
    answers = map_bounded(lambda a: can_view(app_client, content_id, a), checked, limit=CHECK_CONCURRENCY)
    return ViewCheck(len(checked), sum(1 for ok in answers if not ok), len(unique) - len(checked))
