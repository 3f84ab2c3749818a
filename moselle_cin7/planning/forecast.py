"""Daily demand forecast per SKU and warehouse, from dispatched sales.

Method, for each SKU at each warehouse:

1. The window is the ``forecast_window_days`` account-local days before the plan starts: the
   half-open range ``[today - forecast_window_days, today)``, cut to start no earlier than
   ``history_start`` when that is given (days before the sales history begins say nothing).
2. Days on which the SKU had nothing to sell there do not count: a day whose inventory snapshot has
   ``available <= 0`` is left out of the denominator instead of being counted as a day of zero
   demand, so a SKU that sold 10 a day while it was in stock forecasts 10, not 10 times the share of
   days it was in stock. A day that nonetheless has dispatched sales is kept: the sales prove there
   was stock (Cin7's ``available`` also nets off orders that are reserved but not yet dispatched).
3. A day with no snapshot counts as in stock. Snapshots exist only from the day the daily sync
   started, and on days a sync ran, while the sales history reaches further back; reading a missing
   snapshot as a stockout would divide the window's sales by the few days that have snapshots and
   overstate demand badly. Counting it in stock errs the other way only as far as a plain average
   does.
4. Without seasonality the daily rate is the trailing average: dispatched quantity in the window
   divided by the in-stock days.
5. Weekly seasonality is used when every day of the week was in stock on at least
   ``seasonality_min_weeks`` days of the window (that many full weeks of in-stock history). A
   day's rate is then the mean of its weekday over that weekday's in-stock days: a Monday gets
   the average of the in-stock Mondays. Averaging per weekday also keeps a stockout on a quiet
   weekday from raising the week's total, which dividing the total by the in-stock days would do.

The forecast is flat over the horizon ``[today, today + horizon_days)`` apart from the weekday
pattern. Only SKU-warehouse pairs with positive demand get rows.
"""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd

from moselle_cin7.planning.frames import (
    DAY_DTYPE,
    as_day,
    as_days,
    horizon_days,
    require_columns,
)
from moselle_cin7.settings import PlanningSettings

logger = logging.getLogger(__name__)

TRAILING_AVERAGE = "trailing_average"
WEEKLY_SEASONAL = "weekly_seasonal"

FORECAST_COLUMNS = ["sku", "warehouse_id", "forecast_date", "quantity", "method"]
SALES_ORDER_LINE_COLUMNS = ("order_date", "sku", "warehouse_id", "quantity")
INVENTORY_COLUMNS = ("snapshot_date", "sku", "warehouse_id", "available")

_PAIR = ["sku", "warehouse_id"]
_DAYS_IN_WEEK = 7


def build_demand_forecast(
    sales_order_lines: pd.DataFrame,
    inventory: pd.DataFrame,
    *,
    today: date,
    settings: PlanningSettings,
    history_start: date | None = None,
) -> pd.DataFrame:
    """The forecast daily demand of every SKU at every warehouse over the planning horizon.

    Args:
        sales_order_lines: dispatched sales lines (``order_date`` is the account-local day).
        inventory: stock snapshots; only days inside the window matter.
        today: the first forecast day; the window ends the day before.
        settings: window length, horizon length and the seasonality threshold.
        history_start: the first day of the sales history, if the window may reach before it.

    Returns:
        ``FORECAST_COLUMNS``: one row per pair with demand and day of ``[today, today +
        horizon_days)``, sorted by SKU, warehouse and day; ``method`` is ``trailing_average`` or
        ``weekly_seasonal``.
    """
    require_columns(sales_order_lines, SALES_ORDER_LINE_COLUMNS, "sales_order_lines")
    require_columns(inventory, INVENTORY_COLUMNS, "inventory")
    today_day = as_day(today)
    window_start = today_day - pd.Timedelta(days=settings.forecast_window_days)
    if history_start is not None:
        window_start = max(window_start, as_day(history_start))
    if window_start >= today_day:
        return _empty_forecast()

    daily_sales = _daily_sales(sales_order_lines, window_start, today_day)
    grouped = daily_sales.groupby(_PAIR, sort=True)
    pair_of_sale = grouped.ngroup().to_numpy()
    pairs = grouped.size().index.to_frame(index=False)
    pairs["pair"] = np.arange(len(pairs))
    pair_count = len(pairs)

    # Every per-pair quantity below is a (pair x weekday) matrix, Monday = column 0.
    sales_by_weekday = _per_pair_weekday(
        pair_of_sale, daily_sales["day"], pair_count, daily_sales["quantity"].to_numpy()
    )
    stockout_days = _stockout_days(inventory, daily_sales, pairs, window_start, today_day)
    stockouts_by_weekday = _per_pair_weekday(
        stockout_days["pair"].to_numpy(), stockout_days["day"], pair_count
    )
    window = pd.date_range(window_start, today_day, freq="D", inclusive="left")
    window_by_weekday = np.bincount(window.day_of_week, minlength=_DAYS_IN_WEEK)
    in_stock_by_weekday = window_by_weekday[np.newaxis, :] - stockouts_by_weekday

    in_stock_days = in_stock_by_weekday.sum(axis=1)
    total_sales = sales_by_weekday.sum(axis=1)
    with_demand = (total_sales > 0) & (in_stock_days > 0)
    level = np.divide(total_sales, in_stock_days, out=np.zeros(pair_count), where=in_stock_days > 0)

    seasonal = in_stock_by_weekday.min(axis=1) >= settings.seasonality_min_weeks
    weekday_means = np.divide(
        sales_by_weekday,
        in_stock_by_weekday,
        out=np.zeros(sales_by_weekday.shape),
        where=in_stock_by_weekday > 0,
    ).clip(min=0)

    forecast_days = horizon_days(today_day, settings.horizon_days)
    kept = np.flatnonzero(with_demand)
    daily_rates = np.where(
        seasonal[kept, np.newaxis],
        weekday_means[kept][:, forecast_days.day_of_week],
        level[kept, np.newaxis],
    )
    logger.info(
        "demand forecast: %d pair(s) with demand (%d weekly seasonal) over [%s, %s)",
        len(kept),
        int(seasonal[kept].sum()),
        window_start.date(),
        today_day.date(),
    )
    return _forecast_frame(pairs.iloc[kept], seasonal[kept], daily_rates, forecast_days)


