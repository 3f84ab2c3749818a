"""The planning tables, rebuilt from the planning model after each sync.

One multi-asset computes the four tables together and replaces them in one transaction: they are
read back side by side (the outlook summarises the projection, which uses the replenishment view
and the forecast), so they must never come from two different runs.

The forecast, the projection and the outlook are computed and written a block of SKUs at a time.
Each is a computation per SKU and warehouse, so the blocks give the same rows in the same order as
one pass would; but the projection of a large account holds every SKU at every warehouse for every
day of the horizon (tens of millions of rows), which one pass would have to hold in memory at once.

The plan starts on the run's current day in the account's time zone, unless the run config names
another day (to rebuild a past plan, or to test).
"""

# No `from __future__ import annotations` here: Dagster reads the annotations at runtime.
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.engine import Connection

from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.db.store import clear_table, insert_columns
from moselle_cin7.mapping import assets as model
from moselle_cin7.planning.forecast import build_demand_forecast
from moselle_cin7.planning.frames import CLOSED_STATUSES, OPEN_STATUSES
from moselle_cin7.planning.outlook import build_stock_outlook, top_stockout_risks
from moselle_cin7.planning.projection import build_projected_stock, moving_pairs
from moselle_cin7.planning.replenishment import build_replenishment_orders
from moselle_cin7.settings import Settings, load_settings
from moselle_cin7.timeutil import business_day, utc_now

PLANNING_GROUP = "planning"
# How many of the worst stockout risks a materialisation shows in its metadata.
RISKS_IN_METADATA = 10
# SKUs per block of the forecast and projection (see the module docstring): at 25 warehouses and
# a 90-day horizon a block is at most 2.25 million projected rows.
SKUS_PER_BLOCK = 1_000
# Rows handed to the database writer at a time, so no table is ever held as Python rows whole.
WRITE_CHUNK_ROWS = 50_000


