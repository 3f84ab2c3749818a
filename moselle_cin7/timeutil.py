"""Cin7 timestamps and the account's business days.

Cin7 Omni is said to answer in UTC (``...Z``) but its own samples carry offsets and five to seven
fractional digits (``2024-03-20T13:30:44.518448+13:00``), and some values have no zone at all. Every
form is parsed here, to an aware UTC datetime, so no other module guesses.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


class Cin7DateError(ValueError):
    """A Cin7 date string that cannot be read."""


def parse_cin7_datetime(value: str | None) -> datetime | None:
    """Parse any Cin7 date form to an aware UTC datetime; ``None`` and ``""`` give ``None``.

    A value with no zone is taken as UTC, which is what Cin7 documents for its API.
    Raises:
        Cin7DateError: the text is not a date at all.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    match = _TIMESTAMP.match(text)
    if match is None:
        raise Cin7DateError(f"unparseable Cin7 date {text!r}")
    clock = match["time"] or "00:00:00"
    if clock.count(":") == 1:
        clock += ":00"
    # Python takes at most six fractional digits; Cin7 sends up to seven.
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    zone = match["zone"] or "Z"
    if zone.upper() == "Z":
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{clock}.{fraction}{zone}")
    except ValueError as error:
        raise Cin7DateError(f"unparseable Cin7 date {text!r}: {error}") from None
    return parsed.astimezone(UTC)


def format_cin7_filter(moment: datetime) -> str:
    """A UTC ``yyyy-MM-ddTHH:mm:ssZ`` literal for a ``where`` filter (Cin7 wants no fraction)."""
    if moment.tzinfo is None:
        raise ValueError("filter timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def business_day(moment: datetime, timezone: ZoneInfo) -> date:
    """The account-local calendar day on which an instant falls."""
    return moment.astimezone(timezone).date()


def day_start_utc(day: date, timezone: ZoneInfo) -> datetime:
    """The UTC instant at which the account-local ``day`` begins (DST-correct)."""
    return datetime(day.year, day.month, day.day, tzinfo=timezone).astimezone(UTC)


def days_window_utc(
    first_day: date, end_day: date, timezone: ZoneInfo
) -> tuple[datetime, datetime]:
    """UTC bounds of the half-open local-day range ``[first_day, end_day)``."""
    return day_start_utc(first_day, timezone), day_start_utc(end_day, timezone)


def iter_days(first_day: date, end_day: date) -> list[date]:
    """Every day of the half-open range ``[first_day, end_day)``."""
    return [first_day + timedelta(days=n) for n in range((end_day - first_day).days)]


def utc_now() -> datetime:
    return datetime.now(UTC)
