"""The one daily partitioning shared by every Cin7 entity.

A partition is one calendar day in the account's time zone, the day on which Cin7 users typed the
business date. With ``end_offset=0`` the newest partition is the last *complete* day, so no run ever
loads a day that is still going on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dagster import DailyPartitionsDefinition, TimeWindow

from moselle_cin7.settings import Settings, load_settings


def build_daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(
        start_date=settings.history_start.isoformat(),
        timezone=settings.account_timezone,
        end_offset=0,
    )


# Every partitioned asset must share this one object: different definitions would split
# single-run backfills into chunks.
daily_partitions = build_daily_partitions(load_settings())


def window_days(window: TimeWindow) -> tuple[date, date]:
    """The half-open range of account-local days ``[first, end)`` that a partition window covers."""
    return window.start.date(), window.end.date()


def last_complete_day(now: datetime, settings: Settings) -> date:
    """The newest day that has ended in the account's time zone at ``now``."""
    return now.astimezone(settings.timezone).date() - timedelta(days=1)
