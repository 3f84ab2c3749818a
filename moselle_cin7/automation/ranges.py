"""Which days a sync covers: the rolling lookback window, clamped, never a partial day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from moselle_cin7.ingestion.partitions import last_complete_day
from moselle_cin7.settings import Settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class DayRange:
    """An inclusive range of partition days ``[first, last]`` in the account's time zone."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(
                f"a day range cannot end ({self.last}) before it starts ({self.first})"
            )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def tags(self) -> dict[str, str]:
        return {RANGE_START_TAG: self.first.isoformat(), RANGE_END_TAG: self.last.isoformat()}

    def chunks(self, chunk_days: int) -> list[DayRange]:
        """Consecutive ranges of at most ``chunk_days`` days covering this one."""
        pieces = []
        first = self.first
        while first <= self.last:
            last = min(first + timedelta(days=chunk_days - 1), self.last)
            pieces.append(DayRange(first, last))
            first = last + timedelta(days=1)
        return pieces

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    def partition_keys(self) -> list[str]:
        """Every day of the range as a partition key (``YYYY-MM-DD``), oldest first."""
        return [(self.first + timedelta(days=n)).isoformat() for n in range(self.days)]

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> DayRange | None:
        """The range named by a run's range tags, or ``None`` when it has none."""
        if RANGE_START_TAG not in tags or RANGE_END_TAG not in tags:
            return None
        return cls(
            date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
        )

    @classmethod
    def parse(cls, text: str) -> DayRange:
        """``YYYY-MM-DD...YYYY-MM-DD``, the form ``str()`` writes."""
        first, _, last = text.partition("...")
        return cls(date.fromisoformat(first), date.fromisoformat(last or first))

    def __str__(self) -> str:
        return f"{self.first}...{self.last}"


def group_days(days: Iterable[date]) -> list[DayRange]:
    """Contiguous runs of ``days`` as inclusive ranges, oldest first (duplicates ignored)."""
    ranges: list[DayRange] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1].last + timedelta(days=1):
            ranges[-1] = DayRange(ranges[-1].first, day)
        else:
            ranges.append(DayRange(day, day))
    return ranges


class EmptyRange(ValueError):
    """A requested range holds no complete day at or after the history start."""


def clamp_range(first: date, last: date, now: datetime, settings: Settings) -> DayRange:
    """``[first, last]`` cut to ``[history_start, last complete day]``.

    Dagster does not validate range tags: a start before the partitions' start fails only at run
    time, and an end on today's unfinished day would silently load a partial day.
    """
    newest = last_complete_day(now, settings)
    first = max(first, settings.history_start)
    last = min(last, newest)
    if first > last:
        raise EmptyRange(
            f"no complete day between {first} and {last} "
            f"(history starts {settings.history_start}, newest complete day is {newest})"
        )
    return DayRange(first, last)


def lookback_range(now: datetime, settings: Settings) -> DayRange:
    """The last ``lookback_days`` complete days at ``now``, clamped to the history start."""
    newest = last_complete_day(now, settings)
    return clamp_range(newest - timedelta(days=settings.lookback_days - 1), newest, now, settings)


def full_history_range(now: datetime, settings: Settings) -> DayRange:
    return clamp_range(settings.history_start, last_complete_day(now, settings), now, settings)
