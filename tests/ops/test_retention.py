"""What prune keeps: newest per day and per ISO week, counted over days and weeks that have archives."""

from __future__ import annotations

import datetime as dt

import pytest

from models.backup.retention import archives_to_keep


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _keep(times: list[str], daily: int, weekly: int) -> set[str]:
    return archives_to_keep([(t, _at(t)) for t in times], daily=daily, weekly=weekly)


def test_newest_of_each_day() -> None:
    times = [
        "2025-03-10T09:00",
        "2025-03-10T21:00",
        "2025-03-09T23:59",
        "2025-03-09T00:00",
        "2025-03-08T12:00",
    ]
    assert _keep(times, daily=2, weekly=0) == {"2025-03-10T21:00", "2025-03-09T23:59"}


def test_days_without_archives_do_not_count() -> None:
    # A month without backups: the last two days that HAVE archives are kept, not nothing.
    times = ["2025-01-01T10:00", "2025-01-02T10:00", "2024-11-20T10:00"]
    assert _keep(times, daily=2, weekly=0) == {"2025-01-02T10:00", "2025-01-01T10:00"}
    assert _keep(times, daily=1, weekly=0) == {"2025-01-02T10:00"}


def test_iso_weeks_cross_the_year_boundary() -> None:
    # 2024-12-30 (Monday) and 2025-01-05 (Sunday) are both in ISO week 1 of 2025.
    times = ["2024-12-29T10:00", "2024-12-30T10:00", "2025-01-05T10:00", "2025-01-06T10:00"]
    assert _keep(times, daily=0, weekly=2) == {"2025-01-06T10:00", "2025-01-05T10:00"}
    assert _keep(times, daily=0, weekly=3) == {"2025-01-06T10:00", "2025-01-05T10:00", "2024-12-29T10:00"}


def test_daily_and_weekly_add_up() -> None:
    times = ["2025-03-10T10:00", "2025-03-03T10:00", "2025-03-02T10:00", "2025-02-24T10:00"]
    assert _keep(times, daily=1, weekly=3) == {"2025-03-10T10:00", "2025-03-03T10:00", "2025-03-02T10:00"}


def test_times_are_grouped_in_utc() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    early = dt.datetime(2025, 3, 10, 0, 30, tzinfo=berlin)  # 2025-03-09 23:30 UTC
    late = dt.datetime(2025, 3, 9, 22, 0, tzinfo=dt.UTC)
    assert archives_to_keep([("early", early), ("late", late)], daily=1, weekly=0) == {"early"}


def test_no_archives_and_negative_counts() -> None:
    assert archives_to_keep([], daily=7, weekly=4) == set()
    with pytest.raises(ValueError):
        archives_to_keep([], daily=-1, weekly=0)
