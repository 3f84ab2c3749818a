"""The checks of Moselle's model tables, on a scratch database filled by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from moselle_cin7.db import schema
from moselle_cin7.db.ledger import mark_synced
from moselle_cin7.quality import rules
from moselle_cin7.settings import QualitySettings, Settings, ShopifyExclusion
from moselle_cin7_tests.quality.scratch import (
    DAY,
    NOW,
    ScratchDatabase,
    days,
    line,
    sales_line_row,
    sales_order,
)


@pytest.fixture
def db(tmp_path) -> ScratchDatabase:
    return ScratchDatabase(tmp_path)


def _reasons(outcome: rules.Outcome) -> dict[str, str]:
    return {finding.record_key: finding.reason for finding in outcome.findings}


def _warehouses(db: ScratchDatabase, *ids: int) -> None:
    db.insert(
        schema.warehouses,
        [
            {"warehouse_id": i, "name": f"W{i}", "branch_type": "Warehouse", "enabled": True}
            for i in ids
        ],
    )


def _products(db: ScratchDatabase, *skus: str | None) -> None:
    db.insert(
        schema.products,
        [
            {
                "cin7_option_id": 11 + n,
                "sku": sku,
                "name": "Trail Jacket",
                "cin7_product_id": 1,
                "snapshot_date": DAY,
                "mapping_issue": None if sku else "option has no code (SKU)",
            }
            for n, sku in enumerate(skus)
        ],
    )


def _purchase_order(order_id: int, status: str, expected=None, **extra) -> dict:
    return {
        "cin7_order_id": order_id,
        "order_number": f"PO-{order_id}",
        "status": status,
        "warehouse_id": 1,
        "order_date": days(-30),
        "expected_date": expected,
        **extra,
    }


def _transfer(transfer_id: int, status: str, dispatched=None, **extra) -> dict:
    return {
        "cin7_transfer_id": transfer_id,
        "order_number": f"TR-{transfer_id}",
        "source_warehouse_id": 1,
        "destination_warehouse_id": 2,
        "status": status,
        "order_date": days(-40),
        "dispatched_date": dispatched,
        **extra,
    }


def _inventory(day, option_id: int, warehouse_id: int, on_hand: float, **extra) -> dict:
    return {
        "snapshot_date": day,
        "cin7_option_id": option_id,
        "warehouse_id": warehouse_id,
        "sku": f"SKU-{option_id}",
        "available": on_hand,
        "incoming": 0.0,
        "on_hand": on_hand,
        "open_sales": 0.0,
        "holding": 0.0,
        "mapped_at": NOW,
        **extra,
    }


# --- columns_have_expected_types --------------------------------------------------------------


def test_rows_that_do_not_fit_their_table_fail(db):
    db.insert(
        schema.sales_order_lines,
        [sales_line_row(9001, 101, DAY), sales_line_row(9003, 102, DAY, warehouse_id=1.5)],
    )
    # SQLite stores what it is given: text in a number column.
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sales_order_lines (cin7_line_id, cin7_order_id, order_date, channel, "
            "sku, quantity) VALUES (9002, 101, '2025-03-10', 'Wholesale', 'JKT-S', 'abc')"
        )
    db.insert(
        schema.purchase_orders, [_purchase_order(201, "Open"), _purchase_order(202, "Active")]
    )
    db.insert(
        schema.purchase_order_lines,
        [
            {
                "cin7_line_id": 9201,
                "cin7_order_id": 201,
                "order_date": days(-30),
                "sku": "JKT-S",
                "quantity_ordered": float("inf"),
                "quantity_received": 0.0,
            }
        ],
    )
    with db.inputs(DAY, days(1)) as inputs:
        sales = rules.mapped_column_types(inputs, [rules.MAPPED_SALES_ORDER_LINES])
    with db.inputs() as inputs:
        purchases = rules.mapped_column_types(
            inputs, [rules.MAPPED_PURCHASE_ORDERS, rules.MAPPED_PURCHASE_ORDER_LINES]
        )

    assert _reasons(sales) == {
        "cin7_line_id=9002": "quantity 'abc' is not a finite number",
        "cin7_line_id=9003": "warehouse_id 1.5 is not a whole number",
    }
    assert sales.summary == "Rows of sales_order_lines that do not fit the table's model: 2 of 3"
    assert _reasons(purchases) == {
        "cin7_order_id=201": "status 'Open' is not one of Draft, Active, Delivered, Archived",
        "cin7_line_id=9201": "quantity_ordered inf is not a finite number",
    }
    assert [f.table_name for f in purchases.findings] == ["purchase_orders", "purchase_order_lines"]


def test_rows_that_fit_their_tables_pass(db):
    _warehouses(db, 1, 2)
    _products(db, "JKT-S", None)
    db.insert(schema.sales_order_lines, [sales_line_row(9001, 101, DAY, quantity=-1.0)])
    db.insert(schema.inventory, [_inventory(DAY, 11, 1, 3.0), _inventory(days(-1), 11, 1, 2.0)])
    with db.inputs(DAY, days(1)) as inputs:
        for mapped in (
            rules.MAPPED_WAREHOUSES,
            rules.MAPPED_PRODUCTS,
            rules.MAPPED_SALES_ORDER_LINES,
            rules.MAPPED_INVENTORY,
        ):
            outcome = rules.mapped_column_types(inputs, [mapped])
            assert outcome.passed, (mapped.table.name, outcome.findings)
        # Inventory is judged on its newest snapshot in scope only.
        assert rules.mapped_column_types(inputs, [rules.MAPPED_INVENTORY]).checked == 1


# --- sales_lines_are_dispatched_orders_only ---------------------------------------------------


def _sales_history(db: ScratchDatabase) -> None:
    db.add_sales_orders(
        sales_order(101, "SO-1", DAY, [line(9001, "JKT-S", 1.0)], stage=" DISPATCHED "),
        sales_order(103, "SO-3", DAY, [line(9003, "JKT-S", 1.0)], isVoid=True, status="Void"),
        sales_order(104, "SO-4", DAY, [line(9004, "JKT-S", 1.0)], stage="Awaiting Payment"),
        sales_order(105, "#1050", DAY, [line(9005, "JKT-S", 1.0)], source="Shopify"),
    )
    db.insert(
        schema.sales_order_lines,
        [
            sales_line_row(9001, 101, DAY),
            sales_line_row(9003, 103, DAY),
            sales_line_row(9004, 104, DAY),
            sales_line_row(9005, 105, DAY),
            sales_line_row(9006, 106, DAY),
        ],
    )


def test_sales_lines_of_orders_that_are_not_sales_history_fail(db):
    _sales_history(db)
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.sales_lines_from_excluded_orders(inputs)
    assert _reasons(outcome) == {
        "cin7_line_id=9003": "order 'SO-3' (cin7_id 103) is voided",
        "cin7_line_id=9004": "order 'SO-4' (cin7_id 104) is not dispatched "
        "(stage 'Awaiting Payment')",
        "cin7_line_id=9005": "order '#1050' (cin7_id 105) is a Shopify order, which the settings "
        "exclude",
        "cin7_line_id=9006": "order 'SO-106' (cin7_id 106) is not in raw_sales_orders",
    }
    assert outcome.summary == (
        "Sales lines from 4 orders that are not dispatched sales history: 4 of 5"
    )


def test_sales_lines_follow_the_settings_shopify_rule(db):
    _sales_history(db)
    keep_shopify = Settings(shopify_exclusion=ShopifyExclusion(enabled=False))
    with db.inputs(DAY, days(1), settings=keep_shopify) as inputs:
        outcome = rules.sales_lines_from_excluded_orders(inputs)
    assert "cin7_line_id=9005" not in _reasons(outcome)


def test_sales_lines_of_dispatched_orders_pass(db):
    db.add_sales_orders(sales_order(101, "SO-1", DAY, [line(9001, "JKT-S", 1.0)]))
    db.insert(schema.sales_order_lines, [sales_line_row(9001, 101, DAY)])
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.sales_lines_from_excluded_orders(inputs)
    assert outcome.passed
    assert outcome.summary == (
        "Every sales line comes from a dispatched, non-voided, non-excluded order (1 checked)"
    )


# --- skus_known_in_products -------------------------------------------------------------------


def test_lines_with_unknown_or_missing_skus_are_reported(db):
    _products(db, "JKT-S", "BEANIE")
    db.insert(
        schema.sales_order_lines,
        [
            sales_line_row(9001, 101, DAY, sku="JKT-S"),
            sales_line_row(9002, 101, DAY, sku="GHOST-1"),
            sales_line_row(9003, 101, DAY, sku=None),
            # Outside the run's range: not this run's business.
            sales_line_row(9004, 102, days(-5), sku="GHOST-2"),
        ],
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.unknown_skus(inputs, schema.sales_order_lines, "cin7_line_id")
    assert _reasons(outcome) == {
        "cin7_line_id=9002": "SKU GHOST-1 is not in products",
        "cin7_line_id=9003": "the line has no SKU",
    }
    assert outcome.summary == "Rows of sales_order_lines whose SKU is not in products: 2 of 3"


def test_known_skus_pass(db):
    _products(db, "JKT-S")
    db.insert(
        schema.transfer_lines,
        [
            {
                "cin7_line_id": 9301,
                "cin7_transfer_id": 301,
                "order_date": DAY,
                "sku": "JKT-S",
                "quantity": 2.0,
            }
        ],
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.unknown_skus(inputs, schema.transfer_lines, "cin7_line_id")
    assert outcome.passed and outcome.checked == 1


# --- branches_known_as_warehouses -------------------------------------------------------------


def test_rows_of_unknown_branches_are_reported(db):
    _warehouses(db, 1, 2)
    db.insert(
        schema.sales_order_lines,
        [
            sales_line_row(9001, 101, DAY, warehouse_id=1),
            sales_line_row(9002, 102, DAY, warehouse_id=7),
            sales_line_row(9003, 103, DAY, warehouse_id=None),
        ],
    )
    db.insert(
        schema.transfers,
        [
            _transfer(301, "Draft", order_date=DAY, destination_warehouse_id=9),
            _transfer(302, "Draft", order_date=DAY),
        ],
    )
    db.add_raw(
        schema.raw_stock,
        [
            {"productOptionId": 11, "branchId": 1},
            {"productOptionId": 11, "branchId": 5},
        ],
        DAY,
    )
    # An older snapshot's unknown branch is not the current stock.
    db.add_raw(schema.raw_stock, [{"productOptionId": 11, "branchId": 6}], days(-1))
    with db.inputs(DAY, days(1)) as inputs:
        sales = rules.unknown_sales_branches(inputs)
        transfers = rules.unknown_transfer_branches(inputs)
        stock = rules.unknown_stock_branches(inputs)

    assert _reasons(sales) == {
        "cin7_line_id=9002": "branch 7 is not a warehouse (unknown Cin7 branch)",
        "cin7_line_id=9003": "branch is missing",
    }
    assert _reasons(transfers) == {
        "cin7_transfer_id=301": "destination 9 is not a warehouse (unknown Cin7 branch)"
    }
    assert _reasons(stock) == {
        f"partition_day={DAY}, product_option_id=11, branch_id=5": "branch 5 is not a warehouse "
        "(unknown Cin7 branch)"
    }
    assert stock.checked == 2


def test_rows_of_known_branches_pass(db):
    _warehouses(db, 1, 2)
    db.insert(schema.purchase_orders, [_purchase_order(201, "Active", order_date=DAY)])
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.unknown_purchase_order_branches(inputs)
    assert outcome.passed
    assert outcome.summary == "Every row of purchase_orders names known warehouses (1 checked)"


# --- no_negative_stock ------------------------------------------------------------------------


def test_negative_stock_on_hand_in_the_newest_snapshot_is_reported(db):
    db.insert(
        schema.inventory,
        [
            _inventory(DAY, 11, 1, 4.0),
            _inventory(DAY, 21, 2, -1.0),
            # Negative available is normal: more open sales than stock.
            _inventory(DAY, 12, 1, 2.0, available=-3.0),
            _inventory(days(-1), 12, 1, -5.0),
        ],
    )
    with db.inputs(days(-1), days(1)) as inputs:
        outcome = rules.negative_stock(inputs)
    assert _reasons(outcome) == {
        f"snapshot_date={DAY}, cin7_option_id=21, warehouse_id=2": "SKU SKU-21 has -1 on hand "
        "at warehouse 2"
    }
    assert outcome.summary == "SKU-warehouse rows with negative stock on hand: 1 of 3"


def test_stock_at_or_above_zero_passes(db):
    db.insert(schema.inventory, [_inventory(DAY, 11, 1, 0.0)])
    with db.inputs() as inputs:
        assert rules.negative_stock(inputs).passed


# --- open_purchase_orders_have_expected_date --------------------------------------------------


def test_open_purchase_orders_without_expected_date_are_reported(db):
    db.insert(
        schema.purchase_orders,
        [
            _purchase_order(201, "Active"),
            _purchase_order(202, "Active", expected=days(7)),
            _purchase_order(203, "Draft"),
            _purchase_order(204, "Delivered"),
        ],
    )
    # A narrow range still sees the open order placed a month ago: open orders are state.
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.open_purchase_orders_without_expected_date(inputs)
    assert _reasons(outcome) == {
        "cin7_order_id=201": "open purchase order 'PO-201' (ordered 2025-02-08) has no "
        "expected date"
    }
    assert outcome.summary == "Open purchase orders without an expected date: 1 of 2"


def test_open_purchase_orders_with_expected_dates_pass(db):
    db.insert(schema.purchase_orders, [_purchase_order(202, "Active", expected=days(7))])
    with db.inputs() as inputs:
        assert rules.open_purchase_orders_without_expected_date(inputs).passed


# --- transfers_not_in_transit_too_long --------------------------------------------------------


def test_transfers_in_transit_longer_than_the_limit_are_reported(db):
    # NOW is 13:00 on DAY in Auckland; the limit is 14 days.
    db.insert(
        schema.transfers,
        [
            _transfer(301, "Active", dispatched=days(-15)),
            _transfer(302, "Active", dispatched=days(-14)),
            _transfer(303, "Delivered", dispatched=days(-30), received_date=days(-2)),
        ],
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.transfers_in_transit_too_long(inputs)
    assert _reasons(outcome) == {
        "cin7_transfer_id=301": "transfer 'TR-301' dispatched 2025-02-23 has been in transit "
        "15 days (limit 14)"
    }
    assert outcome.details["today"] == "2025-03-10"


def test_the_transit_limit_comes_from_the_settings(db):
    db.insert(schema.transfers, [_transfer(301, "Active", dispatched=days(-15))])
    patient = Settings(quality=QualitySettings(max_transit_days=20))
    with db.inputs(settings=patient) as inputs:
        outcome = rules.transfers_in_transit_too_long(inputs)
    assert outcome.passed
    assert outcome.summary == "No transfer has been in transit for more than 20 days (1 checked)"


# --- daily_sales_within_normal_range ----------------------------------------------------------


def _daily_units(db: ScratchDatabase, units_by_offset: dict[int, float]) -> None:
    rows = []
    for offset, units in units_by_offset.items():
        rows.append(
            sales_line_row(9000 + offset + 100, 100 + offset + 100, days(offset), quantity=units)
        )
    db.insert(schema.sales_order_lines, rows)


WEEKLY = Settings(quality=QualitySettings(sales_anomaly_window_days=7, sales_anomaly_factor=3))


def test_days_far_from_the_trailing_median_are_reported(db):
    # Seven days of 10 units, then 31 (above 3 x 10), 30 (not above), 3 (below 10 / 3).
    history = {offset: 10.0 for offset in range(-7, 0)}
    _daily_units(db, {**history, 0: 31.0, 1: 30.0, 2: 3.0})
    with db.inputs(DAY, days(3), settings=WEEKLY) as inputs:
        outcome = rules.sales_days_far_from_norm(inputs)
    assert _reasons(outcome) == {
        "order_date=2025-03-10": "31 units sold on 2025-03-10, above the 7-day median of 10 by "
        "more than 3x",
        "order_date=2025-03-12": "3 units sold on 2025-03-12, below the 7-day median of 10 by "
        "more than 3x",
    }
    assert outcome.checked == 3
    assert outcome.summary == "Days with sales more than 3x away from the 7-day median: 2 of 3"


def test_a_day_without_sales_after_steady_sales_is_reported(db):
    # Missing data looks like this: a day with nothing after a steady week.
    _daily_units(db, {offset: 10.0 for offset in range(-7, 0)} | {1: 10.0})
    with db.inputs(DAY, days(1), settings=WEEKLY) as inputs:
        outcome = rules.sales_days_far_from_norm(inputs)
    assert list(_reasons(outcome).values()) == [
        "0 units sold on 2025-03-10, below the 7-day median of 10 by more than 3x"
    ]


def test_days_without_a_full_trailing_window_are_not_judged(db):
    _daily_units(db, {-2: 10.0, -1: 10.0, 0: 100.0})
    with db.inputs(DAY, days(1), settings=WEEKLY) as inputs:
        outcome = rules.sales_days_far_from_norm(inputs)
    assert outcome.passed and outcome.checked == 0


def test_ordinary_days_pass(db):
    _daily_units(db, {offset: 10.0 + offset % 3 for offset in range(-10, 3)})
    with db.inputs(settings=WEEKLY) as inputs:
        outcome = rules.sales_days_far_from_norm(inputs)
    # Whole table: every day from the first with a full window (offset -3) to the last (2).
    assert outcome.passed and outcome.checked == 6


# --- every_option_has_a_unique_sku ------------------------------------------------------------


def test_options_without_a_sku_are_reported(db):
    _products(db, "JKT-S", None)
    with db.inputs() as inputs:
        outcome = rules.options_without_sku(inputs)
    assert _reasons(outcome) == {
        "cin7_option_id=12": "option of 'Trail Jacket' has no SKU: option has no code (SKU)"
    }


def test_options_with_skus_pass(db):
    _products(db, "JKT-S", "JKT-M")
    with db.inputs() as inputs:
        assert rules.options_without_sku(inputs).passed


# --- synced_recently --------------------------------------------------------------------------


def test_an_entity_that_never_synced_or_synced_too_long_ago_fails(db):
    with db.engine.begin() as conn:
        mark_synced(conn, "stock", "run-1", DAY, days(1), when=NOW - timedelta(hours=30))
        mark_synced(conn, "products", "run-2", DAY, days(1), when=NOW - timedelta(hours=2))
    with db.inputs() as inputs:
        never = rules.stale_sync(inputs, "sales_orders")
        stale = rules.stale_sync(inputs, "stock")
        fresh = rules.stale_sync(inputs, "products")

    assert never.summary == "sales_orders has never synced"
    assert not never.passed
    assert stale.summary == (
        "stock last synced 30 hours ago, at 2025-03-08 18:00 UTC (limit 26 hours)"
    )
    assert _reasons(stale) == {"entity=stock": stale.summary}
    assert stale.details["last_window"] == "[2025-03-10, 2025-03-11)"
    assert fresh.passed
    assert fresh.summary == "products last synced 2 hours ago (limit 26)"


def test_a_backfill_of_older_days_does_not_make_the_recent_ones_look_fresh(db):
    """The daily sync of [8, 11 March) ran 30 hours ago; a backfill of January ran 1 hour ago."""
    with db.engine.begin() as conn:
        mark_synced(conn, "stock", "daily", days(-2), days(1), when=NOW - timedelta(hours=30))
        mark_synced(
            conn,
            "stock",
            "backfill",
            date(2025, 1, 1),
            date(2025, 2, 1),
            when=NOW - timedelta(hours=1),
        )
    with db.inputs() as inputs:
        stale = rules.stale_sync(inputs, "stock")
    assert not stale.passed
    assert stale.details["last_window"] == "[2025-03-08, 2025-03-11)"

    # A sync reaching the newest day again (here the same end) is recorded.
    with db.engine.begin() as conn:
        mark_synced(conn, "stock", "daily-2", DAY, days(1), when=NOW - timedelta(hours=1))
    with db.inputs() as inputs:
        assert rules.stale_sync(inputs, "stock").passed


def test_the_freshness_limit_comes_from_the_settings(db):
    with db.engine.begin() as conn:
        mark_synced(conn, "stock", "run-1", when=datetime(2025, 3, 8, 18, 0, tzinfo=UTC))
    relaxed = Settings(quality=QualitySettings(freshness_hours=48))
    with db.inputs(settings=relaxed) as inputs:
        assert rules.stale_sync(inputs, "stock").passed
