"""Daily demand forecast: trailing average over in-stock days, weekly seasonality when earned.

The plan starts on Monday 2 March 2026; every window below ends on Sunday 1 March.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from moselle_cin7.planning.forecast import (
    FORECAST_COLUMNS,
    TRAILING_AVERAGE,
    WEEKLY_SEASONAL,
    build_demand_forecast,
)
from moselle_cin7.settings import PlanningSettings

TODAY = date(2026, 3, 2)
A = 1
B = 2
# Monday 20, Saturday 6, every other day 2: 36 a week.
WEEKLY_PATTERN = {0: 20.0, 1: 2.0, 2: 2.0, 3: 2.0, 4: 2.0, 5: 6.0, 6: 2.0}


def _settings(window: int, min_weeks: int = 4, horizon: int = 7) -> PlanningSettings:
    return PlanningSettings(
        horizon_days=horizon, forecast_window_days=window, seasonality_min_weeks=min_weeks
    )


def _days_before_today(first: int, last: int) -> list[date]:
    """The days from ``first`` to ``last`` days before today, both included, oldest first."""
    return [TODAY - timedelta(days=back) for back in range(first, last - 1, -1)]


def _sales(quantities: dict[date, float], sku: str = "MUG", warehouse_id: int = A) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_date": list(quantities),
            "sku": sku,
            "warehouse_id": warehouse_id,
            "quantity": list(quantities.values()),
        }
    )


def _snapshots(
    available: dict[date, float], sku: str = "MUG", warehouse_id: int = A
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "snapshot_date": list(available),
            "sku": sku,
            "warehouse_id": warehouse_id,
            "available": list(available.values()),
        },
        columns=["snapshot_date", "sku", "warehouse_id", "available"],
    )


def _no_snapshots() -> pd.DataFrame:
    return _snapshots({})


def _weekly_pattern_sales(window: int) -> dict[date, float]:
    return {
        sale_day: WEEKLY_PATTERN[sale_day.weekday()] for sale_day in _days_before_today(window, 1)
    }


def test_out_of_stock_days_leave_the_denominator() -> None:
    """10 a day for the 7 in-stock days, then 7 days with nothing available: 10 a day, not 5."""
    in_stock = _days_before_today(14, 8)
    out_of_stock = _days_before_today(7, 1)
    sales = _sales(dict.fromkeys(in_stock, 10.0))
    snapshots = _snapshots({**dict.fromkeys(in_stock, 5.0), **dict.fromkeys(out_of_stock, 0.0)})

    forecast = build_demand_forecast(sales, snapshots, today=TODAY, settings=_settings(14, 2))

    assert forecast["quantity"].tolist() == [10.0] * 7
    # One in-stock day per weekday is short of two full weeks: no seasonality.
    assert set(forecast["method"]) == {TRAILING_AVERAGE}


def test_without_snapshots_every_day_counts_as_in_stock() -> None:
    sales = _sales(dict.fromkeys(_days_before_today(14, 8), 10.0))

    forecast = build_demand_forecast(sales, _no_snapshots(), today=TODAY, settings=_settings(14, 2))

    assert forecast["quantity"].tolist() == [5.0] * 7


def test_a_day_with_sales_counts_in_stock_whatever_the_snapshot_says() -> None:
    """70 units over 7 in-stock days plus 4 sold on a day whose snapshot showed 0: 74 / 8."""
    in_stock = _days_before_today(14, 8)
    out_of_stock = _days_before_today(7, 1)
    sales = _sales({**dict.fromkeys(in_stock, 10.0), out_of_stock[0]: 4.0})
    snapshots = _snapshots(dict.fromkeys(out_of_stock, 0.0))

    forecast = build_demand_forecast(sales, snapshots, today=TODAY, settings=_settings(14, 2))

    assert forecast["quantity"].tolist() == [74 / 8] * 7


def test_weekly_seasonality_with_enough_full_weeks() -> None:
    """Four full weeks of the pattern: each day of the coming week gets its weekday's mean."""
    forecast = build_demand_forecast(
        _sales(_weekly_pattern_sales(28)), _no_snapshots(), today=TODAY, settings=_settings(28, 4)
    )

    # The horizon starts on a Monday.
    assert forecast["quantity"].tolist() == [20.0, 2.0, 2.0, 2.0, 2.0, 6.0, 2.0]
    assert set(forecast["method"]) == {WEEKLY_SEASONAL}


