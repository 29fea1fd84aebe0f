"""Which archives a retention policy keeps: the newest of each of the last N days and of the last M ISO weeks.

"Last N days" counts days that have an archive (as restic and borg do), so a pause in backups never
makes prune delete everything: the newest archive is always kept while N or M is at least 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable


def _newest_per_period(
    archives: list[tuple[str, dt.datetime]], count: int, period: Callable[[dt.datetime], Hashable]
) -> set[str]:
    kept: set[str] = set()
    seen: set[Hashable] = set()
    for name, created in archives:  # newest first
        if len(seen) >= count:
            break
        key = period(created)
        if key not in seen:
            seen.add(key)
            kept.add(name)
    return kept


def archives_to_keep(archives: Iterable[tuple[str, dt.datetime]], *, daily: int, weekly: int) -> set[str]:
    """Names to keep, from (name, creation time) pairs; days and weeks are counted in UTC."""
    if daily < 0 or weekly < 0:
        raise ValueError("daily and weekly must not be negative")
    newest_first = sorted(archives, key=lambda item: (item[1], item[0]), reverse=True)
    in_utc = [(name, created.astimezone(dt.UTC)) for name, created in newest_first]
    by_day = _newest_per_period(in_utc, daily, lambda created: created.date())
    by_week = _newest_per_period(in_utc, weekly, lambda created: created.isocalendar()[:2])
    return by_day | by_week
