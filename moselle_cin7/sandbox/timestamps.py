"""Timestamps as the sandbox stores, writes and compares them.

Instants are kept as integer *ticks*: 100-nanosecond steps since 1970-01-01T00:00:00Z, the
resolution of the seven fractional digits Cin7 sometimes sends. Text is written in one of several
forms (``...Z``, a local ``+13:00``/``+12:00`` offset, no zone at all; 0, 5, 6 or 7 fractional
digits) and every form parses back to the very same tick, so a ``where`` on a date compares the
instant a client would read, whatever the text looks like.

The parser here is deliberately separate from the pipeline's own: a shared bug would hide itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

TICKS_PER_SECOND = 10_000_000
TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_TEXT = re.compile(
    r"^\s*(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?)?"
    r"\s*(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?\s*$"
)


class TimestampError(ValueError):
    """Text that is not a timestamp in any form Cin7 uses."""


@dataclass(frozen=True)
class TimestampForm:
    """One way of writing an instant: in UTC with ``Z``, with the account's local offset, or with
    no zone at all (meaning UTC), and with 0, 5, 6 or 7 fractional digits."""

    zone: Literal["utc", "local", "none"]
    digits: int

    def quantize(self, ticks: int) -> int:
        """The instant rounded down to what this form can write exactly."""
        step = 10 ** (7 - self.digits)
        return ticks - ticks % step

    def format(self, ticks: int, timezone: ZoneInfo) -> str:
        """Write ``ticks`` in this form; a zero fraction is left out, as .NET serialisers do."""
        seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
        moment = _EPOCH + timedelta(seconds=seconds)
        suffix = "Z" if self.zone == "utc" else ""
        if self.zone == "local":
            moment = moment.astimezone(timezone)
            suffix = _offset_text(moment.utcoffset() or timedelta(0))
        text = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        )
        if fraction:
            # A form without digits never meets a fraction once quantized; keep it exact anyway.
            text += "." + f"{fraction:07d}"[: self.digits or 7]
        return text + suffix


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


# Names a ProfileSpec can list. "Z" alone means no fraction; "offset" writes the account's local
# offset (which moves between +13:00 and +12:00 in New Zealand); "naive" writes no zone (UTC).
TIMESTAMP_FORMS: dict[str, TimestampForm] = {
    "Z": TimestampForm("utc", 0),
    "Z5": TimestampForm("utc", 5),
    "Z6": TimestampForm("utc", 6),
    "Z7": TimestampForm("utc", 7),
    "offset": TimestampForm("local", 0),
    "offset5": TimestampForm("local", 5),
    "offset6": TimestampForm("local", 6),
    "offset7": TimestampForm("local", 7),
    "naive": TimestampForm("none", 0),
    "naive7": TimestampForm("none", 7),
}


def parse_ticks(text: str) -> int:
    """Parse any timestamp form to ticks (UTC). A missing zone means UTC; a bare date, midnight UTC.

    Raises:
        TimestampError: ``text`` is not a timestamp.
    """
    match = _TEXT.match(text)
    if match is None:
        raise TimestampError(f"not a date/time: {text!r}")
    try:
        day = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError as error:
        raise TimestampError(f"not a date/time: {text!r} ({error})") from None
    hour, minute = int(match["hour"] or 0), int(match["minute"] or 0)
    second = int(match["second"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimestampError(f"not a date/time: {text!r}")
    fraction = int((match["fraction"] or "").ljust(7, "0")[:7])
    offset_seconds = 0
    zone = match["zone"]
    if zone and zone not in "Zz":
        digits = zone.replace(":", "")
        offset_seconds = int(digits[1:3]) * 3600 + int(digits[3:5]) * 60
        if digits[0] == "-":
            offset_seconds = -offset_seconds
    seconds = (day - _EPOCH.date()).days * 86_400 + hour * 3600 + minute * 60 + second
    return (seconds - offset_seconds) * TICKS_PER_SECOND + fraction


@lru_cache(maxsize=1 << 18)
def cached_ticks(text: str) -> int | None:
    """``parse_ticks`` for stored values, remembered; ``None`` when the value is not a date."""
    try:
        return parse_ticks(text)
    except TimestampError:
        return None


def ticks_to_datetime(ticks: int) -> datetime:
    """An aware UTC datetime (microsecond precision) for ``ticks``."""
    return _EPOCH + timedelta(microseconds=ticks // 10)


def datetime_to_ticks(moment: datetime) -> int:
    """Ticks of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give it a time zone")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10


class LocalClock:
    """Turns wall-clock times typed in the account's zone into ticks, quickly.

    Offsets are looked up once per local hour, so daylight-saving changes land on the right hour
    (a time that does not exist locally, in the spring-forward gap, takes the offset in force
    before the change, as ``zoneinfo`` does).
    """

    def __init__(self, timezone: ZoneInfo) -> None:
        self.timezone = timezone
        self._offsets: dict[tuple[int, int], int] = {}

    def ticks(self, day: date, seconds_of_day: int) -> int:
        hour = min(seconds_of_day // 3600, 23)
        key = (day.toordinal(), hour)
        offset = self._offsets.get(key)
        if offset is None:
            wall = datetime(day.year, day.month, day.day, hour, tzinfo=self.timezone)
            offset = int((wall.utcoffset() or timedelta(0)).total_seconds())
            self._offsets[key] = offset
        seconds = (day - _EPOCH.date()).days * 86_400 + seconds_of_day - offset
        return seconds * TICKS_PER_SECOND

    def local_day(self, ticks: int) -> date:
        return ticks_to_datetime(ticks).astimezone(self.timezone).date()