class PlanningConfig(dg.Config):
    plan_start_day: str | None = Field(
        default=None,
        description="First planned day (YYYY-MM-DD, account-local). Default: today in the "
        "account's time zone.",
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "replenishment_orders",
            description="Open and recently closed purchase-order and branch-transfer lines, "
            "with the day each is expected to arrive.",
            group_name=PLANNING_GROUP,
            deps=[model.purchase_orders, model.transfers, model.warehouses],
            kinds={"sql"},
        ),
        dg.AssetSpec(
            "demand_forecast",
            description="Daily demand per SKU and warehouse over the horizon: trailing average "
            "of dispatched sales over in-stock days, with weekday seasonality when earned. Days "
            "with no demand have no row.",
            group_name=PLANNING_GROUP,
            deps=[model.sales_order_lines, model.inventory, model.warehouses],
            kinds={"sql"},
        ),
        dg.AssetSpec(
            "projected_stock",
            description="Available stock per SKU, warehouse and day: today's available plus "
            "arrivals, minus draft transfers out and forecast demand. Only pairs whose stock "
            "moves within the horizon have rows; the others stay at stock_outlook.available_now.",
            group_name=PLANNING_GROUP,
            deps=["replenishment_orders", "demand_forecast", model.inventory],
            kinds={"sql"},
        ),
        dg.AssetSpec(
            "stock_outlook",
            description="Per SKU and warehouse: days of cover, projected stockout day and "
            "whether it comes before the next arrival.",
            group_name=PLANNING_GROUP,
            deps=["projected_stock"],
            kinds={"sql"},
        ),
    ],
    can_subset=False,
)
def planning_tables(
    context: dg.AssetExecutionContext, config: PlanningConfig, planning_db: PlanningDatabase
) -> Iterator[dg.MaterializeResult]:
    settings = load_settings()
    today = (
        date.fromisoformat(config.plan_start_day)
        if config.plan_start_day
        else business_day(utc_now(), settings.timezone)
    )
    planning = settings.planning
    engine = planning_db.get_engine()

    with engine.connect() as conn:
        model_tables = read_model_tables(conn, today, settings)
    context.log.info(
        f"Planning from {today}: {len(model_tables['sales_order_lines'])} sales lines, "
        f"{len(model_tables['inventory'])} stockout days in the snapshots, "
        f"{len(model_tables['purchase_orders'])} purchase orders, "
        f"{len(model_tables['transfers'])} transfers read"
    )

    replenishment = build_replenishment_orders(
        model_tables["purchase_orders"],
        model_tables["purchase_order_lines"],
        model_tables["transfers"],
        model_tables["transfer_lines"],
        today=today,
        settings=planning,
        warehouses=model_tables["warehouses"],
    )
    tables = (
        schema.replenishment_orders,
        schema.demand_forecast,
        schema.projected_stock,
        schema.stock_outlook,
    )
    written = dict.fromkeys((table.name for table in tables), 0)
    pair_methods: dict[str, int] = {}
    flat_pairs = 0
    outlook_blocks = []
    with engine.begin() as conn:
        for table in tables:
            clear_table(conn, table)
        written["replenishment_orders"] = write_frame(
            conn, schema.replenishment_orders, replenishment
        )
        for block in sku_blocks(model_tables, replenishment):
            demand_forecast = build_demand_forecast(
                block["sales_order_lines"],
                block["inventory"],
                today=today,
                settings=planning,
                history_start=settings.history_start,
            )
            projected_stock = build_projected_stock(
                block["inventory_latest"],
                block["replenishment"],
                demand_forecast,
                today=today,
                settings=planning,
            )
            # Stock is planned only at enabled warehouses; a transfer from one to a warehouse
            # that is not planned still leaves the enabled one, so the filter applies to the
            # result, not the inputs.
            enabled = model_tables["enabled_warehouse_ids"]
            projected_stock = projected_stock[projected_stock["warehouse_id"].isin(enabled)]
            outlook_block = build_stock_outlook(projected_stock)
            # The outlook has every pair; the daily rows only the pairs whose stock moves.
            flat_pairs += len(outlook_block)
            projected_stock = moving_pairs(projected_stock)
            # Each pair has one row per day of the horizon.
            flat_pairs -= len(projected_stock) // planning.horizon_days
            # A day without forecast demand has no row: under weekday seasonality most days of a
            # slow seller are zero (four in five on the large profile), and the projection still
            # has every day of every pair with demand.
            forecast_days = demand_forecast[demand_forecast["quantity"] != 0]
            for table, frame in (
                (schema.demand_forecast, forecast_days),
                (schema.projected_stock, projected_stock),
                (schema.stock_outlook, outlook_block),
            ):
                written[table.name] += write_frame(conn, table, frame)
            methods = demand_forecast.drop_duplicates(["sku", "warehouse_id"])["method"]
            for method, count in methods.value_counts().items():
                pair_methods[method] = pair_methods.get(method, 0) + int(count)
            outlook_blocks.append(outlook_block)
            del demand_forecast, forecast_days, projected_stock

    outlook = pd.concat(outlook_blocks, ignore_index=True)
    risks = top_stockout_risks(outlook, n=RISKS_IN_METADATA)
    yield dg.MaterializeResult(
        asset_key="replenishment_orders",
        metadata={
            "dagster/row_count": written["replenishment_orders"],
            "plan_start_day": str(today),
            "open_lines": int((replenishment["quantity_open"] > 0).sum()),
            "estimated_arrival_days": int(replenishment["expected_date_estimated"].sum()),
        },
    )
    yield dg.MaterializeResult(
        asset_key="demand_forecast",
        metadata={
            "dagster/row_count": written["demand_forecast"],
            "plan_start_day": str(today),
            "pairs_by_method": dg.MetadataValue.json(
                dict(sorted(pair_methods.items(), key=lambda item: -item[1]))
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key="projected_stock",
        metadata={
            "dagster/row_count": written["projected_stock"],
            "plan_start_day": str(today),
            "horizon_days": planning.horizon_days,
            "flat_pairs_without_rows": flat_pairs,
        },
    )
    yield dg.MaterializeResult(
        asset_key="stock_outlook",
        metadata={
            "dagster/row_count": written["stock_outlook"],
            "stockout_before_incoming": int(outlook["stockout_before_incoming"].sum()),
            "top_stockout_risks": dg.MetadataValue.json(
                [
                    {
                        "sku": row["sku"],
                        "warehouse_id": int(row["warehouse_id"]),
                        "stockout_date": row["stockout_date"].date().isoformat(),
                        "before_next_arrival": bool(row["stockout_before_incoming"]),
                    }
                    for row in risks.to_dict("records")
                ]
            ),
        },
    )


def read_model_tables(conn: Connection, today: date, settings: Settings) -> dict[str, Any]:
    """The planning model rows the four computations need, read in one connection.

    Sales and stock snapshots are read for the forecast window ``[today - forecast_window_days,
    today)`` only, and of the snapshots only the stockout days (``inventory``: per SKU, warehouse
    and day, the summed available where it is at or below zero). Orders are read if open or if
    any of their days falls within the recent-closed window; the computation applies the exact
    rule.
    """
    planning = settings.planning
    window_start = today - timedelta(days=planning.forecast_window_days)
    recent_from = today - timedelta(days=planning.recent_closed_days)

    warehouses = _read(conn, sa.select(schema.warehouses))
    enabled_warehouse_ids = warehouses.loc[warehouses["enabled"].astype(bool), "warehouse_id"]

    sales = schema.sales_order_lines
    sales_order_lines = _read(
        conn,
        sa.select(sales.c.order_date, sales.c.sku, sales.c.warehouse_id, sales.c.quantity).where(
            sales.c.order_date >= window_start,
            sales.c.order_date < today,
            sales.c.warehouse_id.in_(enabled_warehouse_ids.tolist()),
        ),
    )

    stock = schema.inventory
    stock_columns = (stock.c.snapshot_date, stock.c.sku, stock.c.warehouse_id, stock.c.available)
    # The forecast uses the window's snapshots only to find stockout days: a SKU's summed
    # available at a warehouse on a day at or below zero (see forecast._stockout_days). Only those
    # (SKU, warehouse, day) sums are read: once the daily syncs have stored weeks of snapshots, the
    # window holds every SKU at every warehouse for every day, tens of millions of rows on a large
    # account, nearly all of them in stock.
    summed_available = sa.func.sum(stock.c.available).label("available")
    inventory = _read(
        conn,
        sa.select(stock.c.snapshot_date, stock.c.sku, stock.c.warehouse_id, summed_available)
        .where(
            stock.c.snapshot_date >= window_start,
            stock.c.snapshot_date < today,
            stock.c.sku.is_not(None),
        )
        .group_by(stock.c.snapshot_date, stock.c.sku, stock.c.warehouse_id)
        .having(summed_available <= 0),
    )
    latest_day = sa.select(sa.func.max(stock.c.snapshot_date)).where(stock.c.snapshot_date <= today)
    inventory_latest = _read(
        conn, sa.select(*stock_columns).where(stock.c.snapshot_date == latest_day.scalar_subquery())
    )

    orders = schema.purchase_orders
    kept_orders = sa.or_(
        orders.c.status.in_(OPEN_STATUSES),
        sa.and_(
            orders.c.status.in_(CLOSED_STATUSES),
            sa.or_(
                orders.c.fully_received_date >= recent_from,
                orders.c.expected_date >= recent_from,
                orders.c.order_date >= recent_from,
            ),
        ),
    )
    purchase_orders = _read(conn, sa.select(orders).where(kept_orders))
    order_lines = schema.purchase_order_lines
    purchase_order_lines = _read(
        conn,
        sa.select(order_lines).where(
            order_lines.c.cin7_order_id.in_(sa.select(orders.c.cin7_order_id).where(kept_orders))
        ),
    )

    moves = schema.transfers
    kept_transfers = sa.or_(
        moves.c.status.in_(OPEN_STATUSES),
        moves.c.received_date >= recent_from,
        moves.c.dispatched_date >= recent_from,
        moves.c.order_date >= recent_from,
    )
    transfers = _read(conn, sa.select(moves).where(kept_transfers))
    move_lines = schema.transfer_lines
    transfer_lines = _read(
        conn,
        sa.select(move_lines).where(
            move_lines.c.cin7_transfer_id.in_(
                sa.select(moves.c.cin7_transfer_id).where(kept_transfers)
            )
        ),
    )

    return {
        "warehouses": warehouses,
        "enabled_warehouse_ids": enabled_warehouse_ids,
        "sales_order_lines": sales_order_lines,
        "inventory": inventory,
        "inventory_latest": inventory_latest,
        "purchase_orders": purchase_orders,
        "purchase_order_lines": purchase_order_lines,
        "transfers": transfers,
        "transfer_lines": transfer_lines,
    }


def sku_blocks(
    model_tables: dict[str, Any], replenishment: pd.DataFrame, skus_per_block: int = SKUS_PER_BLOCK
) -> Iterator[dict[str, pd.DataFrame]]:
    """The per-SKU inputs of the forecast and the projection, a block of SKUs at a time.

    Blocks follow the SKUs' sort order, which is the order the computations sort their rows in, so
    the blocks' rows one after another are the rows of one pass. Rows without a SKU go with the
    first block: the computations leave them out and say so once, as one pass would.
    """
    frames = {
        "sales_order_lines": model_tables["sales_order_lines"],
        "inventory": model_tables["inventory"],
        "inventory_latest": model_tables["inventory_latest"],
        "replenishment": replenishment,
    }
    skus = sorted(
        set().union(*(frame["sku"].dropna().astype(str).unique() for frame in frames.values()))
    )
    starts = skus[::skus_per_block]
    for number in range(max(1, len(starts))):
        first_sku = starts[number] if number > 0 else None
        end_sku = starts[number + 1] if number + 1 < len(starts) else None
        block = {}
        for name, frame in frames.items():
            sku = frame["sku"]
            known = sku.notna().to_numpy()
            in_block = ~known if number == 0 else np.zeros(len(frame), dtype=bool)
            in_range = known.copy()
            if first_sku is not None:
                in_range &= (sku >= first_sku).fillna(False).to_numpy(dtype=bool)
            if end_sku is not None:
                in_range &= (sku < end_sku).fillna(False).to_numpy(dtype=bool)
            block[name] = frame[in_block | in_range]
        yield block


def write_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    """Insert ``frame``'s rows into ``table``, ``WRITE_CHUNK_ROWS`` at a time."""
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, len(frame), WRITE_CHUNK_ROWS):
        part = frame.iloc[start : start + WRITE_CHUNK_ROWS]
        ready: list[str] = []
        if sqlite:
            columns, ready = _sqlite_columns(part)
        else:
            columns = {name: values.tolist() for name, values in _plain_columns(part).items()}
        insert_columns(conn, table, columns, sqlite_ready=ready)
    return len(frame)


def _sqlite_columns(frame: pd.DataFrame) -> tuple[dict[str, list[Any]], list[str]]:
    """``frame``'s columns as lists for SQLite, converted by numpy a column at a time, and the
    names of those already in the form SQLite stores (``'YYYY-MM-DD'`` text for a day, 0 or 1
    for a flag), which skip SQLAlchemy's conversion of each value.

    Numbers without gaps become plain ``int``/``float`` straight from their arrays; anything else
    goes through ``_plain_columns``. The projection and the forecast are millions of rows, and
    this conversion was a third of the time of writing them.
    """
    columns: dict[str, list[Any]] = {}
    ready: list[str] = []
    for name, values in frame.items():
        name = str(name)
        dtype = values.dtype
        if pd.api.types.is_datetime64_dtype(dtype):
            days = values.to_numpy(dtype="datetime64[D]")
            text = np.datetime_as_string(days, unit="D").astype(object)
            text[np.isnat(days)] = None
            columns[name] = text.tolist()
            ready.append(name)
        elif pd.api.types.is_bool_dtype(dtype) and not values.isna().any():
            columns[name] = values.to_numpy(dtype=np.int64).tolist()
            ready.append(name)
        elif dtype.kind in "if" and not values.isna().any():
            columns[name] = values.to_numpy().tolist()
        else:
            columns[name] = _plain_columns(frame[[name]])[name].tolist()
    return columns, ready


def _read(conn: Connection, query: sa.Select) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def table_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame`` as rows of plain Python values (``date``, ``float``, ``int``, ``bool``, ``str``
    or ``None``), as the database writers take them."""
    columns = _plain_columns(frame)
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _plain_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``frame``'s columns as object arrays of plain Python values (see ``table_rows``)."""
    columns: dict[str, np.ndarray] = {}
    for name, values in frame.items():
        missing = values.isna().to_numpy()
        if pd.api.types.is_datetime64_dtype(values.dtype):
            plain = values.dt.date.to_numpy(dtype=object, copy=True)
        else:
            plain = values.to_numpy(dtype=object, copy=True)
        plain[missing] = None
        columns[str(name)] = plain
    return columns


planning_assets = [planning_tables]
