"""Projected stock per SKU, warehouse and day over the planning horizon.

For each day ``d`` of ``[today, today + horizon_days)`` (account-local days) and each SKU at each
warehouse::

    starting_quantity(d)  = projected_quantity(d - 1), and Cin7's ``available`` now on the first day
    projected_quantity(d) = starting_quantity(d) + purchase_receipts(d) + transfers_in(d)
                            - transfers_out(d) - forecast_demand(d)

Where each term comes from, and why nothing is counted twice:

- ``available`` (latest inventory snapshot) is Cin7's stock on hand minus stock reserved for open
  sales orders. It contains neither stock on open purchase orders (Cin7's ``incoming``) nor stock in
  transit on dispatched transfers (Cin7's ``holding``); both reach the warehouse only when received.
  So ``incoming`` and ``holding`` are never added to the start: they arrive through the next terms.
- ``purchase_receipts``: the open quantity (ordered minus received) of each Draft or Active purchase
  order line, at its receiving warehouse on its expected day. It is the same stock Cin7 reports as
  ``incoming``, counted once, on the day it should arrive.
- ``transfers_in``: the quantity of each Draft or Active transfer line, at the destination on its
  expected arrival day.
- ``transfers_out``: the quantity of each Draft transfer line, at the source on the day it is
  planned to leave. A dispatched (Active) transfer is not subtracted: Cin7 already moved it out of
  ``available`` into ``holding`` when it left, so the snapshot is already net of it. A draft is
  subtracted because Cin7 documents no reservation of stock for a transfer before dispatch.
- ``forecast_demand``: the demand forecast for the day.

Delivered and Archived orders have nothing left to arrive. An arrival or a planned dispatch dated
before today is overdue and lands on today. Stock may go negative: the projection runs on as if
unmet demand were back-ordered, so the depth of a shortfall stays visible.

``includes_estimated_dates`` is true on a day when an arrival or a draft dispatch with an estimated
day (no expected date from Cin7) has been counted on that day or before.

Known overlap: ``available`` already reserves open sales orders, and those orders will be among the
dispatches the forecast expects over the next few days, so the first days count them once more. The
bias is about one order-to-dispatch lead time of demand, on the safe side.
"""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd

from moselle_cin7.planning.frames import (
    DAY_DTYPE,
    DRAFT,
    OPEN_STATUSES,
    as_day,
    as_days,
    canonical_status,
    day_offsets,
    horizon_days,
    require_columns,
)
from moselle_cin7.planning.replenishment import PURCHASE_ORDER, TRANSFER
from moselle_cin7.settings import PlanningSettings

logger = logging.getLogger(__name__)

PROJECTED_STOCK_COLUMNS = [
    "sku",
    "warehouse_id",
    "projection_date",
    "starting_quantity",
    "purchase_receipts",
    "transfers_in",
    "transfers_out",
    "forecast_demand",
    "projected_quantity",
    "includes_estimated_dates",
]
INVENTORY_LATEST_COLUMNS = ("sku", "warehouse_id", "available")
REPLENISHMENT_COLUMNS = (
    "kind",
    "status",
    "warehouse_id",
    "source_warehouse_id",
    "dispatch_date",
    "expected_date",
    "expected_date_estimated",
    "sku",
    "quantity_open",
)
DEMAND_FORECAST_COLUMNS = ("sku", "warehouse_id", "forecast_date", "quantity")

_PAIR = ["sku", "warehouse_id"]
_FLOWS = ("purchase_receipts", "transfers_in", "transfers_out")
_QUANTITY_COLUMNS = PROJECTED_STOCK_COLUMNS[3:-1]