def test_plain_average_when_the_window_holds_too_few_weeks() -> None:
    forecast = build_demand_forecast(
        _sales(_weekly_pattern_sales(28)), _no_snapshots(), today=TODAY, settings=_settings(28, 5)
    )

    assert forecast["quantity"].tolist() == pytest.approx([36 / 7] * 7)
    assert set(forecast["method"]) == {TRAILING_AVERAGE}


def test_a_stockout_that_leaves_a_weekday_short_of_full_weeks_turns_seasonality_off() -> None:
    """Tuesday 10 Feb out of stock: only three in-stock Tuesdays in four weeks.

    The plain average then runs over 27 in-stock days: (4 x 36 - 2) / 27.
    """
    sales = _weekly_pattern_sales(28)
    del sales[date(2026, 2, 10)]
    snapshots = _snapshots({date(2026, 2, 10): 0.0})

    forecast = build_demand_forecast(
        _sales(sales), snapshots, today=TODAY, settings=_settings(28, 4)
    )

    assert forecast["quantity"].tolist() == pytest.approx([142 / 27] * 7)
    assert set(forecast["method"]) == {TRAILING_AVERAGE}


def test_seasonal_weekday_means_skip_out_of_stock_days() -> None:
    """Five weeks, one Tuesday out of stock: Tuesday's mean is 8 / 4, not 8 / 5."""
    sales = _weekly_pattern_sales(35)
    del sales[date(2026, 2, 10)]
    snapshots = _snapshots({date(2026, 2, 10): 0.0})

    forecast = build_demand_forecast(
        _sales(sales), snapshots, today=TODAY, settings=_settings(35, 4)
    )

    assert forecast["quantity"].tolist() == [20.0, 2.0, 2.0, 2.0, 2.0, 6.0, 2.0]
    assert set(forecast["method"]) == {WEEKLY_SEASONAL}


def test_only_window_sales_of_placeable_lines_make_demand() -> None:
    """Window [16 Feb, 2 Mar), too short for seasonality with three weeks required.

    A sale today or before 16 Feb does not count, a line without SKU or warehouse cannot be
    placed, and a pair whose window sums to nothing gets no rows.
    """
    sales = pd.concat(
        [
            _sales({date(2026, 2, 16): 7.0, date(2026, 3, 1): 7.0}, "MUG", A),
            _sales({date(2026, 2, 20): 28.0}, "MUG", B),
            _sales({TODAY: 100.0, date(2026, 2, 15): 100.0}, "MUG", A),
            _sales({date(2026, 2, 20): 100.0}, None, A),
            _sales({date(2026, 2, 20): 100.0}, "MUG", None),
            _sales({date(2026, 2, 20): 3.0, date(2026, 2, 21): -3.0}, "TEA", A),
        ],
        ignore_index=True,
    )

    forecast = build_demand_forecast(
        sales, _no_snapshots(), today=TODAY, settings=_settings(14, 3, horizon=3)
    )

    assert list(forecast.columns) == FORECAST_COLUMNS
    assert forecast[["sku", "warehouse_id", "forecast_date", "quantity"]].values.tolist() == [
        ["MUG", A, pd.Timestamp("2026-03-02"), 1.0],
        ["MUG", A, pd.Timestamp("2026-03-03"), 1.0],
        ["MUG", A, pd.Timestamp("2026-03-04"), 1.0],
        ["MUG", B, pd.Timestamp("2026-03-02"), 2.0],
        ["MUG", B, pd.Timestamp("2026-03-03"), 2.0],
        ["MUG", B, pd.Timestamp("2026-03-04"), 2.0],
    ]


def test_the_window_starts_no_earlier_than_the_sales_history() -> None:
    """History from 23 Feb: 3 a day over its 7 days, not 21 over the 28-day window."""
    sales = _sales(dict.fromkeys(_days_before_today(7, 1), 3.0))

    forecast = build_demand_forecast(
        sales,
        _no_snapshots(),
        today=TODAY,
        settings=_settings(28, 4),
        history_start=date(2026, 2, 23),
    )

    assert forecast["quantity"].tolist() == [3.0] * 7


def test_no_sales_gives_an_empty_forecast_with_its_columns() -> None:
    forecast = build_demand_forecast(
        _sales({}), _no_snapshots(), today=TODAY, settings=_settings(14, 2)
    )

    assert forecast.empty
    assert list(forecast.columns) == FORECAST_COLUMNS
