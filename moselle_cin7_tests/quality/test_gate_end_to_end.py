"""The quality gate in a real daily sync: a hand-written account served by the sandbox over HTTP,
the real definitions, and a bad partition that must not reach the planning tables."""

from __future__ import annotations

import dagster as dg
import pytest

from moselle_cin7.definitions import build_definitions
from moselle_cin7.sandbox import SandboxAccount, SandboxServer
from moselle_cin7_tests.support import (
    AUCKLAND,
    CHRISTCHURCH,
    Harness,
    branches,
    day,
    line,
    product,
    sales_order,
    stock_row,
)

SALES_ORDERS = dg.AssetKey("cin7_sales_orders")


def small_account() -> SandboxAccount:
    return SandboxAccount(
        records={
            "Branches": branches(),
            "Products": [
                product(1, "Trail Jacket", "Outerwear", "JKT-S", "JKT-M"),
                product(2, "Wool Beanie", "Accessories", "BEANIE"),
            ],
            "SalesOrders": [
                sales_order("SO-1", day(3), [line("JKT-S", 2, id=9001)], id=101),
                sales_order("SO-2", day(2), [line("JKT-M", 1, id=9002)], id=102),
                sales_order("SO-3", day(1), [line("GHOST-1", 1, id=9003)], id=103),
            ],
            "PurchaseOrders": [],
            "BranchTransfers": [],
            "Stock": [
                stock_row(11, "JKT-S", AUCKLAND, stockOnHand=12),
                stock_row(21, "BEANIE", CHRISTCHURCH, stockOnHand=-1),
            ],
        }
    )


@pytest.fixture
def harness(tmp_path, dagster_instance):
    harness = Harness(tmp_path=tmp_path, account=small_account(), instance=dagster_instance)
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness


def _evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def _materialized(result) -> set[str]:
    return {
        event.asset_key.to_user_string()
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }


def test_a_duplicate_order_number_stops_sales_history_and_planning(harness):
    # A clean sync: warnings are raised, the run succeeds and the planning tables are built.
    first = harness.sync(day(10), day(0))
    assert first.success
    checks = _evaluations(first)
    assert checks[("cin7_sales_orders", "no_duplicate_order_numbers")].passed
    assert checks[("sales_order_lines", "sales_lines_are_dispatched_orders_only")].passed
    unknown_sku = checks[("sales_order_lines", "skus_known_in_products")]
    assert not unknown_sku.passed and unknown_sku.severity == dg.AssetCheckSeverity.WARN
    assert not checks[("inventory", "no_negative_stock")].passed
    tables = (
        "sales_order_lines",
        "replenishment_orders",
        "demand_forecast",
        "projected_stock",
        "stock_outlook",
    )
    before = {table: harness.rows(table) for table in tables}
    assert {row["cin7_line_id"] for row in before["sales_order_lines"]} == {9001, 9002, 9003}
    assert before["demand_forecast"], "the planning assets should have built a forecast"

    # Someone keys order SO-1 again under a new id, with a large quantity.
    harness.server.account.upsert(
        "SalesOrders", sales_order("SO-1", day(1), [line("JKT-S", 40, id=9901)], id=150)
    )
    second = harness.sync(day(10), day(0), raise_on_error=False)

    assert not second.success
    failed = _evaluations(second)[("cin7_sales_orders", "no_duplicate_order_numbers")]
    assert not failed.passed and failed.blocking
    assert failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.description == (
        "Sales order records sharing an order number with another Cin7 id ('SO-1'): 2 of 4"
    )
    assert failed.metadata["failing_records"].value == 2
    sample = failed.metadata["sample"].value
    assert (
        "| raw_sales_orders | cin7_id=101 | order number 'SO-1' is also used by Cin7 sales "
        "order 150 |" in sample
    )

    # Everything downstream of the sales orders was skipped; the rest of the sync went on.
    graph = build_definitions(harness.resources()).resolve_asset_graph()
    downstream = {
        key.to_user_string()
        for key in dg.AssetSelection.assets(SALES_ORDERS).downstream().resolve(graph)
    } - {"cin7_sales_orders"}
    assert {"sales_order_lines", "demand_forecast", "projected_stock", "stock_outlook"} <= (
        downstream
    )
    materialized = _materialized(second)
    assert "cin7_sales_orders" in materialized
    assert not downstream & materialized
    # The four planning tables are built together, so replenishment_orders waits as well.
    assert "replenishment_orders" not in materialized
    assert {"purchase_orders", "transfers", "inventory", "products", "warehouses"} <= materialized

    # The planning tables still hold what the clean sync built, and the reason is on record.
    assert {table: harness.rows(table) for table in tables} == before
    quarantine = {(row["record_key"], row["check_name"]): row for row in harness.rows("quarantine")}
    assert quarantine[("cin7_id=150", "no_duplicate_order_numbers")]["reason"] == (
        "order number 'SO-1' is also used by Cin7 sales order 101"
    )
    assert quarantine[("cin7_id=101", "no_duplicate_order_numbers")]["run_id"] == second.run_id
