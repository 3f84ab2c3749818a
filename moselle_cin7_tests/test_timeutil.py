"""Cin7 timestamps in every form they arrive in, and account-local business days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from moselle_cin7.timeutil import (
    Cin7DateError,
    business_day,
    days_window_utc,
    format_cin7_filter,
    parse_cin7_datetime,
)

AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-20T00:30:44Z", datetime(2024, 3, 20, 0, 30, 44, tzinfo=UTC)),
        # Cin7's own sample: an offset and six fractional digits.
        ("2024-03-20T13:30:44.518448+13:00", datetime(2024, 3, 20, 0, 30, 44, 518448, tzinfo=UTC)),
        # Seven digits are cut to Python's six, not rounded into the next second.
        ("2024-03-20T13:30:44.9999999+13:00", datetime(2024, 3, 20, 0, 30, 44, 999999, tzinfo=UTC)),
        ("2024-03-20T13:30:44.51844Z", datetime(2024, 3, 20, 13, 30, 44, 518440, tzinfo=UTC)),
        ("2024-03-20T13:30:44", datetime(2024, 3, 20, 13, 30, 44, tzinfo=UTC)),
        ("2024-03-20 13:30", datetime(2024, 3, 20, 13, 30, tzinfo=UTC)),
        ("2024-03-20T13:30:44-0500", datetime(2024, 3, 20, 18, 30, 44, tzinfo=UTC)),
        ("2024-03-20", datetime(2024, 3, 20, tzinfo=UTC)),
        (" 2024-03-20T01:00:00z ", datetime(2024, 3, 20, 1, tzinfo=UTC)),
    ],
)
def test_parses_every_cin7_form(text, expected):
    assert parse_cin7_datetime(text) == expected


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_is_none(empty):
    assert parse_cin7_datetime(empty) is None


@pytest.mark.parametrize(
    "bad", ["yesterday", "2024-13-45T00:00:00Z", "20/03/2024", "2024-03-20T25:00"]
)
def test_garbage_is_a_clear_error(bad):
    with pytest.raises(Cin7DateError, match="unparseable Cin7 date"):
        parse_cin7_datetime(bad)


def test_business_day_is_the_account_local_day():
    # 11:30 UTC on 30 November is 00:30 on 1 December in Auckland (NZDT, +13).
    assert business_day(datetime(2026, 11, 30, 11, 30, tzinfo=UTC), AUCKLAND) == date(2026, 12, 1)
    assert business_day(datetime(2026, 11, 30, 10, 59, tzinfo=UTC), AUCKLAND) == date(2026, 11, 30)


def test_window_bounds_follow_daylight_saving():
    # New Zealand's clocks went back on 5 April 2026: that local day lasted 25 hours.
    start, end = days_window_utc(date(2026, 4, 5), date(2026, 4, 6), AUCKLAND)
    assert start == datetime(2026, 4, 4, 11, 0, tzinfo=UTC)
    assert end == datetime(2026, 4, 5, 12, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 25 * 3600


def test_filter_literal_has_no_fraction_and_a_z():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=AUCKLAND)
    assert format_cin7_filter(moment) == "2026-01-01T14:04:05Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_cin7_filter(datetime(2026, 1, 2))
