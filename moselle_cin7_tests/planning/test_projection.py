"""Projected stock over the scenario's ten days (2-11 March 2026), worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from moselle_cin7.planning.projection import (
    PROJECTED_STOCK_COLUMNS,
    build_projected_stock,
    moving_pairs,
)
from moselle_cin7.planning.replenishment import build_replenishment_orders
from moselle_cin7_tests.planning import scenario
from moselle_cin7_tests.planning.scenario import A, B

DAY_COLUMNS = [
    "starting_quantity",
    "purchase_receipts",
    "transfers_in",
    "transfers_out",
    "forecast_demand",
    "projected_quantity",
    "includes_estimated_dates",
]


def _replenishment() -> pd.DataFrame:
    return build_replenishment_orders(
        scenario.purchase_orders(),
        scenario.purchase_order_lines(),
        scenario.transfers(),
        scenario.transfer_lines(),
        today=scenario.TODAY,
        settings=scenario.SETTINGS,
        warehouses=scenario.warehouses(),
    )


@pytest.fixture(scope="module")
def projected_stock() -> pd.DataFrame:
    return build_projected_stock(
        scenario.inventory_latest(),
        _replenishment(),
        scenario.demand_forecast(),
        today=scenario.TODAY,
        settings=scenario.SETTINGS,
    )


def _days(projected_stock: pd.DataFrame, sku: str, warehouse_id: int) -> list[tuple]:
    pair = projected_stock[
        (projected_stock["sku"] == sku) & (projected_stock["warehouse_id"] == warehouse_id)
    ]
    return [tuple(row) for row in pair[DAY_COLUMNS].itertuples(index=False)]


def test_mug_at_a_receives_a_purchase_order_and_sends_only_its_draft_transfer(
    projected_stock: pd.DataFrame,
) -> None:
    """Start 50 (not 50 + incoming 80 + holding 12), 4 a day of demand.

    2 Mar: PO-107, due 25 Feb, lands today (+10). 4 Mar: draft TR-202 leaves for B (-5, planned
    day, estimated). 6 Mar: PO-101's open 70 arrives. TR-201, already in transit to B, is not
    taken from A again; the voided PO-103 and the delivered PO-104 add nothing.
    """
    # start, receipts, in, out, demand, projected, estimated
    assert _days(projected_stock, "MUG", A) == [
        (50.0, 10.0, 0.0, 0.0, 4.0, 56.0, False),  # 2 Mar
        (56.0, 0.0, 0.0, 0.0, 4.0, 52.0, False),
        (52.0, 0.0, 0.0, 5.0, 4.0, 43.0, True),  # 4 Mar
        (43.0, 0.0, 0.0, 0.0, 4.0, 39.0, True),
        (39.0, 70.0, 0.0, 0.0, 4.0, 105.0, True),  # 6 Mar
        (105.0, 0.0, 0.0, 0.0, 4.0, 101.0, True),
        (101.0, 0.0, 0.0, 0.0, 4.0, 97.0, True),
        (97.0, 0.0, 0.0, 0.0, 4.0, 93.0, True),
        (93.0, 0.0, 0.0, 0.0, 4.0, 89.0, True),
        (89.0, 0.0, 0.0, 0.0, 4.0, 85.0, True),  # 11 Mar
    ]


def test_mug_at_b_receives_the_transfer_in_transit_and_the_draft_one(
    projected_stock: pd.DataFrame,
) -> None:
    """Start 5, 3 a day. TR-201 (dispatched 28 Feb + 3 days) arrives 3 Mar (+12, estimated);
    draft TR-202 (planned 4 Mar + 3 days) arrives 7 Mar (+5). Out of stock from 9 Mar."""
    assert _days(projected_stock, "MUG", B) == [
        (5.0, 0.0, 0.0, 0.0, 3.0, 2.0, False),  # 2 Mar
        (2.0, 0.0, 12.0, 0.0, 3.0, 11.0, True),  # 3 Mar
        (11.0, 0.0, 0.0, 0.0, 3.0, 8.0, True),
        (8.0, 0.0, 0.0, 0.0, 3.0, 5.0, True),
        (5.0, 0.0, 0.0, 0.0, 3.0, 2.0, True),
        (2.0, 0.0, 5.0, 0.0, 3.0, 4.0, True),  # 7 Mar
        (4.0, 0.0, 0.0, 0.0, 3.0, 1.0, True),
        (1.0, 0.0, 0.0, 0.0, 3.0, -2.0, True),  # 9 Mar
        (-2.0, 0.0, 0.0, 0.0, 3.0, -5.0, True),
        (-5.0, 0.0, 0.0, 0.0, 3.0, -8.0, True),
    ]


def test_tea_moves_between_warehouses(projected_stock: pd.DataFrame) -> None:
    """Draft TR-203 is dated 20 Feb, so it is planned to leave B today (-4) and reach A on 5 Mar
    (+4). TR-206 from the unplanned warehouse 9 reaches A on 4 Mar (+1). PO-102 has no expected
    date: 25 Feb + 14 days = 11 Mar at B (+20). PO-101's over-received TEA line adds nothing."""
    assert _days(projected_stock, "TEA", A) == [
        (8.0, 0.0, 0.0, 0.0, 1.0, 7.0, False),  # 2 Mar
        (7.0, 0.0, 0.0, 0.0, 1.0, 6.0, False),
        (6.0, 0.0, 1.0, 0.0, 1.0, 6.0, True),  # 4 Mar
        (6.0, 0.0, 4.0, 0.0, 1.0, 9.0, True),  # 5 Mar
        (9.0, 0.0, 0.0, 0.0, 1.0, 8.0, True),
        (8.0, 0.0, 0.0, 0.0, 1.0, 7.0, True),
        (7.0, 0.0, 0.0, 0.0, 1.0, 6.0, True),
        (6.0, 0.0, 0.0, 0.0, 1.0, 5.0, True),
        (5.0, 0.0, 0.0, 0.0, 1.0, 4.0, True),
        (4.0, 0.0, 0.0, 0.0, 1.0, 3.0, True),
    ]
    assert _days(projected_stock, "TEA", B) == [
        (0.0, 0.0, 0.0, 4.0, 0.0, -4.0, True),  # 2 Mar
        *[(-4.0, 0.0, 0.0, 0.0, 0.0, -4.0, True)] * 8,
        (-4.0, 20.0, 0.0, 0.0, 0.0, 16.0, True),  # 11 Mar
    ]


