"""Input checks and calendar-day handling shared by the planning computations.

Every day column that goes into or out of planning holds an account-local calendar day. Inside
planning (and in the frames it returns) a day is a ``datetime64[s]`` value at midnight with no time
zone: it names a day on the account's calendar, it is not an instant. Inputs may carry days as
``datetime.date`` objects (what SQLAlchemy reads from a ``Date`` column), ISO strings or
``datetime64`` values; anything with a time zone or a time of day is refused, because it means an
instant slipped through where a business day was expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import numpy as np
import pandas as pd

DAY_DTYPE = "datetime64[s]"

# Moselle's order states, as the mapping writes them. Compared without regard to case or spaces
# because Cin7 itself is loose about both and a hand-edited fixture should not fail silently.
DRAFT = "Draft"
ACTIVE = "Active"
DELIVERED = "Delivered"
ARCHIVED = "Archived"
OPEN_STATUSES = (DRAFT, ACTIVE)
CLOSED_STATUSES = (DELIVERED, ARCHIVED)
_CANONICAL_STATUS = {name.casefold(): name for name in (*OPEN_STATUSES, *CLOSED_STATUSES)}


class PlanningInputError(ValueError):
    """A planning input lacks a column or holds a value that cannot be a day."""


def require_columns(frame: pd.DataFrame, columns: Iterable[str], frame_name: str) -> None:
    """Raise `PlanningInputError` naming every column of ``columns`` that ``frame`` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PlanningInputError(f"{frame_name} lacks the column(s) {', '.join(missing)}")


def as_days(values: pd.Series, column: str) -> pd.Series:
    """``values`` as account-local days (``datetime64[s]`` at midnight); nulls stay ``NaT``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        raise PlanningInputError(f"{column} holds zoned instants; planning expects calendar days")
    try:
        days = pd.to_datetime(values, errors="raise")
    except (TypeError, ValueError) as error:
        raise PlanningInputError(f"{column} holds a value that is not a day: {error}") from None
    if isinstance(days.dtype, pd.DatetimeTZDtype):
        raise PlanningInputError(f"{column} holds zoned instants; planning expects calendar days")
    known_days = days.dropna()
    if (known_days != known_days.dt.normalize()).any():
        raise PlanningInputError(f"{column} holds a time of day; planning expects calendar days")
    return days.astype(DAY_DTYPE)


def as_day(today: date) -> pd.Timestamp:
    """The planning day ``today`` as a midnight ``Timestamp``; a ``datetime`` is refused."""
    # A datetime is a date subclass: without this check a UTC instant would silently become a day.
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError(f"today must be a datetime.date (an account-local day), not {today!r}")
    return pd.Timestamp(today).as_unit("s")


def horizon_days(today: pd.Timestamp, days: int) -> pd.DatetimeIndex:
    """The ``days`` planning days of the half-open range ``[today, today + days)``."""
    return pd.date_range(today, periods=days, freq="D").astype(DAY_DTYPE)


def canonical_status(statuses: pd.Series) -> pd.Series:
    """Statuses spelled as Moselle spells them (``Draft``...); an unknown one becomes ``NaN``."""
    return statuses.astype("string").str.strip().str.casefold().map(_CANONICAL_STATUS)


def day_offsets(days: pd.Series, first_day: pd.Timestamp) -> np.ndarray:
    """Whole days from ``first_day`` to each of ``days`` (int64; ``days`` must hold no ``NaT``)."""
    return ((days - first_day) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
