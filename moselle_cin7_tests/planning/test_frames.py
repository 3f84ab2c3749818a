"""Day handling shared by the planning computations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from moselle_cin7.planning.frames import PlanningInputError, as_days, canonical_status


def test_dates_strings_and_datetime64_all_become_midnight_days() -> None:
    days = as_days(pd.Series([date(2026, 3, 2), "2026-03-03", None]), "order_date")

    assert days.dtype == "datetime64[s]"
    assert days.tolist()[:2] == [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-03")]
    assert pd.isna(days.iloc[2])


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([datetime(2026, 3, 2, 11, 0, tzinfo=UTC)]),
        pd.Series(pd.to_datetime(["2026-03-02T11:00:00Z"])),
        pd.Series(["2026-03-02 11:00"]),
    ],
    ids=["aware datetime", "zoned datetime64", "time of day"],
)
def test_instants_are_refused_where_a_day_is_expected(values: pd.Series) -> None:
    with pytest.raises(PlanningInputError, match="order_date"):
        as_days(values, "order_date")


def test_statuses_take_moselle_spelling() -> None:
    statuses = canonical_status(pd.Series(["draft", " ACTIVE", "Delivered", "archived", "Void"]))

    assert statuses.tolist()[:4] == ["Draft", "Active", "Delivered", "Archived"]
    assert pd.isna(statuses.iloc[4])