def test_warehouse_9_is_never_charged_for_its_transfer_in_transit(
    projected_stock: pd.DataFrame,
) -> None:
    assert scenario.UNPLANNED_WAREHOUSE not in set(projected_stock["warehouse_id"])


def test_rows_cover_pairs_with_stock_demand_or_movements_in_the_horizon(
    projected_stock: pd.DataFrame,
) -> None:
    """CUP has no stock, demand or order; SPOON's order arrives after the horizon."""
    pairs = projected_stock[["sku", "warehouse_id"]].drop_duplicates()

    assert [tuple(pair) for pair in pairs.itertuples(index=False)] == [
        ("BOWL", B),
        ("JAR", A),
        ("LID", A),
        ("MUG", A),
        ("MUG", B),
        ("TEA", A),
        ("TEA", B),
    ]
    assert list(projected_stock.columns) == PROJECTED_STOCK_COLUMNS
    assert projected_stock["projection_date"].iloc[:10].tolist() == list(
        pd.date_range("2026-03-02", "2026-03-11")
    )


def test_only_pairs_whose_stock_moves_keep_their_daily_rows(
    projected_stock: pd.DataFrame,
) -> None:
    """LID at A has 9 in stock and nothing else: flat all horizon. TEA at B has no demand but
    its draft transfer leaves on the first day, so it moves."""
    kept = moving_pairs(projected_stock)
    pairs = [tuple(pair) for pair in kept[["sku", "warehouse_id"]].drop_duplicates().to_numpy()]

    assert pairs == [("BOWL", B), ("JAR", A), ("MUG", A), ("MUG", B), ("TEA", A), ("TEA", B)]
    assert len(kept) == 6 * scenario.SETTINGS.horizon_days
    lid = projected_stock[projected_stock["sku"] == "LID"]
    assert set(lid["projected_quantity"]) == {9.0}
    # Whole pairs are kept, days in order, nothing else changed.
    pd.testing.assert_frame_equal(kept, projected_stock[projected_stock["sku"] != "LID"])


def test_a_pair_moving_on_its_last_day_only_is_kept() -> None:
    days = pd.date_range("2026-03-02", periods=3)
    frame = pd.DataFrame(
        {
            "sku": ["A"] * 3 + ["A"] * 3 + ["B"] * 3,
            "warehouse_id": [1] * 3 + [2] * 3 + [1] * 3,
            "projection_date": list(days) * 3,
            "purchase_receipts": [0.0] * 9,
            "transfers_in": [0.0] * 9,
            "transfers_out": [0.0] * 9,
            "forecast_demand": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )

    assert moving_pairs(frame).index.tolist() == [0, 1, 2]


def test_each_day_reconciles(projected_stock: pd.DataFrame) -> None:
    """projected = starting + receipts + transfers in - transfers out - demand, on every row."""
    stock = projected_stock
    balance = (
        stock["starting_quantity"]
        + stock["purchase_receipts"]
        + stock["transfers_in"]
        - stock["transfers_out"]
        - stock["forecast_demand"]
    )

    assert (balance == stock["projected_quantity"]).all()


def test_a_pair_with_nothing_at_all_gives_an_empty_frame() -> None:
    projected_stock = build_projected_stock(
        scenario.inventory_latest().iloc[0:0],
        _replenishment().iloc[0:0],
        scenario.demand_forecast().iloc[0:0],
        today=scenario.TODAY,
        settings=scenario.SETTINGS,
    )

    assert projected_stock.empty
    assert list(projected_stock.columns) == PROJECTED_STOCK_COLUMNS
