"""Moselle's planning model, mapped from the raw Cin7 tables without calling Cin7 again.

Transaction tables share the raw assets' daily partitions: a run re-maps exactly the window it
synced, in one transaction. Products and warehouses are the current catalogue (unpartitioned).
"""

# No `from __future__ import annotations` here: Dagster reads the context annotation at runtime.
from collections.abc import Callable, Iterator
from datetime import UTC, date, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.db.postgres import lock_table_for_replace
from moselle_cin7.db.store import delete_window, insert_rows, replace_all, replace_window
from moselle_cin7.ingestion.assets import (
    cin7_branches,
    cin7_products,
    cin7_stock,
    transaction_assets,
)
from moselle_cin7.ingestion.partitions import daily_partitions, window_days
from moselle_cin7.mapping import rules
from moselle_cin7.settings import Settings, load_settings
from moselle_cin7.timeutil import utc_now

MODEL_GROUP = "planning_model"
# Stock rows mapped and written at a time (see ``inventory``).
STOCK_ROWS_PER_SLICE = 50_000
cin7_sales_orders, cin7_purchase_orders, cin7_branch_transfers = transaction_assets


def _raw_in_window(
    conn: Connection, table: sa.Table, first_day: date, end_day: date
) -> Iterator[tuple[date, dict[str, Any]]]:
    """Raw payloads with their partition day, for the half-open window ``[first_day, end_day)``."""
    query = (
        sa.select(table.c.partition_day, table.c.payload)
        .where(table.c.partition_day >= first_day, table.c.partition_day < end_day)
        .order_by(table.c.partition_day, table.c.cin7_id)
    )
    yield from conn.execute(query)


def load_catalogue(conn: Connection) -> rules.Catalogue:
    """Known SKUs (from products) and branches (from Cin7's branch list) to check references."""
    catalogue = rules.Catalogue()
    for option_id, sku in conn.execute(
        sa.select(schema.products.c.cin7_option_id, schema.products.c.sku)
    ):
        if sku:
            catalogue.skus.add(sku)
            catalogue.sku_by_option_id[option_id] = sku
    catalogue.warehouse_ids = set(conn.execute(sa.select(schema.raw_branches.c.cin7_id)).scalars())
    return catalogue


def _issues(rows: list[dict[str, Any]]) -> int:
    return sum(1 for row in rows if row.get("mapping_issue"))


@dg.asset(
    description="Moselle warehouses: Cin7 branches, with the enabled flag from the settings.",
    group_name=MODEL_GROUP,
    deps=[cin7_branches],
    kinds={"sql"},
)
def warehouses(planning_db: PlanningDatabase) -> dg.MaterializeResult:
    engine = planning_db.get_engine()
    settings = load_settings()
    with engine.begin() as conn:
        branches = conn.execute(sa.select(schema.raw_branches.c.payload)).scalars().all()
        rows = rules.map_warehouses(branches, settings)
        replace_all(conn, schema.warehouses, rows)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "enabled": sum(1 for row in rows if row["enabled"]),
        }
    )


@dg.asset(
    description="Moselle products: one row per Cin7 product option (SKU = option code), from the "
    "newest snapshot.",
    group_name=MODEL_GROUP,
    deps=[cin7_products],
    kinds={"sql"},
)
def products(
    context: dg.AssetExecutionContext, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    engine = planning_db.get_engine()
    settings = load_settings()
    with engine.begin() as conn:
        newest = conn.execute(sa.select(sa.func.max(schema.raw_products.c.partition_day))).scalar()
        if newest is None:
            raise dg.Failure(description="No product snapshot is stored yet: sync cin7_products.")
        payloads = (
            conn.execute(
                sa.select(schema.raw_products.c.payload).where(
                    schema.raw_products.c.partition_day == newest
                )
            )
            .scalars()
            .all()
        )
        rows = rules.map_products(payloads, newest, settings)
        replace_all(conn, schema.products, rows)
    issues = _issues(rows)
    if issues:
        context.log.warning(f"{issues} product options kept with a mapping issue")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "snapshot_day": str(newest),
            "rows_with_issue": issues,
        }
    )