def _daily_sales(
    sales_order_lines: pd.DataFrame, window_start: pd.Timestamp, window_end: pd.Timestamp
) -> pd.DataFrame:
    """Dispatched quantity per SKU, warehouse and day of the half-open ``[start, end)``."""
    sales = sales_order_lines.loc[:, list(SALES_ORDER_LINE_COLUMNS)]
    sales["day"] = as_days(sales["order_date"], "sales_order_lines.order_date")
    unplaceable = sales["sku"].isna() | sales["warehouse_id"].isna()
    if unplaceable.any():
        logger.warning("%d sales line(s) without SKU or warehouse left out", int(unplaceable.sum()))
    in_window = (sales["day"] >= window_start) & (sales["day"] < window_end) & ~unplaceable
    sales = sales[in_window]
    return sales.groupby([*_PAIR, "day"], as_index=False, sort=False)["quantity"].sum()


def _stockout_days(
    inventory: pd.DataFrame,
    daily_sales: pd.DataFrame,
    pairs: pd.DataFrame,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
) -> pd.DataFrame:
    """The (pair, day) of the window with no available stock and no sales that day."""
    snapshots = inventory.loc[:, list(INVENTORY_COLUMNS)].dropna(subset=_PAIR)
    snapshots["day"] = as_days(snapshots["snapshot_date"], "inventory.snapshot_date")
    snapshots = snapshots[(snapshots["day"] >= window_start) & (snapshots["day"] < window_end)]
    # Two Cin7 options sharing a SKU would give two rows: the SKU is out only if both are.
    available = snapshots.groupby([*_PAIR, "day"], as_index=False, sort=False)["available"].sum()
    stockouts = available.loc[available["available"] <= 0, [*_PAIR, "day"]]
    stockouts = stockouts.merge(pairs, on=_PAIR, how="inner")

    days_with_sales = daily_sales.loc[daily_sales["quantity"] > 0, [*_PAIR, "day"]]
    stockouts = stockouts.merge(days_with_sales, on=[*_PAIR, "day"], how="left", indicator=True)
    return stockouts.loc[stockouts["_merge"] == "left_only", ["pair", "day"]]


def _per_pair_weekday(
    pair_codes: np.ndarray,
    days: pd.Series,
    pair_count: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of ``weights`` (or a count) per pair and weekday, as a (pair x 7) matrix."""
    cells = pair_codes.astype(np.int64) * _DAYS_IN_WEEK + days.dt.day_of_week.to_numpy()
    totals = np.bincount(cells, weights=weights, minlength=pair_count * _DAYS_IN_WEEK)
    return totals.reshape(pair_count, _DAYS_IN_WEEK)


def _forecast_frame(
    pairs: pd.DataFrame,
    seasonal: np.ndarray,
    daily_rates: np.ndarray,
    forecast_days: pd.DatetimeIndex,
) -> pd.DataFrame:
    day_count = len(forecast_days)
    methods = np.where(seasonal, WEEKLY_SEASONAL, TRAILING_AVERAGE)
    return pd.DataFrame(
        {
            # Repeating the Series reuses its strings; building a new one would re-check 9M of them.
            "sku": pairs["sku"].astype("str").repeat(day_count).reset_index(drop=True),
            "warehouse_id": pairs["warehouse_id"].to_numpy(dtype=np.int64).repeat(day_count),
            "forecast_date": np.tile(forecast_days.to_numpy(), len(pairs)),
            "quantity": daily_rates.ravel(),
            "method": pd.Series(methods, dtype="str").repeat(day_count).reset_index(drop=True),
        }
    )


def _empty_forecast() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": pd.Series(dtype="str"),
            "warehouse_id": pd.Series(dtype="int64"),
            "forecast_date": pd.Series(dtype=DAY_DTYPE),
            "quantity": pd.Series(dtype="float64"),
            "method": pd.Series(dtype="str"),
        }
    )
