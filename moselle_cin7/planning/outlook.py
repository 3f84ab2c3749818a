"""One line per SKU and warehouse summing up its projected stock: cover, stockout, next arrival.

All days are account-local days within the projection's horizon; nothing is said about what lies
beyond it (a stockout after the horizon shows as no stockout).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from moselle_cin7.planning.frames import DAY_DTYPE, as_days, require_columns

logger = logging.getLogger(__name__)

STOCK_OUTLOOK_COLUMNS = [
    "sku",
    "warehouse_id",
    "available_now",
    "daily_demand",
    "days_of_cover",
    "stockout_date",
    "next_incoming_date",
    "stockout_before_incoming",
]
PROJECTED_STOCK_COLUMNS = (
    "sku",
    "warehouse_id",
    "projection_date",
    "starting_quantity",
    "purchase_receipts",
    "transfers_in",
    "forecast_demand",
    "projected_quantity",
)

_PAIR = ["sku", "warehouse_id"]


def build_stock_outlook(projected_stock: pd.DataFrame) -> pd.DataFrame:
    """Summarise `build_projected_stock`'s frame per SKU and warehouse.

    Columns (``STOCK_OUTLOOK_COLUMNS``):
        available_now: the starting quantity of the first projected day (Cin7's ``available``).
        daily_demand: the mean forecast demand per day over the horizon.
        days_of_cover: ``available_now / daily_demand`` (0 when nothing is available); ``NaN``
            when there is no demand, as stock that nobody buys does not run out.
        stockout_date: the first day whose projected quantity is at or below zero; ``NaT`` when
            there is none in the horizon or no demand (a pair with no stock and no demand is idle,
            not out of stock).
        next_incoming_date: the first day with a purchase receipt or a transfer arriving.
        stockout_before_incoming: a stockout is projected and no arrival comes before it (none at
            all, or the first one is later than the stockout day).
    """
    require_columns(projected_stock, PROJECTED_STOCK_COLUMNS, "projected_stock")
    if projected_stock.empty:
        return _empty_outlook()

    # Plain arrays over rows ordered by pair and day: the frame can hold millions of rows, and the
    # first matching day of each pair is then simply the first matching row of its block.
    days = as_days(projected_stock["projection_date"], "projected_stock.projection_date")
    pair_of_row, pairs = _pair_codes(projected_stock)
    day_of_row = ((days - days.min()) // pd.Timedelta(days=1)).to_numpy(np.int64)
    order = np.lexsort((day_of_row, pair_of_row))
    pair_of_row = pair_of_row[order]
    days = days.to_numpy()[order]

    def column(name: str) -> np.ndarray:
        return projected_stock[name].to_numpy(float)[order]

    pair_count = len(pairs)
    block_starts = np.flatnonzero(np.r_[True, pair_of_row[1:] != pair_of_row[:-1]])
    row_counts = np.bincount(pair_of_row, minlength=pair_count)
    daily_demand = np.bincount(pair_of_row, weights=column("forecast_demand"), minlength=pair_count)
    daily_demand /= row_counts
    has_demand = daily_demand > 0
    available_now = column("starting_quantity")[block_starts]

    outlook = pairs.assign(
        available_now=available_now,
        daily_demand=daily_demand,
        days_of_cover=np.divide(
            available_now.clip(min=0),
            daily_demand,
            out=np.full(pair_count, np.nan),
            where=has_demand,
        ),
        stockout_date=_first_day(column("projected_quantity") <= 0, pair_of_row, days, pair_count),
        next_incoming_date=_first_day(
            (column("purchase_receipts") + column("transfers_in")) > 0,
            pair_of_row,
            days,
            pair_count,
        ),
    )
    outlook.loc[~has_demand, "stockout_date"] = pd.NaT

    stockout = outlook["stockout_date"]
    incoming = outlook["next_incoming_date"]
    outlook["stockout_before_incoming"] = stockout.notna() & (
        incoming.isna() | (stockout < incoming)
    )
    logger.info(
        "stock outlook: %d pair(s), %d projected to stock out before their next arrival",
        len(outlook),
        int(outlook["stockout_before_incoming"].sum()),
    )
    return outlook[STOCK_OUTLOOK_COLUMNS]


def _pair_codes(projected_stock: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """A code per row for its SKU-warehouse pair, and the pairs sorted by SKU then warehouse."""
    sku_codes, skus = pd.factorize(projected_stock["sku"], sort=True)
    warehouse_codes, warehouse_ids = pd.factorize(projected_stock["warehouse_id"], sort=True)
    warehouse_count = len(warehouse_ids)
    pair_codes, pair_keys = pd.factorize(sku_codes * warehouse_count + warehouse_codes, sort=True)
    pairs = pd.DataFrame(
        {
            "sku": pd.Series(skus, dtype="str").iloc[pair_keys // warehouse_count].to_numpy(),
            "warehouse_id": np.asarray(warehouse_ids, dtype=np.int64)[pair_keys % warehouse_count],
        }
    ).astype({"sku": "str"})
    return pair_codes, pairs


def _first_day(
    matches: np.ndarray, pair_of_row: np.ndarray, days: np.ndarray, pair_count: int
) -> pd.Series:
    """Per pair, the day of its first matching row (rows ordered by pair and day), else ``NaT``."""
    first_days = np.full(pair_count, np.datetime64("NaT"), dtype=DAY_DTYPE)
    matching_pairs = pair_of_row[matches]
    firsts = np.flatnonzero(np.r_[True, matching_pairs[1:] != matching_pairs[:-1]])
    if len(matching_pairs):
        first_days[matching_pairs[firsts]] = days[matches][firsts]
    return pd.Series(first_days, dtype=DAY_DTYPE)


def top_stockout_risks(outlook: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` pairs most at risk among those projected to stock out.

    Ranked by: stocking out before any arrival first, then the earliest stockout day, then the
    fewest days of cover; SKU and warehouse break remaining ties so the list is stable.
    """
    at_risk = outlook[outlook["stockout_date"].notna()]
    ranked = at_risk.assign(_arrival_first=~at_risk["stockout_before_incoming"]).sort_values(
        ["_arrival_first", "stockout_date", "days_of_cover", "sku", "warehouse_id"],
        na_position="last",
        kind="stable",
    )
    return ranked.drop(columns="_arrival_first").head(n).reset_index(drop=True)


def _empty_outlook() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": pd.Series(dtype="str"),
            "warehouse_id": pd.Series(dtype="int64"),
            "available_now": pd.Series(dtype="float64"),
            "daily_demand": pd.Series(dtype="float64"),
            "days_of_cover": pd.Series(dtype="float64"),
            "stockout_date": pd.Series(dtype=DAY_DTYPE),
            "next_incoming_date": pd.Series(dtype=DAY_DTYPE),
            "stockout_before_incoming": pd.Series(dtype="bool"),
        }
    )