def _excluded_metadata(excluded: dict[str, int]) -> dg.MetadataValue:
    return dg.MetadataValue.json(dict(sorted(excluded.items())))


@dg.asset(
    description="Dispatched sales lines: dispatched, not voided, Shopify-sourced orders excluded "
    "when the settings say so; order_date is the account-local invoice day.",
    group_name=MODEL_GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[cin7_sales_orders, products, warehouses],
    kinds={"sql"},
)
def sales_order_lines(
    context: dg.AssetExecutionContext, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    engine = planning_db.get_engine()
    settings = load_settings()
    first_day, end_day = window_days(context.partition_time_window)
    with engine.begin() as conn:
        # Locked before the raw rows are read, so two runs map from one raw state in turn.
        lock_table_for_replace(conn, schema.sales_order_lines)
        catalogue = load_catalogue(conn)
        orders = _raw_in_window(conn, schema.raw_sales_orders, first_day, end_day)
        mapped = rules.map_sales_orders(orders, settings, catalogue)
        replace_window(
            conn,
            schema.sales_order_lines,
            day_column="order_date",
            first_day=first_day,
            end_day=end_day,
            rows=mapped.lines,
            key_column="cin7_order_id",
        )
    return dg.MaterializeResult(
        metadata={
            "window": f"[{first_day}, {end_day})",
            "dagster/row_count": len(mapped.lines),
            "orders_excluded": _excluded_metadata(mapped.excluded),
            "rows_with_issue": _issues(mapped.lines),
        }
    )


@dg.asset(
    description="Purchase orders and their lines. Voided becomes Archived, fully received "
    "Delivered, approved and open Active.",
    group_name=MODEL_GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[cin7_purchase_orders, products, warehouses],
    kinds={"sql"},
)
def purchase_orders(
    context: dg.AssetExecutionContext, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    return _map_replenishment(
        context,
        planning_db,
        schema.raw_purchase_orders,
        (schema.purchase_orders, schema.purchase_order_lines),
        "cin7_order_id",
        _purchase_order_rows,
    )


@dg.asset(
    description="Branch transfers and their lines: Draft until dispatched, Active in transit, "
    "Delivered once received.",
    group_name=MODEL_GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[cin7_branch_transfers, products, warehouses],
    kinds={"sql"},
)
def transfers(
    context: dg.AssetExecutionContext, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    return _map_replenishment(
        context,
        planning_db,
        schema.raw_branch_transfers,
        (schema.transfers, schema.transfer_lines),
        "cin7_transfer_id",
        _transfer_rows,
    )


def _purchase_order_rows(
    raw: Any, settings: Settings, catalogue: rules.Catalogue
) -> tuple[list[dict], list[dict]]:
    mapped = rules.map_purchase_orders(raw, settings, catalogue)
    return mapped.orders, mapped.lines


def _transfer_rows(
    raw: Any, settings: Settings, catalogue: rules.Catalogue
) -> tuple[list[dict], list[dict]]:
    mapped = rules.map_transfers(raw, settings, catalogue)
    return mapped.transfers, mapped.lines


def _map_replenishment(
    context: dg.AssetExecutionContext,
    planning_db: PlanningDatabase,
    raw_table: sa.Table,
    tables: tuple[sa.Table, sa.Table],
    key_column: str,
    map_window: Callable[[Any, Settings, rules.Catalogue], tuple[list[dict], list[dict]]],
) -> dg.MaterializeResult:
    """Map a window of raw purchase orders or transfers to the header and line tables.

    Both kinds are replenishment with a status and lines keyed by their parent's Cin7 id; a
    record whose order day moved is deleted from its old day by that key.
    """
    engine = planning_db.get_engine()
    settings = load_settings()
    first_day, end_day = window_days(context.partition_time_window)
    header_table, lines_table = tables
    with engine.begin() as conn:
        lock_table_for_replace(conn, header_table)
        catalogue = load_catalogue(conn)
        raw = _raw_in_window(conn, raw_table, first_day, end_day)
        headers, lines = map_window(raw, settings, catalogue)
        for table, rows in ((header_table, headers), (lines_table, lines)):
            replace_window(
                conn,
                table,
                day_column="order_date",
                first_day=first_day,
                end_day=end_day,
                rows=rows,
                key_column=key_column,
            )
    statuses: dict[str, int] = {}
    for header in headers:
        statuses[header["status"]] = statuses.get(header["status"], 0) + 1
    return dg.MaterializeResult(
        metadata={
            "window": f"[{first_day}, {end_day})",
            "dagster/row_count": len(headers),
            "lines": len(lines),
            "by_status": dg.MetadataValue.json(statuses),
            "rows_with_issue": _issues(headers) + _issues(lines),
        }
    )


def stale_inventory_days(conn: Connection, first_day: date, end_day: date) -> list[date]:
    """Days of the window whose raw stock snapshot is newer than their mapped inventory.

    A 90-day run re-reads only the newest stock snapshot (Cin7 has no others), so re-mapping all
    90 stored snapshots would redo millions of unchanged rows on a large account.
    """
    raw, mapped = schema.raw_stock, schema.inventory
    raw_days = dict(
        conn.execute(
            sa.select(raw.c.partition_day, sa.func.max(raw.c.synced_at))
            .where(raw.c.partition_day >= first_day, raw.c.partition_day < end_day)
            .group_by(raw.c.partition_day)
        ).all()
    )
    mapped_days = dict(
        conn.execute(
            sa.select(mapped.c.snapshot_date, sa.func.min(mapped.c.mapped_at))
            .where(mapped.c.snapshot_date >= first_day, mapped.c.snapshot_date < end_day)
            .group_by(mapped.c.snapshot_date)
        ).all()
    )
    stale = {day for day, synced in raw_days.items() if day not in mapped_days}
    stale |= {
        day
        for day, synced in raw_days.items()
        if day in mapped_days and _as_utc(synced) > _as_utc(mapped_days[day])
    }
    stale |= set(mapped_days) - set(raw_days)
    return sorted(stale)


def _as_utc(moment: Any) -> Any:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dg.asset(
    description="Stock per SKU and enabled warehouse for each snapshot day: available, incoming, "
    "on hand, open sales and holding (in transit).",
    group_name=MODEL_GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[cin7_stock, products, warehouses],
    kinds={"sql"},
)
def inventory(
    context: dg.AssetExecutionContext, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    engine: Engine = planning_db.get_engine()
    first_day, end_day = window_days(context.partition_time_window)
    mapped_at = utc_now()
    written = 0
    with engine.begin() as conn:
        lock_table_for_replace(conn, schema.inventory)
        catalogue = load_catalogue(conn)
        enabled = set(
            conn.execute(
                sa.select(schema.warehouses.c.warehouse_id).where(schema.warehouses.c.enabled)
            ).scalars()
        )
        days = stale_inventory_days(conn, first_day, end_day)
        for day in days:
            delete_window(conn, schema.inventory, "snapshot_date", day, day + timedelta(days=1))
            # A large account's snapshot is half a million rows: mapped a slice at a time, its
            # payloads and rows are never all in memory at once (they took 2 GB).
            payloads = (
                conn.execution_options(yield_per=STOCK_ROWS_PER_SLICE)
                .execute(
                    sa.select(schema.raw_stock.c.payload)
                    .where(schema.raw_stock.c.partition_day == day)
                    .order_by(schema.raw_stock.c.product_option_id, schema.raw_stock.c.branch_id)
                )
                .scalars()
            )
            for payload_slice in payloads.partitions():
                rows = rules.map_stock(payload_slice, day, enabled, catalogue, mapped_at)
                written += insert_rows(conn, schema.inventory, rows)
    context.log.info(f"Inventory re-mapped for {len(days)} snapshot days: {written} rows")
    return dg.MaterializeResult(
        metadata={
            "window": f"[{first_day}, {end_day})",
            "snapshot_days_mapped": dg.MetadataValue.json([str(day) for day in days]),
            "dagster/row_count": written,
        }
    )


model_assets = [warehouses, products, sales_order_lines, purchase_orders, transfers, inventory]