def build_projected_stock(
    inventory_latest: pd.DataFrame,
    replenishment_orders: pd.DataFrame,
    demand_forecast: pd.DataFrame,
    *,
    today: date,
    settings: PlanningSettings,
) -> pd.DataFrame:
    """Day-by-day projected available stock of every SKU at every warehouse.

    Args:
        inventory_latest: the latest inventory snapshot (``sku``, ``warehouse_id``, ``available``).
            If it holds several ``snapshot_date`` values, only the rows of the latest are used.
        replenishment_orders: the frame of `build_replenishment_orders`.
        demand_forecast: the frame of `build_demand_forecast`.
        today: the first projected day.
        settings: ``horizon_days``.

    Returns:
        ``PROJECTED_STOCK_COLUMNS``: one row per day of ``[today, today + horizon_days)`` for each
        pair with stock now, demand or a movement within the horizon; sorted by SKU, warehouse, day.
    """
    require_columns(inventory_latest, INVENTORY_LATEST_COLUMNS, "inventory_latest")
    require_columns(replenishment_orders, REPLENISHMENT_COLUMNS, "replenishment_orders")
    require_columns(demand_forecast, DEMAND_FORECAST_COLUMNS, "demand_forecast")
    today_day = as_day(today)
    day_count = settings.horizon_days

    starting_stock = _starting_stock(inventory_latest)
    movements = _movements(replenishment_orders, today_day, day_count)
    demand = _demand(demand_forecast, today_day, day_count)

    # One integer per SKU-warehouse pair, shared by the three sources, so that every term can be
    # summed into a (pair x day) matrix with bincount instead of a join per term.
    keys = pd.concat([starting_stock[_PAIR], movements[_PAIR], demand[_PAIR]], ignore_index=True)
    sku_codes, skus = pd.factorize(keys["sku"], sort=True)
    warehouse_codes, warehouse_ids = pd.factorize(keys["warehouse_id"], sort=True)
    pair_codes, pair_keys = pd.factorize(
        sku_codes * len(warehouse_ids) + warehouse_codes, sort=True
    )
    pair_count = len(pair_keys)
    if pair_count == 0:
        return empty_projected_stock()
    start_end = len(starting_stock)
    movements_end = start_end + len(movements)
    start_pairs = pair_codes[:start_end]
    movement_pairs = pair_codes[start_end:movements_end]
    demand_pairs = pair_codes[movements_end:]

    # The six quantity columns live in one (column x pair x day) array, written in place, so the
    # returned frame wraps it without another copy of millions of rows.
    quantities = np.zeros((len(_QUANTITY_COLUMNS), pair_count, day_count))
    column = {name: quantities[index] for index, name in enumerate(_QUANTITY_COLUMNS)}

    def add_per_pair_day(
        target: np.ndarray, pairs: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> None:
        if len(weights) < target.size // 8:
            # A few hundred movements: adding them one by one beats a pass over every cell.
            np.add.at(target, (pairs, offsets), weights)
            return
        cells = pairs.astype(np.int64) * day_count + offsets
        target += np.bincount(cells, weights=weights, minlength=target.size).reshape(target.shape)

    movement_offsets = movements["offset"].to_numpy()
    movement_quantities = movements["quantity"].to_numpy(float)
    for flow in _FLOWS:
        is_flow = (movements["flow"] == flow).to_numpy()
        add_per_pair_day(
            column[flow],
            movement_pairs[is_flow],
            movement_offsets[is_flow],
            movement_quantities[is_flow],
        )
    add_per_pair_day(
        column["forecast_demand"],
        demand_pairs,
        demand["offset"].to_numpy(),
        demand["quantity"].to_numpy(float),
    )
    estimated_moves = np.zeros((pair_count, day_count))
    estimated = movements["estimated"].to_numpy(bool)
    add_per_pair_day(
        estimated_moves,
        movement_pairs[estimated],
        movement_offsets[estimated],
        np.ones(int(estimated.sum())),
    )

    opening = np.bincount(
        start_pairs, weights=starting_stock["available"].to_numpy(float), minlength=pair_count
    )
    net_change = (
        column["purchase_receipts"]
        + column["transfers_in"]
        - column["transfers_out"]
        - column["forecast_demand"]
    )
    np.cumsum(net_change, axis=1, out=column["projected_quantity"])
    column["projected_quantity"] += opening[:, np.newaxis]
    column["starting_quantity"][:, 0] = opening
    column["starting_quantity"][:, 1:] = column["projected_quantity"][:, :-1]
    includes_estimated = np.cumsum(estimated_moves, axis=1) > 0

    logger.info(
        "projected stock: %d pair(s) x %d day(s) from %s; %d movement(s) in the horizon",
        pair_count,
        day_count,
        today_day.date(),
        len(movements),
    )
    warehouse_count = len(warehouse_ids)
    projected_stock = pd.DataFrame(
        quantities.reshape(len(_QUANTITY_COLUMNS), -1).T, columns=_QUANTITY_COLUMNS, copy=False
    )
    # Repeating a Series reuses its strings; building a new one would re-check every row.
    pair_skus = pd.Series(skus, dtype="str").iloc[pair_keys // warehouse_count]
    projected_stock.insert(0, "sku", pair_skus.repeat(day_count).reset_index(drop=True))
    pair_warehouses = np.asarray(warehouse_ids, dtype=np.int64)[pair_keys % warehouse_count]
    projected_stock.insert(1, "warehouse_id", pair_warehouses.repeat(day_count))
    forecast_days = horizon_days(today_day, day_count).to_numpy()
    projected_stock.insert(2, "projection_date", np.tile(forecast_days, pair_count))
    projected_stock["includes_estimated_dates"] = includes_estimated.ravel()
    return projected_stock


def moving_pairs(projected_stock: pd.DataFrame) -> pd.DataFrame:
    """The rows of the pairs whose stock changes within the horizon: forecast demand, an arrival
    or a draft transfer out on at least one day.

    Every other pair is flat at its starting quantity for the whole horizon, which its
    ``stock_outlook`` row already says (``available_now``, no demand, no arrival). On a large
    account most SKU-warehouse pairs are such shelf stock, and their day-by-day rows would be
    most of the rows written (see the README's Planning section).

    Rows must come as `build_projected_stock` returns them: each pair's days together.
    """
    if projected_stock.empty:
        return projected_stock
    moves = np.zeros(len(projected_stock), dtype=bool)
    for name in ("purchase_receipts", "transfers_in", "transfers_out", "forecast_demand"):
        moves |= projected_stock[name].to_numpy(float) != 0
    sku = projected_stock["sku"].to_numpy(object)
    warehouse = projected_stock["warehouse_id"].to_numpy()
    new_pair = np.r_[True, (sku[1:] != sku[:-1]) | (warehouse[1:] != warehouse[:-1])]
    starts = np.flatnonzero(new_pair)
    pair_moves = np.logical_or.reduceat(moves, starts)
    keep = np.repeat(pair_moves, np.diff(np.r_[starts, len(projected_stock)]))
    return projected_stock[keep]


def _starting_stock(inventory_latest: pd.DataFrame) -> pd.DataFrame:
    """Cin7's ``available`` now per pair; pairs with none (zero) are left to the other sources."""
    snapshot = inventory_latest
    if "snapshot_date" in snapshot.columns and not snapshot.empty:
        days = as_days(snapshot["snapshot_date"], "inventory_latest.snapshot_date")
        snapshot = snapshot[days == days.max()]
    snapshot = snapshot.dropna(subset=_PAIR)
    available = snapshot.groupby(_PAIR, as_index=False, sort=False)["available"].sum()
    return available[available["available"] != 0]


def _movements(
    replenishment_orders: pd.DataFrame, today: pd.Timestamp, day_count: int
) -> pd.DataFrame:
    """Open quantities as (sku, warehouse_id, flow, offset, quantity, estimated) within the horizon.

    ``offset`` is the day's index in the horizon; overdue days are moved to today (offset 0).
    """
    open_lines = replenishment_orders[
        canonical_status(replenishment_orders["status"]).isin(OPEN_STATUSES)
        & replenishment_orders["sku"].notna()
        & (replenishment_orders["quantity_open"] != 0)
    ]
    status = canonical_status(open_lines["status"])
    expected = as_days(open_lines["expected_date"], "replenishment_orders.expected_date")
    dispatch = as_days(open_lines["dispatch_date"], "replenishment_orders.dispatch_date")
    estimated = open_lines["expected_date_estimated"].fillna(True).astype(bool)
    is_purchase = open_lines["kind"] == PURCHASE_ORDER
    is_transfer = open_lines["kind"] == TRANSFER

    arrivals = pd.DataFrame(
        {
            "sku": open_lines["sku"],
            "warehouse_id": open_lines["warehouse_id"],
            "flow": np.where(is_purchase, "purchase_receipts", "transfers_in"),
            # A missing day would be a gap upstream: the stock is taken as due now, and estimated.
            "day": expected.fillna(today),
            "quantity": open_lines["quantity_open"],
            "estimated": estimated | expected.isna(),
        }
    )[is_purchase | is_transfer]
    draft_transfers = is_transfer & (status == DRAFT)
    departures = pd.DataFrame(
        {
            "sku": open_lines["sku"],
            "warehouse_id": open_lines["source_warehouse_id"],
            "flow": "transfers_out",
            "day": dispatch.fillna(today),
            "quantity": open_lines["quantity_open"],
            # Cin7 has no planned dispatch day: a draft's day is always a guess.
            "estimated": True,
        }
    )[draft_transfers]

    movements = pd.concat([arrivals, departures], ignore_index=True).dropna(subset=_PAIR)
    movements["offset"] = day_offsets(movements["day"].clip(lower=today), today)
    movements = movements[movements["offset"] < day_count]
    return movements.astype({"warehouse_id": "int64", "quantity": "float64"})


def _demand(demand_forecast: pd.DataFrame, today: pd.Timestamp, day_count: int) -> pd.DataFrame:
    days = as_days(demand_forecast["forecast_date"], "demand_forecast.forecast_date")
    offsets = (days - today) // pd.Timedelta(days=1)
    in_horizon = (offsets >= 0) & (offsets < day_count) & (demand_forecast["quantity"] != 0)
    demand = demand_forecast.loc[in_horizon, [*_PAIR, "quantity"]]
    demand["offset"] = offsets[in_horizon].astype(np.int64)
    return demand.dropna(subset=_PAIR)


def empty_projected_stock() -> pd.DataFrame:
    """A projected-stock frame with no rows and the right column types."""
    return pd.DataFrame(
        {
            "sku": pd.Series(dtype="str"),
            "warehouse_id": pd.Series(dtype="int64"),
            "projection_date": pd.Series(dtype=DAY_DTYPE),
            **{column: pd.Series(dtype="float64") for column in _QUANTITY_COLUMNS},
            "includes_estimated_dates": pd.Series(dtype="bool"),
        }
    )
